/**
 * CSV export of what an analysis table or chart shows (RFC 4180: comma separated, CRLF, fields
 * with a comma, quote or line break quoted). Numbers are written plainly, times as RFC 3339,
 * so a spreadsheet reads them whatever the dashboard's language; a UTF-8 byte order mark lets
 * spreadsheets read the Chinese headers.
 */

export type CsvCell = string | number | null;

export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return `\uFEFF${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

function cell(v: CsvCell): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
