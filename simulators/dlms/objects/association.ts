/**
 * Association LN (IC 15 version 1, 0.0.40.0.0.255: the current association). Push setup
 * objects are in pushSetup.ts.
 *
 * object_list lists every object with its class id, version, logical name and access rights
 * as the asking association has them (cosemObject.ts): a public client sees writable
 * attributes as read_only and methods as no_access. Attributes the simulator does not serve
 * (xdlms_context_info, security_setup_reference: the server engine owns those) are no_access.
 * The secret (attribute 7) is write-only for an authenticated client and changes the LLS password.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import type { AccessContext } from '../../../protocols/dlms/server/objectModel.js';
import { array, enumOf, int8, nullData, octets, structure, u16, u8 } from '../cosemData.js';
import { attributeAccessMode, classShape, methodAccessMode, ok, type CosemObjectDef } from '../cosemObject.js';
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
