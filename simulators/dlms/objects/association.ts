/**
 * Association LN (IC 15 version 1, 0.0.40.0.0.255: the current association) and Push setup
 * (IC 40, 0.0.25.9.0.255).
 *
 * object_list lists every object with its class id, version, logical name and access rights
 * as the asking association has them (cosemObject.ts): a public client sees writable
 * attributes as read_only and methods as no_access. Attributes the simulator does not serve
 * (xdlms_context_info, security_setup_reference: the server engine owns those) are no_access.
 * The secret (attribute 7) is write-only for an authenticated client and changes the LLS password.
 *
 * Push setup holds its attributes only; pushing over the network is the server's job.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import type { AccessContext } from '../../../protocols/dlms/server/objectModel.js';
import { array, captureObjectDefinition, conforms, enumOf, int8, nullData, octets, structure, u16, u8, type Shape } from '../cosemData.js';
import { attributeAccessMode, classShape, methodAccessMode, ok, type AttributeDef, type CosemObjectDef } from '../cosemObject.js';
import { LN } from '../meterObis.js';

export interface AssociationSettings {
  readonly serverSap: number;
  /** Replaces the LLS secret (attribute 7 written). */
  setPassword(secret: Uint8Array): void;
}

/** authentication_mechanism_name ids (Green Book): 0 none, 1 low level, 5 HLS GMAC. */
const MECHANISM = { none: 0, low: 1, high: 5 } as const;

export function associationObject(objects: () => readonly CosemObjectDef[], s: AssociationSettings): CosemObjectDef {
  const self: CosemObjectDef = {
    classId: INTERFACE_CLASSES.associationLn.classId,
    logicalName: LN.associationLn,
    attributes: {
      2: { read: (ctx) => ok(array(objects().map((o) => objectListElement(o, ctx)))) },
      3: { read: (ctx) => ok(structure(int8(ctx.clientSap), u16(s.serverSap))) },
      // {joint-iso-ctt(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8) application-context(1) LN, no ciphering(1)}
      4: { read: () => ok(objectIdentifier(1, 1)) },
      6: { read: (ctx) => ok(objectIdentifier(2, MECHANISM[ctx.authenticated])) },
      7: {
        writable: true, writeOnly: true,
        write: (v) => {
          if (v.type !== 'octet-string') return 'type-unmatched';
          s.setPassword(v.value);
          return 'success';
        },
      },
      // association_status 2: associated (a request only reaches the model inside an association).
      8: { read: () => ok(enumOf(2)) },
    },
  };
  return self;
}

const OBJECT_DEFINITION: Shape = { structure: ['long-unsigned', { octets: 6 }, 'integer', 'long-unsigned'] };

export function pushSetupObject(): CosemObjectDef {
  let pushObjectList: DlmsData = array([
    captureObjectDefinition(INTERFACE_CLASSES.pushSetup.classId, LN.pushSetup, 1),
    captureObjectDefinition(INTERFACE_CLASSES.data.classId, LN.logicalDeviceName, 2),
    captureObjectDefinition(INTERFACE_CLASSES.clock.classId, LN.clock, 2),
  ]);
  // transport_service 0 = TCP, message 0 = A-XDR encoded xDLMS APDU.
  let destination: DlmsData = structure(enumOf(0), octets(new TextEncoder().encode('127.0.0.1:4059')), enumOf(0));
  let window: DlmsData = array([]);
  let randomisation: DlmsData = u16(0);
  let retries: DlmsData = u8(3);
  let repetitionDelay: DlmsData = u16(60);
  const stored = (shape: Shape, get: () => DlmsData, put: (v: DlmsData) => void): AttributeDef => ({
    writable: true,
    read: () => ok(get()),
    write: (v) => {
      if (!conforms(v, shape)) return 'type-unmatched';
      put(v);
      return 'success';
    },
  });
  return {
    classId: INTERFACE_CLASSES.pushSetup.classId,
    logicalName: LN.pushSetup,
    attributes: {
      2: stored({ array: OBJECT_DEFINITION }, () => pushObjectList, (v) => { pushObjectList = v; }),
      3: stored({ structure: ['enum', 'octet-string', 'enum'] }, () => destination, (v) => { destination = v; }),
      4: stored({ array: { structure: [{ octets: 12 }, { octets: 12 }] } }, () => window, (v) => { window = v; }),
      5: stored('long-unsigned', () => randomisation, (v) => { randomisation = v; }),
      6: stored('unsigned', () => retries, (v) => { retries = v; }),
      7: stored('long-unsigned', () => repetitionDelay, (v) => { repetitionDelay = v; }),
    },
  };
}

/**
 * object_list_element ::= structure { class_id long-unsigned, version unsigned, logical_name octet-string,
 *   access_rights structure { attribute_access array of structure { attribute_id integer, access_mode enum,
 *   access_selectors array of integer | null-data }, method_access array of structure { method_id integer, access_mode enum } } }
 */
function objectListElement(o: CosemObjectDef, ctx: AccessContext): DlmsData {
  const shape = classShape(o.classId);
  const attributes: DlmsData[] = [];
  for (let id = 1; id <= shape.attributes; id++) {
    const def = o.attributes[id];
    const mode = id === 1 ? 1 : attributeAccessMode(def, ctx);
    const selectors = def?.selectors;
    attributes.push(structure(int8(id), enumOf(mode), selectors === undefined ? nullData : array(selectors.map(int8))));
  }
  const methods: DlmsData[] = [];
  for (let id = 1; id <= shape.methods; id++) methods.push(structure(int8(id), enumOf(methodAccessMode(o.methods?.[id], ctx))));
  return structure(u16(o.classId), u8(shape.version), octets(o.logicalName), structure(array(attributes), array(methods)));
}

/** The DLMS UA object identifiers 2.16.756.5.8.<kind>.<id> in the structure form IC 15 uses. */
function objectIdentifier(kind: number, id: number): DlmsData {
  return structure(u8(2), u8(16), u16(756), u8(5), u8(8), u8(kind), u8(id));
}
