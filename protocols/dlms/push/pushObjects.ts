/**
 * Push object lists (Blue Book IC 40 Push setup, attribute 2 push_object_list): what a
 * data-notification's body carries, element by element. The notification itself carries only
 * the values (a structure of Data), so the receiver must know the list the sender used.
 *
 * Identification convention (Gurux and IDIS-style meters do the same): each list holds the
 * logical device name (0.0.42.0.0.255 attribute 2), which names the sender of an unciphered
 * push, and the push setup's own logical_name (attribute 1), which tells the receiver which
 * list the body follows when a meter has several push setups.
 *
 * Not every meter follows it. The Blue Book lets a push carry, in its body,
 *   - its own description: the push setup's attribute 2 as an element of its own list, whose
 *     value is then the list itself (a self-describing push, `selfDescribedList`);
 *   - the push setup's logical name (attribute 1), naming the list the receiver must know;
 *   - neither: the receiver must know the sender's list, or read it from the meter
 *     (attribute 2 of its push setups, `PushListReader`).
 *
 * The two lists below are the ones gridhead's simulated meter uses and the head-end expects
 * by default; lists of other meters are described by the push or read from the meter.
 */
import type { DlmsData } from '../axdr/data.js';
import { readCaptureObject } from '../apdu/selectiveAccess.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import { formatObis } from '../cosem/obis.js';
import { DlmsDecodeError } from '../errors.js';

/** One push_object_list element: capture_object_definition (class_id, logical_name, attribute_index, data_index). */
export interface PushObject {
  readonly classId: number;
  /** OBIS in dotted decimal, e.g. '1.0.1.8.0.255'. */
  readonly obis: string;
  readonly attribute: number;
  /** 0: the whole attribute (the only form gridhead sends or decodes). */
  readonly dataIndex: number;
}

export interface PushObjectList {
  /** Logical name of the push setup object that sends this list. */
  readonly pushSetup: string;
  readonly objects: readonly PushObject[];
}

export const PUSH_OBIS = {
  /** The interval ("scheduled") push setup. */
  intervalPushSetup: '0.0.25.9.0.255',
  /** A second push setup instance (OBIS B = 4) for event pushes. */
  eventPushSetup: '0.4.25.9.0.255',
  logicalDeviceName: '0.0.42.0.0.255',
  clock: '0.0.1.0.0.255',
  /** Standard event log code (IC 1 Data): the code of the most recent standard event. */
  eventCode: '0.0.96.11.0.255',
  disconnectControl: '0.0.96.3.10.255',
} as const;

const { data, register, clock, pushSetup, disconnectControl } = INTERFACE_CLASSES;
const obj = (classId: number, obis: string, attribute: number): PushObject => ({ classId, obis, attribute, dataIndex: 0 });

const head = (setup: string): PushObject[] => [
  obj(data.classId, PUSH_OBIS.logicalDeviceName, 2),
  obj(pushSetup.classId, setup, 1),
  obj(clock.classId, PUSH_OBIS.clock, 2),
];

/** Scheduled push: energy, power, voltage L1 and the relay state. */
export const INTERVAL_PUSH_LIST: PushObjectList = {
  pushSetup: PUSH_OBIS.intervalPushSetup,
  objects: [
    ...head(PUSH_OBIS.intervalPushSetup),
    obj(register.classId, '1.0.1.8.0.255', 2),
    obj(register.classId, '1.0.1.7.0.255', 2),
    obj(register.classId, '1.0.32.7.0.255', 2),
    obj(disconnectControl.classId, PUSH_OBIS.disconnectControl, 2),
  ],
};

/** Event push: the event code, and the values that show its effect (voltage, relay). */
export const EVENT_PUSH_LIST: PushObjectList = {
  pushSetup: PUSH_OBIS.eventPushSetup,
  objects: [
    ...head(PUSH_OBIS.eventPushSetup),
    obj(data.classId, PUSH_OBIS.eventCode, 2),
    obj(register.classId, '1.0.32.7.0.255', 2),
    obj(disconnectControl.classId, PUSH_OBIS.disconnectControl, 2),
  ],
};

export const DEFAULT_PUSH_LISTS: readonly PushObjectList[] = [INTERVAL_PUSH_LIST, EVENT_PUSH_LIST];

/** A session that can read a meter's push object lists: the DLMS adapter's sessions can. */
export interface PushListReader {
  /**
   * push_object_list (attribute 2) of every push setup (IC 40) the meter at `address` lists
   * in its association's object_list; push setups the association may not read are left out.
   */
  readPushObjectLists(address: string, signal: AbortSignal): Promise<readonly PushObjectList[]>;
}

