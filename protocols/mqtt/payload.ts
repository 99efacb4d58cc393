/**
 * Telemetry payload convention, version 1 (README.md): parse into RawReadings, encode for
 * simulators and tests. Pure: time comes in as `receivedAt`.
 *
 * A message is atomic: the first problem rejects all of it, so a half-applied batch never
 * reaches the pipeline and the dead-letter copy is the whole message, ready to replay.
 */
import type { RawQuality, RawReading } from '../adapter.js';
import { PayloadError } from './errors.js';
import { parseTimestamp } from './timestamp.js';

export interface TelemetryParseOptions {
  /** True for catalogue quantity names (the lead passes the catalogue's `isQuantity`). */
  readonly acceptQuantity: (name: string) => boolean;
  readonly maxReadingsPerMessage: number;
  readonly maxPayloadBytes: number;
  /** Station time the message arrived, ms epoch; bounds device timestamps. */
  readonly receivedAt: number;
  /** How far ahead of `receivedAt` a device timestamp may be. Default one day. */
  readonly maxFutureSkewMs?: number;
}

export type TelemetryParse =
  | { readonly ok: true; readonly readings: RawReading[] }
  | { readonly ok: false; readonly error: PayloadError };

/** A timestamp as the convention allows it: epoch ms or RFC 3339 text. */
export type WireTimestamp = number | string;

export type WireValue =
  | number
  | { readonly value: number; readonly unit?: string; readonly quality?: RawQuality; readonly ts?: WireTimestamp };

export interface TelemetryMessage {
  readonly ts: WireTimestamp;
  readonly meters: readonly {
    readonly address: string;
    readonly ts?: WireTimestamp;
    readonly values: Readonly<Record<string, WireValue>>;
  }[];
}

export const TELEMETRY_VERSION = 1;
export const DEFAULT_MAX_FUTURE_SKEW_MS = 86_400_000;
export const MAX_ADDRESS_LENGTH = 64;
export const MAX_UNIT_LENGTH = 16;

export function parseTelemetry(terminalId: string, payload: Uint8Array, options: TelemetryParseOptions): TelemetryParse {
  try {
    return { ok: true, readings: new TelemetryReader(terminalId, options).read(payload) };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, error: err };
    throw err;
  }
}

/** The wire form of a message; `v` is added here so callers cannot get it wrong. */
export function encodeTelemetry(message: TelemetryMessage): Buffer {
  return Buffer.from(JSON.stringify({ v: TELEMETRY_VERSION, ...message }));
}

/**
 * Decodes UTF-8 strictly (a lone continuation byte is an error, not U+FFFD) and parses
 * JSON; shared by telemetry and status. Throws PayloadError.
 */
