/**
 * Remote control objects (Blue Book §4.5.8 IC 70 Disconnect Control, §4.5.9 IC 71 Limiter):
 * disconnect/reconnect the supply, read the relay state, read and set the limiter.
 */
import type { CosemDateTime, DlmsData } from '../axdr/data.js';
import { asBoolean, asBytes, asDateTime, asNumber } from '../axdr/describe.js';
import { controlStateName, INTERFACE_CLASSES, type DisconnectControlState } from '../cosem/classes.js';
import { formatObis } from '../cosem/obis.js';
import { DlmsEncodeError } from '../errors.js';
import { COSEM_OBIS, fieldsOf, getValue, valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { DataAccessError } from './errors.js';
import { describeMethod, type AttributeRef } from './refs.js';

export interface ObjectOptions extends CallOptions {
  /** The instance; default the catalogue's (0.0.96.3.10.255 disconnect control, 0.0.17.0.0.255 limiter). */
  readonly obis?: string;
}

const DISCONNECT = INTERFACE_CLASSES.disconnectControl;
const LIMITER = INTERFACE_CLASSES.limiter;

/** IC 70 method 1 remote_disconnect (data ::= integer(0)); a refused action throws DataAccessError. */
export function remoteDisconnect(client: CosemClient, options: ObjectOptions = {}): Promise<void> {
  return invokeDisconnect(client, DISCONNECT.methods.remote_disconnect, options);
}

/** IC 70 method 2 remote_reconnect (data ::= integer(0)). */
export function remoteReconnect(client: CosemClient, options: ObjectOptions = {}): Promise<void> {
  return invokeDisconnect(client, DISCONNECT.methods.remote_reconnect, options);
}

export interface DisconnectState {
  /** output_state: true = the supply is connected. */
  readonly outputState: boolean;
  /** control_state by name, or the number when the meter sends one the Blue Book does not name. */
  readonly controlState: DisconnectControlState | number;
  /** control_mode 0..6 (which triggers may disconnect and reconnect). */
  readonly controlMode: number;
}

/** IC 70 attributes 2 output_state, 3 control_state, 4 control_mode, in one GET-with-list. */
export async function readDisconnectState(client: CosemClient, options: ObjectOptions = {}): Promise<DisconnectState> {
  const obis = options.obis ?? COSEM_OBIS.disconnectControl;
  const a = DISCONNECT.attributes;
  const ref = (attribute: number): AttributeRef => ({ classId: DISCONNECT.classId, obis, attribute });
  const [output, state, mode] = await readAll(client, [ref(a.output_state), ref(a.control_state), ref(a.control_mode)] as const, options.signal);
  const stateValue = asNumber(state, 'control_state');
  return {
    outputState: asBoolean(output, 'output_state'),
    controlState: controlStateName(stateValue) ?? stateValue,
    controlMode: asNumber(mode, 'control_mode'),
  };
}

export interface LimiterSettings {
  /** value_definition: the attribute the limiter watches. */
  readonly monitoredValue: { readonly classId: number; readonly obis: string; readonly attribute: number };
  /** Thresholds have the monitored value's type and scaling (raw units of that register). */
  readonly thresholdActive: DlmsData;
  readonly thresholdNormal: DlmsData;
  readonly thresholdEmergency: DlmsData;
  /** Seconds. */
  readonly minOverThresholdDuration: number;
  readonly minUnderThresholdDuration: number;
  readonly emergencyProfile: { readonly id: number; readonly activationTime: CosemDateTime; readonly durationS: number };
  readonly emergencyProfileActive: boolean;
}

/** IC 71 attributes 2-8 and 10 in one GET-with-list (the client splits it if the meter needs). */
export async function readLimiter(client: CosemClient, options: ObjectOptions = {}): Promise<LimiterSettings> {
  const obis = options.obis ?? COSEM_OBIS.limiter;
  const a = LIMITER.attributes;
  const ref = (attribute: number): AttributeRef => ({ classId: LIMITER.classId, obis, attribute });
  const [monitored, active, normal, emergency, over, under, profile, profileActive] = await readAll(client, [
    ref(a.monitored_value), ref(a.threshold_active), ref(a.threshold_normal), ref(a.threshold_emergency),
    ref(a.min_over_threshold_duration), ref(a.min_under_threshold_duration), ref(a.emergency_profile), ref(a.emergency_profile_active),
  ] as const, options.signal);
  const [classId, ln, attribute] = fieldsOf(monitored, 3, 'monitored_value');
  const [id, activation, duration] = fieldsOf(profile, 3, 'emergency_profile');
  return {
    monitoredValue: { classId: asNumber(classId, 'class_id'), obis: formatObis(asBytes(ln, 'logical_name')), attribute: asNumber(attribute, 'attribute_index') },
    thresholdActive: active,
    thresholdNormal: normal,
    thresholdEmergency: emergency,
    minOverThresholdDuration: asNumber(over, 'min_over_threshold_duration'),
    minUnderThresholdDuration: asNumber(under, 'min_under_threshold_duration'),
    emergencyProfile: {
      id: asNumber(id, 'emergency_profile_id'),
      activationTime: asDateTime(activation, 'emergency_activation_time'),
      durationS: asNumber(duration, 'emergency_duration'),
    },
    emergencyProfileActive: asBoolean(profileActive, 'emergency_profile_active'),
  };
}

export interface SetThresholdOptions extends ObjectOptions {
  /** threshold_normal (4, default) or threshold_emergency (5). */
  readonly which?: 'normal' | 'emergency';
}

/**
 * Writes a limiter threshold. A number is sent in the type the meter uses for that threshold
 * (read first; the Blue Book gives thresholds the monitored value's type), in its raw units.
 */
export async function setLimiterThreshold(client: CosemClient, value: number | DlmsData, options: SetThresholdOptions = {}): Promise<void> {
  const attribute = options.which === 'emergency' ? LIMITER.attributes.threshold_emergency : LIMITER.attributes.threshold_normal;
  const ref = { classId: LIMITER.classId, obis: options.obis ?? COSEM_OBIS.limiter, attribute };
  const data = typeof value === 'number' ? sameType(await getValue(client, ref, options.signal), value) : value;
  const result = await client.set(ref, data, options.signal);
  if (!result.ok) throw new DataAccessError(result.error, `set limiter threshold ${ref.obis}/${attribute}`);
}

/** `n` in the numeric type of `template`; the A-XDR encoder range-checks it when sent. */
export function sameType(template: DlmsData, n: number): DlmsData {
  switch (template.type) {
    case 'integer': case 'long': case 'double-long': case 'unsigned': case 'long-unsigned': case 'double-long-unsigned':
    case 'float32': case 'float64':
      return { type: template.type, value: n };
    case 'long64': case 'long64-unsigned':
      if (!Number.isInteger(n)) throw new DlmsEncodeError('cosem', `${n} is not an integer for ${template.type}`);
      return { type: template.type, value: BigInt(n) };
    default:
      throw new DlmsEncodeError('cosem', `cannot write a number where the meter holds ${template.type}`);
  }
}

async function invokeDisconnect(client: CosemClient, method: number, options: ObjectOptions): Promise<void> {
  const ref = { classId: DISCONNECT.classId, obis: options.obis ?? COSEM_OBIS.disconnectControl, method };
  const reply = await client.action(ref, { type: 'integer', value: 0 }, options.signal);
  if (!reply.ok) throw new DataAccessError(reply.error, `action ${describeMethod(ref)}`);
}

/** Every value of a GET-with-list, one per ref, or DataAccessError for the first that failed. */
async function readAll<T extends readonly AttributeRef[]>(
  client: CosemClient, refs: T, signal: AbortSignal | undefined,
): Promise<{ -readonly [K in keyof T]: DlmsData }> {
  const results = await client.getList(refs, signal);
  // The client returns exactly one result per ref; the fallback only satisfies the index type.
  return refs.map((ref, i) => valueOf(results[i] ?? { ok: false, error: 'other-reason' }, ref)) as { -readonly [K in keyof T]: DlmsData };
}
