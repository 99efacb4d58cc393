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
 * The two lists below are the ones gridhead's simulated meter uses and the head-end expects
 * by default; a deployment with other meters passes its own lists to the decoder.
 */
import { INTERFACE_CLASSES } from '../cosem/classes.js';

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
