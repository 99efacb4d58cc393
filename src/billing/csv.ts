/**
 * CSV per RFC 4180: CRLF line ends, fields holding a comma, quote, CR or LF are quoted
 * with inner quotes doubled (§2.6, §2.7); null is the empty field.
 */

export type CsvValue = string | number | boolean | null;

export function csvLine(fields: readonly CsvValue[]): string {
  return fields.map(csvField).join(',') + '\r\n';
}

export function csvField(v: CsvValue): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
