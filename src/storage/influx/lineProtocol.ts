import type { MeterId } from '../../domain/ids.js';
import type { Reading } from '../../domain/reading.js';

/**
 * Readings → InfluxDB line protocol (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/).
 *
 * Schema: one point per (meter, device timestamp, quality, source); measurement `meter`;
 * tags `meter`, `terminal`, `protocol`, `quality` plus whatever `tagsFor` adds (e.g.
 * `area`); one float field per quantity, dots replaced by underscores (`power_active`);
 * timestamps in ms (the write request says `precision=ms`).
 */
export const MEASUREMENT = 'meter';

/** Extra tags for a meter, e.g. `{ area: 'A-17' }`; empty values are omitted. */
export type MeterTagResolver = (id: MeterId) => Readonly<Record<string, string>> | undefined;

export interface EncodedBatch {
  /** Newline-terminated lines, ready to POST. */
  readonly body: string;
  /** Number of lines (points) in `body`. */
  readonly points: number;
  /** Readings dropped because their value is not finite (line protocol has no NaN/Infinity). */
  readonly invalid: number;
}

/** Core tags are set from the reading itself; a resolver cannot override them. */
const CORE_TAGS = new Set(['meter', 'terminal', 'protocol', 'quality']);

export function fieldName(quantity: string): string {
  return quantity.replaceAll('.', '_');
}

/**
 * Escapes a tag key or value. Line protocol: commas, equals signs and spaces are escaped
 * with a backslash, and two contiguous backslashes read as one literal backslash, so a
 * backslash is doubled (otherwise `a\` followed by the separator would escape it). A
 * newline cannot appear in a line at all: control characters become an escaped space.
 */
export function escapeTag(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === ',' || ch === '=' || ch === ' ' || ch === '\\') out += `\\${ch}`;
    else if (ch < ' ' || ch === '\u007f') out += '\\ ';
    else out += ch;
  }
  return out;
}

/**
 * Groups readings of one meter, timestamp, quality and source into one line per group.
 * Field values are JS number text (`1.5`, `1e+21`), valid line-protocol floats; an
 * integral value carries no `i` suffix, so every field stays a float.
 */
export function encodeReadings(batch: readonly Reading[], tagsFor?: MeterTagResolver): EncodedBatch {
  const groups = new Map<string, { head: string; ts: number; fields: string }>();
  const heads = new Map<string, string>();
  let invalid = 0;
  for (const r of batch) {
    if (!Number.isFinite(r.value) || !Number.isFinite(r.ts)) {
      invalid++;
      continue;
    }
    const ts = Math.round(r.ts);
    const seriesId = `${r.meterId}\u0000${r.quality}\u0000${r.source.terminalId}\u0000${r.source.protocol}`;
    const key = `${seriesId}\u0000${ts}`;
    const field = `${fieldName(r.quantity)}=${String(r.value)}`;
    const g = groups.get(key);
    if (g !== undefined) {
      g.fields += `,${field}`;
      continue;
    }
    let head = heads.get(seriesId);
    if (head === undefined) {
      head = seriesHead(r, tagsFor);
      heads.set(seriesId, head);
    }
    groups.set(key, { head, ts, fields: field });
  }
  let body = '';
  for (const g of groups.values()) body += `${g.head} ${g.fields} ${g.ts}\n`;
  return { body, points: groups.size, invalid };
}

/** Measurement and tags, sorted by key as InfluxDB recommends; empty values are omitted (not allowed). */
function seriesHead(r: Reading, tagsFor: MeterTagResolver | undefined): string {
  const tags: [string, string][] = [
    ['meter', r.meterId],
    ['protocol', r.source.protocol],
    ['quality', r.quality],
    ['terminal', r.source.terminalId],
  ];
  for (const [k, v] of Object.entries(tagsFor?.(r.meterId) ?? {})) {
    if (!CORE_TAGS.has(k) && k !== '') tags.push([k, v]);
  }
  tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let head = MEASUREMENT;
  for (const [k, v] of tags) if (v !== '') head += `,${escapeTag(k)}=${escapeTag(v)}`;
  return head;
}
