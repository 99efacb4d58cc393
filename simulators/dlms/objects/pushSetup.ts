/**
 * Push setup (IC 40 version 0) objects of the simulated meter: 0.0.25.9.0.255 pushes the
 * interval list on the meter's schedule, 0.4.25.9.0.255 the event list when an event fires
 * (lists in protocols/dlms/push/pushObjects.ts). Every attribute is readable and, for an
 * authenticated client, writable; method 1 push(integer 0) sends one notification now.
 *
 * send_destination_and_method ::= structure { transport_service enum, destination
 * octet-string, message enum } (Blue Book IC 40). Transport 0 is TCP with destination
 * "host:port"; 200 (the manufacturer-specific range 200..255) is gridhead's MQTT binding
 * with destination the broker URL. message 0: A-XDR encoded xDLMS APDU.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import { formatObis, parseObis } from '../../../protocols/dlms/cosem/obis.js';
import type { ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import type { PushObjectList } from '../../../protocols/dlms/push/pushObjects.js';
import { array, captureObjectDefinition, conforms, enumOf, numberOf, octets, octetsOf, structure, u16, u8, type Shape } from '../cosemData.js';
import { ok, type AttributeDef, type CosemObjectDef } from '../cosemObject.js';

export const PUSH_TRANSPORT = { tcp: 0, mqtt: 200 } as const;

export type PushDestination =
  | { readonly transport: 'tcp'; readonly host: string; readonly port: number }
  | { readonly transport: 'mqtt'; readonly url: string };

const OBJECT_DEFINITION: Shape = { structure: ['long-unsigned', { octets: 6 }, 'integer', 'long-unsigned'] };
const DESTINATION: Shape = { structure: ['enum', 'octet-string', 'enum'] };

/** One push setup's settings, shared by its COSEM object and the push sender. */
export class PushSetupState {
  private objectList: DlmsData;
  private destinationData: DlmsData;

  constructor(readonly logicalName: string, list: PushObjectList, destination: PushDestination | undefined) {
    this.objectList = array(list.objects.map((o) => captureObjectDefinition(o.classId, parseObis(o.obis), o.attribute, o.dataIndex)));
    this.destinationData = encodeDestination(destination);
  }

  /** The push_object_list in force (a client may have written another one). */
  get list(): PushObjectList {
    const objects = this.objectList.type === 'array' ? this.objectList.value : [];
    return {
      pushSetup: this.logicalName,
      objects: objects.map((d) => {
        const [classId, ln, attribute, dataIndex] = d.type === 'structure' ? d.value : [];
        return { classId: numberOf(classId), obis: formatObis(octetsOf(ln)), attribute: numberOf(attribute), dataIndex: numberOf(dataIndex) };
      }),
    };
  }

  /** The destination in force; undefined when none is set or it cannot be parsed. */
  get destination(): PushDestination | undefined {
    const [transport, address] = this.destinationData.type === 'structure' ? this.destinationData.value : [];
    const text = new TextDecoder().decode(octetsOf(address));
    const t = numberOf(transport);
    if (t === PUSH_TRANSPORT.mqtt && /^mqtts?:\/\//.test(text)) return { transport: 'mqtt', url: text };
    const m = /^(.+):(\d{1,5})$/.exec(text);
    if (t !== PUSH_TRANSPORT.tcp || m?.[1] === undefined || m[2] === undefined) return undefined;
    const port = Number(m[2]);
    return port > 0 && port < 65536 ? { transport: 'tcp', host: m[1], port } : undefined;
  }

  set destination(d: PushDestination | undefined) {
    this.destinationData = encodeDestination(d);
  }

  /** The COSEM object; `push` is method 1. */
  object(push: () => ModelActionOutcome): CosemObjectDef {
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
      logicalName: parseObis(this.logicalName),
      attributes: {
        2: stored({ array: OBJECT_DEFINITION }, () => this.objectList, (v) => { this.objectList = v; }),
        3: stored(DESTINATION, () => this.destinationData, (v) => { this.destinationData = v; }),
        4: stored({ array: { structure: [{ octets: 12 }, { octets: 12 }] } }, () => window, (v) => { window = v; }),
        5: stored('long-unsigned', () => randomisation, (v) => { randomisation = v; }),
        6: stored('unsigned', () => retries, (v) => { retries = v; }),
        7: stored('long-unsigned', () => repetitionDelay, (v) => { repetitionDelay = v; }),
      },
      methods: {
        1: {
          invoke: (params) => (params !== undefined && params.type !== 'integer' ? { result: 'type-unmatched' } : push()),
        },
      },
    };
  }
}

function encodeDestination(d: PushDestination | undefined): DlmsData {
  const text = d === undefined ? '' : d.transport === 'tcp' ? `${d.host}:${d.port}` : d.url;
  const transport = d?.transport === 'mqtt' ? PUSH_TRANSPORT.mqtt : PUSH_TRANSPORT.tcp;
  return structure(enumOf(transport), octets(new TextEncoder().encode(text)), enumOf(0));
}
