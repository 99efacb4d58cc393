/**
 * Reads CSV (RFC 4180: comma separated, fields holding a comma, quote or line break quoted with
 * inner quotes doubled, CRLF or LF line ends) from a stream of chunks, record by record, each
 * with the 1-based line it starts on, so an error names the line an editor shows. A UTF-8 byte
 * order mark (spreadsheets write one) is dropped, and blank lines are skipped.
 *
 * Streamed: records are handed out per chunk as the chunk is parsed, and the consumer's
 * `for await` is the backpressure. Only an unfinished record is carried between chunks, and
 * it is bounded (MAX_CSV_RECORD_CHARS): a quote left open would otherwise take the rest of the
 * file into one field.
 */
import { CsvRecordTooLong, CsvUnterminatedQuote } from './errors.js';

/** The longest record taken, in characters; far above any registry row (every field is short). */
export const MAX_CSV_RECORD_CHARS = 64 * 1024;

export interface CsvRecord {
  /** The line the record starts on, 1-based. */
  readonly line: number;
  readonly fields: string[];
}

/** The records of the chunks, a chunk's worth at a time (a per-record await would cost more than the parse). */
export async function* csvRecords(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<CsvRecord[]> {
  const decoder = new TextDecoder('utf-8');
  const parser = new CsvParser();
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const records = parser.push(text);
    if (records.length > 0) yield records;
  }
  const records = parser.end(decoder.decode());
  if (records.length > 0) yield records;
}

class CsvParser {
  /** The unfinished record carried from the last chunk. */
  private carry = '';
  /** The line the carried text starts on. */
  private line = 1;
  private started = false;

  push(text: string): CsvRecord[] {
    let s = this.carry + text;
    if (!this.started && s.length > 0) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    const out: CsvRecord[] = [];
    const rest = this.parse(s, out, false);
    this.carry = s.slice(rest);
    if (this.carry.length > MAX_CSV_RECORD_CHARS) throw new CsvRecordTooLong(this.line, MAX_CSV_RECORD_CHARS);
    return out;
  }

  end(text: string): CsvRecord[] {
    const out = this.push(text);
    if (this.carry.length > 0) {
      this.parse(this.carry, out, true);
      this.carry = '';
    }
    return out;
  }

  /** Parses whole records from `s` into `out`; returns where the unfinished one starts. */
  private parse(s: string, out: CsvRecord[], last: boolean): number {
    let i = 0;
    // The next quote, found once and kept until passed: searching from every record would scan a quoteless chunk again per record.
    let quote = -1;
    while (i < s.length) {
      let nl = s.indexOf('\n', i);
      if (nl < 0) {
        if (!last) return i;
        nl = s.length;
      }
      if (quote !== Infinity && quote < i) quote = s.indexOf('"', i);
      if (quote < 0) quote = Infinity;
      if (quote > nl) {
        // The common record: no quotes, one line.
        const end = nl > i && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end > i) out.push({ line: this.line, fields: s.slice(i, end).split(',') });
        this.line++;
        i = nl + 1;
        continue;
      }
      const next = this.quoted(s, i, out, last);
      if (next < 0) return i;
      i = next;
    }
    return i;
  }

  /** A record with quoted fields, from `i`; returns where the next record starts, or -1 when it is not complete yet. */
  private quoted(s: string, i: number, out: CsvRecord[], last: boolean): number {
    const fields: string[] = [];
    let field = '';
    let lines = 0;
    let p = i;
    for (;;) {
      if (s.charCodeAt(p) === 34) {
        // A quoted field: up to the quote that is not doubled.
        p++;
        for (;;) {
          const q = s.indexOf('"', p);
          if (q < 0) {
            if (last) throw new CsvUnterminatedQuote(this.line);
            return -1;
          }
          const part = s.slice(p, q);
          field += part;
          lines += countLines(part);
          if (s.charCodeAt(q + 1) === 34) {
            field += '"';
            p = q + 2;
            continue;
          }
          if (q + 1 >= s.length && !last) return -1;
          p = q + 1;
          break;
        }
      }
      // Unquoted (rest of) the field, up to a comma or the line end.
      let stop = p;
      while (stop < s.length) {
        const c = s.charCodeAt(stop);
        if (c === 44 || c === 10) break;
        stop++;
      }
      if (stop >= s.length && !last) return -1;
      let tail = s.slice(p, stop);
      if (stop < s.length && s.charCodeAt(stop) === 10 && tail.endsWith('\r')) tail = tail.slice(0, -1);
      else if (stop >= s.length && tail.endsWith('\r')) tail = tail.slice(0, -1);
      field += tail;
      fields.push(field);
      field = '';
      if (stop >= s.length || s.charCodeAt(stop) === 10) {
        out.push({ line: this.line, fields });
        this.line += lines + 1;
        return stop + 1;
      }
      p = stop + 1;
    }
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