/** Whether `session` has the capability (sessions of other protocols do not). */
export function canReadPushLists<S extends object>(session: S): session is S & PushListReader {
  return typeof (session as Partial<PushListReader>).readPushObjectLists === 'function';
}

/**
 * A push_object_list value: array of capture_object_definition (Blue Book IC 40 attribute 2,
 * the same structure as IC 7 capture_objects). Throws DlmsDecodeError for anything else.
 */
export function parsePushObjectList(pushSetup: string, value: DlmsData): PushObjectList {
  if (value.type !== 'array') throw new DlmsDecodeError('cosem', `push_object_list of ${pushSetup} is ${value.type}, not an array`);
  return {
    pushSetup,
    objects: value.value.map((d) => {
      const c = readCaptureObject(d);
      return { classId: c.classId, obis: formatObis(c.logicalName), attribute: c.attributeIndex, dataIndex: c.dataIndex };
    }),
  };
}

/**
 * The list of a self-describing push: a body element that is a push_object_list whose own
 * entry at that position is its push setup's attribute 2 (Blue Book IC 40: the value pushed
 * for push_object_list is the list itself), with one entry per body element. Usually the
 * first element; any position is accepted.
 */
export function selfDescribedList(body: readonly DlmsData[]): PushObjectList | undefined {
  for (const [i, v] of body.entries()) {
    if (v.type !== 'array' || v.value.length !== body.length) continue;
    const first = v.value[i];
    if (first?.type !== 'structure' || first.value.length !== 4) continue;
    let list: PushObjectList;
    try {
      list = parsePushObjectList('', v);
    } catch (err) {
      if (err instanceof DlmsDecodeError) continue;
      throw err;
    }
    const own = list.objects[i];
    if (own?.classId === pushSetup.classId && own.attribute === pushSetup.attributes.push_object_list) return { pushSetup: own.obis, objects: list.objects };
  }
  return undefined;
}

/**
 * The list among `lists` that `body` follows. A list fits when it has one entry per body
 * element and the elements whose form the standard fixes have that form (its push setup's
 * logical name, an array for a push_object_list, a string for the logical device name, a
 * 12-octet date-time for a clock). A list whose push setup logical name is in the body is
 * taken first; otherwise the fitting lists must agree, or the body is ambiguous (undefined).
 */
export function matchPushList(body: readonly DlmsData[], lists: readonly PushObjectList[]): PushObjectList | undefined {
  const fitting = lists.filter((l) => fits(l, body));
  const named = fitting.find((l) => l.objects.some((o) => o.classId === pushSetup.classId && o.attribute === pushSetup.attributes.logical_name));
  if (named !== undefined) return named;
  const first = fitting[0];
  return fitting.every((l) => sameObjects(l, first)) ? first : undefined;
}

/** The logical device name of a body element, when it can be one (octet-string or visible-string of 1..16 octets). */
export function logicalDeviceNameOf(v: DlmsData | undefined): string | undefined {
  // Blue Book IC 1 / COSEM logical device name: up to 16 octets, commonly 3-letter manufacturer id + serial.
  if (v?.type === 'octet-string' && v.value.length > 0 && v.value.length <= 16) return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.length).toString('latin1');
  if (v?.type === 'visible-string' && v.value.length > 0 && v.value.length <= 16) return v.value;
  return undefined;
}

function fits(list: PushObjectList, body: readonly DlmsData[]): boolean {
  if (list.objects.length !== body.length) return false;
  return list.objects.every((o, i) => {
    const v = body[i];
    if (v === undefined) return false;
    if (o.dataIndex !== 0) return true;
    if (o.classId === pushSetup.classId && o.attribute === pushSetup.attributes.logical_name) {
      return v.type === 'octet-string' && v.value.length === 6 && formatObis(v.value) === o.obis;
    }
    if (o.classId === pushSetup.classId && o.attribute === pushSetup.attributes.push_object_list) return v.type === 'array';
    if (o.obis === PUSH_OBIS.logicalDeviceName && o.attribute === data.attributes.value) return logicalDeviceNameOf(v) !== undefined;
    if (o.classId === clock.classId && o.attribute === clock.attributes.time) return v.type === 'null-data' || (v.type === 'octet-string' && v.value.length === 12);
    return true;
  });
}

function sameObjects(a: PushObjectList, b: PushObjectList | undefined): boolean {
  return a.objects.length === b?.objects.length
    && a.objects.every((o, i) => {
      const p = b.objects[i];
      return p?.classId === o.classId && p.obis === o.obis && p.attribute === o.attribute && p.dataIndex === o.dataIndex;
    });
}
