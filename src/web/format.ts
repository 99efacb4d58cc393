/** Numbers, units and times in the operator's language and the browser's time zone. */
import { locale } from './i18n.js';

export function fmtNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}

/** A value with its unit, e.g. "12.5 kW"; dimensionless quantities (power factor) have none. */
export function fmtQuantity(value: number | null | undefined, unit: string, digits = 2): string {
  const n = fmtNumber(value, digits);
  return unit === '' || unit === '—' || n === '—' ? n : `${n} ${unit}`;
}

export function fmtPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(value / 100);
}

export function fmtTime(ts: string | number | null | undefined): string {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '—';
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
}

export function fmtClock(ts: string | number): string {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(ts));
}

/** Midnight today in the browser's time zone, ms since the epoch. */
export function startOfToday(now = Date.now()): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
