/**
 * The cluster feed's one message format. A node publishes the readings it committed on
 * `<mqtt.topicPrefix>/_cluster/readings/<transformer area id, or _none>`; every other node
 * decodes them into its live state (and its rules, for the areas it owns). Pure functions.
 *
 * Payload, UTF-8 JSON:
 *
 *   { "v": 1, "node": "<publishing node id>",
 *     "readings": [[meterId, terminalId, quantity, value, ts, quality, protocol, mode], ...] }
 *
 * `quantity` is a catalogue name (the unit is the catalogue's, so it is not sent), `value` a
 * finite number, `ts` the device time in ms since the epoch, `quality` good | suspect | bad,
 * `protocol` dlms | modbus | mqtt, `mode` poll | push. Rows, not objects: the names would
 * be most of the bytes. A message another version of gridhead cannot read is refused whole
 * with a `FeedMessageError`, never half-applied.
 *
 * `_cluster` and `_none` start with "_", which no terminal or area id may (protocols/config.ts
 * `Id`), so the feed's topics never meet a terminal's (`<prefix>/<terminalId>/...`) and the
 * `_none` level never meets an area's.
 */
import { QUANTITIES, isQuantity, meterId, terminalId, type Protocol, type Quality, type Reading } from '../../domain/index.js';

export const FEED_VERSION = 1;

/** The topic level of readings whose terminal has no transformer area. */
export const NO_AREA = '_none';

/** Bytes one encoded row may take at most (two 64-character ids, the longest quantity name, numbers): bounds the payload a decoder reads. */
export const MAX_ROW_BYTES = 320;

export type FeedErrorCode =
  /** The topic is not `<prefix>/_cluster/readings/<area>`. */
  | 'FOREIGN_TOPIC'
  /** Larger than the decoder's `maxBytes`; nothing of it was parsed. */
  | 'TOO_LARGE'
  /** Not UTF-8 JSON. */
  | 'INVALID_JSON'
  /** `v` is not a version this node reads. */
  | 'UNSUPPORTED_VERSION'
  /** JSON, but not the format above; `path` names the first problem. */
  | 'INVALID_SHAPE'
  /** A quantity this node's catalogue does not have. */
  | 'UNKNOWN_QUANTITY'
  /** More rows than the decoder's `maxReadings`. */
  | 'TOO_MANY_READINGS';

export class FeedMessageError extends Error {
  constructor(readonly code: FeedErrorCode, message: string, readonly path?: string) {
    super(message);
    this.name = 'FeedMessageError';
  }
}

export interface FeedMessage {
  /** The node that committed (and published) the readings. */
  readonly node: string;
  readonly readings: readonly Reading[];
}

export type FeedDecode = { readonly ok: true; readonly message: FeedMessage } | { readonly ok: false; readonly error: FeedMessageError };

export interface FeedLimits {
  /** Rows in one message, at most (`cluster.feed.maxReadingsPerMessage`). */
  readonly maxReadings: number;
}

/** The feed topic of one transformer area, or of the readings outside every area (`null`). */
export function feedTopic(prefix: string, area: string | null): string {
  return `${feedRoot(prefix)}/${area ?? NO_AREA}`;
}

/** What every node subscribes to. */
export function feedFilter(prefix: string): string {
  return `${feedRoot(prefix)}/#`;
}

/** The area level of a feed topic: the area id, or null for `_none`. */
export function parseFeedTopic(prefix: string, topic: string): { readonly ok: true; readonly area: string | null } | { readonly ok: false; readonly error: FeedMessageError } {
  const head = `${feedRoot(prefix)}/`;
  const area = topic.startsWith(head) ? topic.slice(head.length) : '';
  if (area === '' || area.includes('/')) return { ok: false, error: new FeedMessageError('FOREIGN_TOPIC', `topic ${JSON.stringify(topic)} is not ${head}<area>`) };
  return { ok: true, area: area === NO_AREA ? null : area };
}

