/**
 * Status convention: `<prefix>/<terminalId>/status`, retained, `{ "online": bool, "ts"?: …, "firmwareVersion"?: "…" }`.
 * The terminal publishes `{online:true}` on connect (birth) and registers `{online:false}`
 * as its last will (MQTT 3.1.1 §3.1.2.5), so the broker announces a silent death. Pure.
 */
import { PayloadError } from './errors.js';
import { checkKeys, decodeJson, DEFAULT_MAX_FUTURE_SKEW_MS, isObject, type WireTimestamp } from './payload.js';
import { VERSION_PATTERN } from './ota.js';
import { parseTimestamp } from './timestamp.js';

export interface TerminalStatus {
  readonly online: boolean;
  /** Device time of the change, or the station's receive time when the message had none. */
  readonly ts: number;
  /** The firmware the terminal runs, when its birth says so (the version an OTA `activated` report named). */
  readonly firmwareVersion?: string;
}

export type StatusParse =
  /** `status` is null for an empty payload: someone cleared the retained status. */
  | { readonly ok: true; readonly status: TerminalStatus | null }
  | { readonly ok: false; readonly error: PayloadError };

export interface StatusParseOptions {
  readonly maxPayloadBytes: number;
  readonly receivedAt: number;
  readonly maxFutureSkewMs?: number;
}

export function parseStatus(terminalId: string, payload: Uint8Array, options: StatusParseOptions): StatusParse {
  // MQTT 3.1.1 §3.3.1.3: a zero-byte retained message removes the retained status; it
  // is a decommissioning step, not a malformed message.
  if (payload.byteLength === 0) return { ok: true, status: null };
  try {
    const root = decodeJson(terminalId, payload, options.maxPayloadBytes);
    if (!isObject(root)) return shape(terminalId, 'status must be a JSON object', '$');
    checkKeys(terminalId, root, ['online', 'ts', 'firmwareVersion'], '$');
    if (typeof root.online !== 'boolean') return shape(terminalId, '"online" must be true or false', '$.online');
    const { firmwareVersion } = root;
    if (firmwareVersion !== undefined && (typeof firmwareVersion !== 'string' || !VERSION_PATTERN.test(firmwareVersion))) {
      return shape(terminalId, '"firmwareVersion" must be 1..64 printable ASCII characters', '$.firmwareVersion');
    }
    let ts = options.receivedAt;
    if (root.ts !== undefined) {
      const parsed = parseTimestamp(root.ts, options.receivedAt, options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
      if (!parsed.ok) return { ok: false, error: new PayloadError('BAD_TIMESTAMP', terminalId, parsed.reason, '$.ts') };
      ts = parsed.ts;
    }
    return { ok: true, status: { online: root.online, ts, ...(firmwareVersion === undefined ? {} : { firmwareVersion }) } };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, error: err };
    throw err;
  }
}

export function encodeStatus(online: boolean, ts?: WireTimestamp, firmwareVersion?: string): Buffer {
  return Buffer.from(JSON.stringify({ online, ...(ts === undefined ? {} : { ts }), ...(firmwareVersion === undefined ? {} : { firmwareVersion }) }));
}

function shape(terminalId: string, message: string, path: string): StatusParse {
  return { ok: false, error: new PayloadError('INVALID_SHAPE', terminalId, message, path) };
}
