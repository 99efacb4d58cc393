/**
 * ISO 8601 durations and date-times as BPMN timers and `gh:due` write them (BPMN 2.0 §10.5.5:
 * timeDuration and timeDate hold ISO 8601 text), and the `${…}` expression that takes the
 * value from a process variable instead. Browser-safe: the deploy check, the runtime and the
 * modeler read them alike.
 */

/** `PnYnMnWnDTnHnMnS`, each part optional but at least one given, the last may be fractional (ISO 8601-1 §5.5.2.4). */
const DURATION = /^P(?=\d|T\d)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/**
 * A calendar date and a time of day with its UTC offset (`Z` or ±hh:mm): a date without one would
 * be read in whatever zone the server runs in, so it is refused rather than guessed.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** `${name}` or `${environment.variables.name}`: the value is read from the instance when the timer starts. */
const EXPRESSION = /^\$\{[^{}]+\}$/;

export interface IsoDuration {
  readonly years: number;
  readonly months: number;
  readonly weeks: number;
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
}

/** The parts of an ISO 8601 duration, or undefined when the text is not one. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const m = DURATION.exec(text.trim());
  if (m === null) return undefined;
  const part = (i: number): number => Number((m[i] ?? '0').replace(',', '.'));
  return { years: part(1), months: part(2), weeks: part(3), days: part(4), hours: part(5), minutes: part(6), seconds: part(7) };
}

/** ms since the epoch of an ISO 8601 date-time with its offset, or undefined. */
export function parseIsoDateTime(text: string): number | undefined {
  const t = text.trim();
  if (!DATE_TIME.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Whether the value is an expression the engine fills in from the instance's variables. */
export function isExpression(text: string): boolean {
  return EXPRESSION.test(text.trim());
}

/**
 * When a duration starting at `start` (ms) ends. Years and months are calendar steps in UTC
 * (P1M from 31 January ends on 3 March, as Date arithmetic carries), weeks and days are 24 h
 * each, the time parts exact; a fraction of a year or month counts as that share of 365.25 or
 * 30.4375 days.
 */
export function isoDurationEnd(d: IsoDuration, start: number): number {
  const at = new Date(start);
  const wholeYears = Math.trunc(d.years);
  const wholeMonths = Math.trunc(d.months);
  at.setUTCFullYear(at.getUTCFullYear() + wholeYears, at.getUTCMonth() + wholeMonths);
  const days = (d.years - wholeYears) * 365.25 + (d.months - wholeMonths) * 30.4375 + d.weeks * 7 + d.days;
  return at.getTime() + Math.round(((days * 24 + d.hours) * 60 + d.minutes) * 60_000 + d.seconds * 1_000);
}
