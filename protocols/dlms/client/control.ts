/**
 * Remote control objects: disconnect/reconnect the supply and read the relay state (Blue
 * Book §4.5.8 IC 70 Disconnect Control); `sameType` writes a number in the type the meter
 * holds, as §4.5.9 IC 71 Limiter asks of thresholds (deviceControl.ts sets them).
 */
import type { DlmsData } from '../axdr/data.js';
import { asBoolean, asNumber } from '../axdr/describe.js';
import { controlStateName, INTERFACE_CLASSES, type DisconnectControlState } from '../cosem/classes.js';
import { DlmsEncodeError } from '../errors.js';
import { COSEM_OBIS, valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { DataAccessError } from './errors.js';
import { describeMethod, type AttributeRef } from './refs.js';

export interface ObjectOptions extends CallOptions {
  /** The instance; default the catalogue's (0.0.96.3.10.255 disconnect control). */
  readonly obis?: string;
}

const DISCONNECT = INTERFACE_CLASSES.disconnectControl;

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
