/**
 * Events payload convention (README.md "Events"): `<prefix>/<terminalId>/events`,
 * `{ "v"?: 1, "events": [{ "meter": "<address>", "code": "cover-open", "ts"?: …, "detail"?: "…" }] }`.
 * Parse into RawDeviceEvents; encode for simulators and tests. Pure; atomic like telemetry:
 * the first problem refuses the whole message.
 *
 * The code vocabulary lives in src/domain/event.ts, which protocols must not import: here
 * a code is only checked for shape; the event recorder maps unknown codes to 'other'.
 */
import type { RawDeviceEvent } from '../adapter.js';
import { PayloadError } from './errors.js';
import { checkKeys, decodeJson, DEFAULT_MAX_FUTURE_SKEW_MS, isObject, MAX_ADDRESS_LENGTH, type WireTimestamp } from './payload.js';
import { parseTimestamp } from './timestamp.js';

export interface EventsParseOptions {
  readonly maxPayloadBytes: number;
  readonly maxEventsPerMessage: number;
  readonly receivedAt: number;
  readonly maxFutureSkewMs?: number;
}

export type EventsParse =
  | { readonly ok: true; readonly events: RawDeviceEvent[] }
  | { readonly ok: false; readonly error: PayloadError };

export interface EventsMessage {
  readonly events: readonly {
    readonly meter: string;
    readonly code: string;
    readonly ts?: WireTimestamp;
    readonly detail?: string;
  }[];
}

export const DEFAULT_MAX_EVENTS_PER_MESSAGE = 1_000;
export const MAX_DETAIL_LENGTH = 512;
/** Lower-case words joined by `-`, `_` or `.`: what the vocabulary uses, and room for vendor codes. */
export const EVENT_CODE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function parseEvents(terminalId: string, payload: Uint8Array, options: EventsParseOptions): EventsParse {
  try {
    return { ok: true, events: readEvents(terminalId, payload, options) };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, error: err };
    throw err;
  }
}

export function encodeEvents(message: EventsMessage): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...message }));
}

function readEvents(terminalId: string, payload: Uint8Array, o: EventsParseOptions): RawDeviceEvent[] {
  const shape = (message: string, path: string): never => {
    throw new PayloadError('INVALID_SHAPE', terminalId, message, path);
  };
  const root = decodeJson(terminalId, payload, o.maxPayloadBytes);
  if (!isObject(root)) return shape('message must be a JSON object', '$');
  if (root.v !== undefined && root.v !== 1) throw new PayloadError('UNSUPPORTED_VERSION', terminalId, '"v" must be 1 when given', '$.v');
  checkKeys(terminalId, root, ['v', 'events'], '$');
  if (!Array.isArray(root.events)) return shape('"events" must be an array', '$.events');
  const list: readonly unknown[] = root.events;
  if (list.length > o.maxEventsPerMessage) {
    throw new PayloadError('TOO_MANY_EVENTS', terminalId, `more than ${o.maxEventsPerMessage} events in one message`, '$.events');
  }
  return list.map((e, i): RawDeviceEvent => {
    const path = `$.events[${i}]`;
    if (!isObject(e)) return shape('event must be an object', path);
    checkKeys(terminalId, e, ['meter', 'code', 'ts', 'detail'], path);
    const { meter, code, detail } = e;
    if (typeof meter !== 'string' || meter.length === 0 || meter.length > MAX_ADDRESS_LENGTH) {
      return shape(`"meter" must be the meter's address, a string of 1..${MAX_ADDRESS_LENGTH} characters`, `${path}.meter`);
    }
    if (typeof code !== 'string' || !EVENT_CODE_PATTERN.test(code)) return shape(`"code" must match ${EVENT_CODE_PATTERN.source}`, `${path}.code`);
    if (detail !== undefined && (typeof detail !== 'string' || detail.length > MAX_DETAIL_LENGTH)) {
      return shape(`"detail" must be a string of at most ${MAX_DETAIL_LENGTH} characters`, `${path}.detail`);
    }
    let ts: number | undefined;
    if (e.ts !== undefined) {
      const parsed = parseTimestamp(e.ts, o.receivedAt, o.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
      if (!parsed.ok) throw new PayloadError('BAD_TIMESTAMP', terminalId, parsed.reason, `${path}.ts`);
      ts = parsed.ts;
    }
    return { terminalId, address: meter, code, ...(ts === undefined ? {} : { ts }), ...(detail === undefined ? {} : { detail }) };
  });
}