export function encodeFeed(node: string, readings: readonly Reading[]): Buffer {
  const rows = readings.map((r) => [r.meterId, r.source.terminalId, r.quantity, r.value, r.ts, r.quality, r.source.protocol, r.source.mode]);
  return Buffer.from(JSON.stringify({ v: FEED_VERSION, node, readings: rows }));
}

/** The largest payload a decoder with these limits reads. */
export function maxFeedBytes(limits: FeedLimits): number {
  return 256 + limits.maxReadings * MAX_ROW_BYTES;
}

export function decodeFeed(payload: Uint8Array, limits: FeedLimits): FeedDecode {
  const maxBytes = maxFeedBytes(limits);
  if (payload.length > maxBytes) return fail('TOO_LARGE', `${payload.length} bytes, more than ${maxBytes}`);
  let doc: unknown;
  try {
    doc = JSON.parse(UTF8.decode(payload));
  } catch (err) {
    return fail('INVALID_JSON', err instanceof Error ? err.message : String(err));
  }
  if (!isRecord(doc)) return fail('INVALID_SHAPE', 'not a JSON object', '');
  if (doc.v !== FEED_VERSION) return fail('UNSUPPORTED_VERSION', `version ${JSON.stringify(doc.v)}; this node reads ${FEED_VERSION}`, 'v');
  const node = doc.node;
  if (!isId(node)) return fail('INVALID_SHAPE', 'not a node id', 'node');
  const rows = doc.readings;
  if (!Array.isArray(rows)) return fail('INVALID_SHAPE', 'not an array', 'readings');
  if (rows.length > limits.maxReadings) return fail('TOO_MANY_READINGS', `${rows.length} readings, more than ${limits.maxReadings}`, 'readings');
  const readings: Reading[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    const at = `readings[${i}]`;
    if (!Array.isArray(row) || row.length !== 8) return fail('INVALID_SHAPE', 'not an 8-item row', at);
    const [meter, terminal, quantity, value, ts, quality, protocol, mode] = row as unknown[];
    if (!isId(meter)) return fail('INVALID_SHAPE', 'not a meter id', `${at}[0]`);
    if (!isId(terminal)) return fail('INVALID_SHAPE', 'not a terminal id', `${at}[1]`);
    if (typeof quantity !== 'string') return fail('INVALID_SHAPE', 'not a quantity name', `${at}[2]`);
    if (!isQuantity(quantity)) return fail('UNKNOWN_QUANTITY', `quantity ${JSON.stringify(quantity)} is not in the catalogue`, `${at}[2]`);
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail('INVALID_SHAPE', 'not a finite number', `${at}[3]`);
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return fail('INVALID_SHAPE', 'not a time in ms since the epoch', `${at}[4]`);
    if (!isOneOf(quality, QUALITIES)) return fail('INVALID_SHAPE', 'not good, suspect or bad', `${at}[5]`);
    if (!isOneOf(protocol, PROTOCOLS)) return fail('INVALID_SHAPE', 'not dlms, modbus or mqtt', `${at}[6]`);
    if (mode !== 'poll' && mode !== 'push') return fail('INVALID_SHAPE', 'not poll or push', `${at}[7]`);
    readings.push({
      meterId: meterId(meter), quantity, value, unit: QUANTITIES[quantity].unit, ts, quality,
      source: { protocol, terminalId: terminalId(terminal), mode },
    });
  }
  return { ok: true, message: { node, readings } };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const QUALITIES: readonly Quality[] = ['good', 'suspect', 'bad'];
const PROTOCOLS: readonly Protocol[] = ['dlms', 'modbus', 'mqtt'];
/** The alphabet of node, terminal and meter ids (protocols/config.ts `Id`). */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function feedRoot(prefix: string): string {
  return `${prefix}/_cluster/readings`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isId(x: unknown): x is string {
  return typeof x === 'string' && ID.test(x);
}

function isOneOf<T extends string>(x: unknown, set: readonly T[]): x is T {
  return typeof x === 'string' && (set as readonly string[]).includes(x);
}

function fail(code: FeedErrorCode, message: string, path?: string): FeedDecode {
  return { ok: false, error: new FeedMessageError(code, path === undefined ? message : `${path === '' ? 'the message' : path}: ${message}`, path) };
}
