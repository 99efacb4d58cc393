/**
 * Numbers, units, dates and times in the operator's language and the browser's time zone:
 * every figure and every date on every page (tables, charts, alarm explanations) goes
 * through Intl with the one locale of the chosen language.
 */
import { renderExplanation, type Explanation, type ExplanationFormat, type ExplanationPart } from '../rules/explanation.js';
import { lang, locale } from './i18n.js';

/** From here up a number is written compactly (`1.5bn`, `15亿`): it must fit its card. */
const COMPACT_FROM = 1e6;
/** From here up, in scientific notation (`1E15`, `-1E300`): compact names run out. */
const SCIENTIFIC_FROM = 1e15;

export function fmtNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const size = Math.abs(value);
  if (size >= SCIENTIFIC_FROM) return formatter('scientific', 3).format(value);
  if (size >= COMPACT_FROM) return formatter('compact', 4).format(value);
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

const DATE: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit' };
const CLOCK: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };

export function fmtTime(ts: string | number | null | undefined): string {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '—';
  return new Intl.DateTimeFormat(locale(), { ...DATE, ...CLOCK }).format(d);
}

export function fmtClock(ts: string | number): string {
  return new Intl.DateTimeFormat(locale(), CLOCK).format(new Date(ts));
}

/** A calendar day given as YYYY-MM-DD (the station's day), in the operator's locale. */
export function fmtDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return day;
  return new Intl.DateTimeFormat(locale(), DATE).format(new Date(y, m - 1, d));
}

/** Chart axis ticks: the time of day within a day, the date across days (same locale as tables). */
export function fmtAxisTime(ts: number, spanMs: number): string {
  const options: Intl.DateTimeFormatOptions = spanMs <= 2 * 86_400_000
    ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
    : { month: '2-digit', day: '2-digit' };
  return new Intl.DateTimeFormat(locale(), options).format(new Date(ts));
}

/** How alarm explanations read in the dashboard: this locale, local time. */
const EXPLANATION_FORMAT: ExplanationFormat = {
  number: (v, d) => new Intl.NumberFormat(locale(), { minimumFractionDigits: d, maximumFractionDigits: d, useGrouping: false }).format(v),
  instant: (ts, ref) => {
    const sameDay = new Date(ts).toDateString() === new Date(ref).toDateString();
    return new Intl.DateTimeFormat(locale(), sameDay ? CLOCK : { ...DATE, ...CLOCK }).format(new Date(ts));
  },
};

/** An alarm explanation in the operator's language and local time; the stored English text when it has no data. */
export function fmtExplanation(data: Explanation | null | undefined, english: string): string {
  return data === null || data === undefined ? english : renderExplanation(data, lang(), EXPLANATION_FORMAT);
}

/** YYYY-MM-DD of an instant in the browser's time zone (the station's day is local too). */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A single explanation clause (a load-control program's basis), or its English text without data. */
export function fmtClause(data: ExplanationPart | null | undefined, english: string): string {
  return data === null || data === undefined ? english : fmtExplanation({ ref: Date.now(), parts: [data] }, english);
}

/** Who did something, as people read it: a dashboard user by name (its `user:` dropped), an API token as `token:<name>`. */
export function fmtSubject(subject: string): string {
  return subject.replace(/^user:/, '');
}

/** Midnight today in the browser's time zone, ms since the epoch. */
export function startOfToday(now = Date.now()): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function formatter(notation: 'compact' | 'scientific', digits: number): Intl.NumberFormat {
  return new Intl.NumberFormat(locale(), { notation, maximumSignificantDigits: digits });
}
