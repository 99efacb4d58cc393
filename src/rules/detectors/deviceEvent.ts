/**
 * Alarms from device events (cover open, magnetic tamper, power down...). An event has no
 * duration of its own: the alarm raises on the event and clears either on a paired event
 * (power-up after power-down) or after a quiet time, whichever the rule configures.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../config/schema.js';
import { DEVICE_EVENT_CODES, type DeviceEventCode } from '../../domain/event.js';
import type { DetectorEvent, DetectorResult } from './condition.js';
import { clause, duration, instant, orList, say, term, type ExplanationPart } from '../explanation.js';
import { explained, raisedPart } from './condition.js';

const EventCode = OneOf<DeviceEventCode>(DEVICE_EVENT_CODES);

export const DeviceEventParams = Type.Object(
  {
    /** Codes that raise the alarm. */
    codes: Type.Array(EventCode, { minItems: 1, maxItems: DEVICE_EVENT_CODES.length, uniqueItems: true }),
    /** Codes that clear it (e.g. power-up for power-down). */
    clearOn: Type.Array(EventCode, { maxItems: DEVICE_EVENT_CODES.length, uniqueItems: true, default: [] }),
    /** Clear this long after the last raising event, ms; 0: only a `clearOn` event clears. */
    clearAfterMs: Type.Integer({ minimum: 0, maximum: 31 * 24 * 3600 * 1000, default: 0 }),
  },
  { additionalProperties: false },
);
export type DeviceEventParams = Static<typeof DeviceEventParams>;

export interface DeviceEventState {
  /** When the open alarm was raised, else null. */
  readonly raisedAt: number | null;
  /** Time of the latest raising event: the quiet time counts from it. */
  readonly lastAt: number | null;
  readonly lastCode: DeviceEventCode | null;
}

export function initialDeviceEventState(): DeviceEventState {
  return { raisedAt: null, lastAt: null, lastCode: null };
}

/** What happened: a device event, or just time passing (the engine's tick). */
export type DeviceEventInput =
  | { readonly kind: 'event'; readonly code: DeviceEventCode; readonly ts: number; readonly detail: string | null }
  | { readonly kind: 'tick' };

export function detectDeviceEvent(
  state: DeviceEventState,
  input: DeviceEventInput,
  params: DeviceEventParams,
  now: number,
): DetectorResult<DeviceEventState> {
  const raised = state.raisedAt !== null;
  if (input.kind === 'tick') {
    if (!raised || params.clearAfterMs === 0 || state.lastAt === null || now - state.lastAt < params.clearAfterMs) return { state };
    return cleared(state, now, say('device-event.quiet')`no further ${term(state.lastCode ?? 'event')} for ${duration(now - state.lastAt)} (clears after ${duration(params.clearAfterMs)})`);
  }
  if (params.codes.includes(input.code)) {
    const next: DeviceEventState = { raisedAt: state.raisedAt ?? now, lastAt: now, lastCode: input.code };
    if (raised) return { state: next };
    const parts = [input.detail === null
      ? say('device-event.raise')`device reported ${term(input.code)} at ${instant(input.ts)} (device time)`
      : say('device-event.raise-detail')`device reported ${term(input.code)} (${input.detail}) at ${instant(input.ts)} (device time)`];
    const until = clearsWhen(params);
    if (until !== undefined) parts.push(until);
    const event: DetectorEvent = { kind: 'raise', at: now, since: input.ts, value: 1, ...explained(now, parts) };
    return { state: next, event };
  }
  if (raised && params.clearOn.includes(input.code)) {
    return cleared(state, now, state.lastCode === null
      ? say('device-event.cleared-by')`device reported ${term(input.code)} at ${instant(input.ts)} after the event`
      : say('device-event.cleared-after')`device reported ${term(input.code)} at ${instant(input.ts)} after ${term(state.lastCode)}`);
  }
  return { state };
}

function cleared(state: DeviceEventState, now: number, why: ExplanationPart): DetectorResult<DeviceEventState> {
  const raisedAt = state.raisedAt ?? now;
  return {
    state: initialDeviceEventState(),
    event: { kind: 'clear', at: now, since: raisedAt, value: 0, ...explained(now, [why, raisedPart(raisedAt)]) },
  };
}

/** `; clears on relay-connected or after 10 min without a repeat`, or nothing when it never clears by itself. */
function clearsWhen(p: DeviceEventParams): ExplanationPart | undefined {
  const ways = [
    ...(p.clearOn.length > 0 ? [clause(say('device-event.clears-on')`on ${orList(p.clearOn.map(term))}`)] : []),
    ...(p.clearAfterMs > 0 ? [clause(say('device-event.clears-after')`after ${duration(p.clearAfterMs)} without a repeat`)] : []),
  ];
  return ways.length === 0 ? undefined : say('device-event.clears')`; clears ${orList(ways)}`;
}