export function decodeJson(terminalId: string | undefined, payload: Uint8Array, maxPayloadBytes: number): unknown {
  if (payload.byteLength > maxPayloadBytes) {
    throw new PayloadError('TOO_LARGE', terminalId, `payload of ${payload.byteLength} bytes exceeds maxPayloadBytes ${maxPayloadBytes}`);
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new PayloadError('INVALID_JSON', terminalId, 'payload is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'parse error';
    throw new PayloadError('INVALID_JSON', terminalId, `payload is not JSON: ${detail.slice(0, 120)}`);
  }
}

/** Rejects keys outside `allowed`: the convention is versioned, so a new field is a new `v`. */
export function checkKeys(terminalId: string | undefined, obj: object, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new PayloadError('INVALID_SHAPE', terminalId, `unexpected key (allowed: ${allowed.join(', ')})`, `${path}${member(key)}`);
    }
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSONPath member accessor: `.name` for identifiers, `["power.active"]` otherwise. */
export function member(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const QUALITIES: readonly string[] = ['good', 'suspect', 'bad'] satisfies RawQuality[];

class TelemetryReader {
  private readonly readings: RawReading[] = [];
  private readonly maxFutureSkewMs: number;

  constructor(
    private readonly terminalId: string,
    private readonly options: TelemetryParseOptions,
  ) {
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
  }

  read(payload: Uint8Array): RawReading[] {
    const root = decodeJson(this.terminalId, payload, this.options.maxPayloadBytes);
    if (!isObject(root)) this.shape('message must be a JSON object', '$');
    if (root.v !== TELEMETRY_VERSION) {
      throw new PayloadError('UNSUPPORTED_VERSION', this.terminalId, `"v" must be ${TELEMETRY_VERSION}`, '$.v');
    }
    checkKeys(this.terminalId, root, ['v', 'ts', 'meters'], '$');
    if (root.ts === undefined) this.shape('"ts" is required', '$.ts');
    const messageTs = this.timestamp(root.ts, '$.ts');
    if (!Array.isArray(root.meters)) this.shape('"meters" must be an array', '$.meters');
    const meters: readonly unknown[] = root.meters;
    meters.forEach((meter, i) => {
      this.meter(meter, `$.meters[${i}]`, messageTs);
    });
    return this.readings;
  }

  private meter(meter: unknown, path: string, messageTs: number): void {
    if (!isObject(meter)) this.shape('meter must be an object', path);
    checkKeys(this.terminalId, meter, ['address', 'ts', 'values'], path);
    const { address } = meter;
    if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) {
      this.shape(`"address" must be a string of 1..${MAX_ADDRESS_LENGTH} characters`, `${path}.address`);
    }
    const meterTs = meter.ts === undefined ? messageTs : this.timestamp(meter.ts, `${path}.ts`);
    if (!isObject(meter.values)) this.shape('"values" must be an object', `${path}.values`);
    for (const [quantity, raw] of Object.entries(meter.values)) {
      // The common case, a plain finite number of a known quantity, skips building the error path.
      if (typeof raw === 'number' && Number.isFinite(raw) && this.options.acceptQuantity(quantity)
        && this.readings.length < this.options.maxReadingsPerMessage) {
        this.readings.push({ terminalId: this.terminalId, address, quantity, value: raw, ts: meterTs });
        continue;
      }
      this.value(address, quantity, raw, `${path}.values${member(quantity)}`, meterTs);
    }
  }

  private value(address: string, quantity: string, raw: unknown, path: string, meterTs: number): void {
    if (!this.options.acceptQuantity(quantity)) {
      throw new PayloadError('UNKNOWN_QUANTITY', this.terminalId, `"${quantity.slice(0, 64)}" is not a catalogue quantity`, path);
    }
    if (this.readings.length >= this.options.maxReadingsPerMessage) {
      throw new PayloadError('TOO_MANY_READINGS', this.terminalId, `more than ${this.options.maxReadingsPerMessage} readings in one message`, path);
    }
    if (!isObject(raw)) {
      this.readings.push({ terminalId: this.terminalId, address, quantity, value: this.number(raw, path), ts: meterTs });
      return;
    }
    checkKeys(this.terminalId, raw, ['value', 'unit', 'quality', 'ts'], path);
    const value = this.number(raw.value, `${path}.value`);
    const { unit, quality } = raw;
    if (unit !== undefined && (typeof unit !== 'string' || unit.length > MAX_UNIT_LENGTH)) {
      this.shape(`"unit" must be a string of at most ${MAX_UNIT_LENGTH} characters`, `${path}.unit`);
    }
    if (quality !== undefined && (typeof quality !== 'string' || !QUALITIES.includes(quality))) {
      this.shape('"quality" must be "good", "suspect" or "bad"', `${path}.quality`);
    }
    const ts = raw.ts === undefined ? meterTs : this.timestamp(raw.ts, `${path}.ts`);
    this.readings.push({
      terminalId: this.terminalId,
      address,
      quantity,
      value,
      ts,
      ...(unit === undefined ? {} : { unit }),
      ...(quality === undefined ? {} : { quality: quality as RawQuality }),
    });
  }

  private number(raw: unknown, path: string): number {
    // JSON.stringify turns NaN and ±Infinity into null, and JSON.parse turns 1e999 into
    // Infinity: both are a device's non-finite value, not a shape mistake.
    if (raw === null) throw new PayloadError('NON_FINITE_VALUE', this.terminalId, 'value is null (a serialised NaN or Infinity?)', path);
    if (typeof raw !== 'number') this.shape('value must be a number or {"value": number, …}', path);
    if (!Number.isFinite(raw)) throw new PayloadError('NON_FINITE_VALUE', this.terminalId, 'value overflows a double', path);
    return raw;
  }

  private timestamp(raw: unknown, path: string): number {
    const parsed = parseTimestamp(raw, this.options.receivedAt, this.maxFutureSkewMs);
    if (!parsed.ok) throw new PayloadError('BAD_TIMESTAMP', this.terminalId, parsed.reason, path);
    return parsed.ts;
  }

  private shape(message: string, path: string): never {
    throw new PayloadError('INVALID_SHAPE', this.terminalId, message, path);
  }
}
