/**
 * Alarms from device events (cover open, magnetic tamper, power down...). An event has no
 * duration of its own: the alarm raises on the event and clears either on a paired event
 * (power-up after power-down) or after a quiet time, whichever the rule configures.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../config/schema.js';
import { DEVICE_EVENT_CODES, type DeviceEventCode } from '../../domain/event.js';
import type { DetectorEvent, DetectorResult } from './condition.js';
import { formatDuration, formatInstant } from './format.js';

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
    return cleared(state, now, `no further ${state.lastCode ?? 'event'} for ${formatDuration(now - state.lastAt)} (clears after ${formatDuration(params.clearAfterMs)})`);
  }
  if (params.codes.includes(input.code)) {
    const next: DeviceEventState = { raisedAt: state.raisedAt ?? now, lastAt: now, lastCode: input.code };
    if (raised) return { state: next };
    const detail = input.detail === null ? '' : ` (${input.detail})`;
    const until = clearsWhen(params);
    const event: DetectorEvent = {
      kind: 'raise', at: now, since: input.ts, value: 1,
      explanation: `device reported ${input.code}${detail} at ${formatInstant(input.ts, now)} (device time)${until === '' ? '' : `; ${until}`}`,
    };
    return { state: next, event };
  }
  if (raised && params.clearOn.includes(input.code)) {
    return cleared(state, now, `device reported ${input.code} at ${formatInstant(input.ts, now)} after ${state.lastCode ?? 'the event'}`);
  }
  return { state };
}

function cleared(state: DeviceEventState, now: number, why: string): DetectorResult<DeviceEventState> {
  const raisedAt = state.raisedAt ?? now;
  return {
    state: initialDeviceEventState(),
    event: { kind: 'clear', at: now, since: raisedAt, value: 0, explanation: `${why}; raised ${formatInstant(raisedAt, now)}` },
  };
}

function clearsWhen(p: DeviceEventParams): string {
  const parts = [
    ...(p.clearOn.length > 0 ? [`on ${p.clearOn.join(' or ')}`] : []),
    ...(p.clearAfterMs > 0 ? [`after ${formatDuration(p.clearAfterMs)} without a repeat`] : []),
  ];
  return parts.length === 0 ? '' : `clears ${parts.join(' or ')}`;
}
