/**
 * Number, duration and time formatting for alarm explanations. An explanation is read by a
 * dispatcher at 3 a.m., in a log, an SMS or a webhook body: plain ASCII, units named,
 * numbers rounded to what the measurement supports, times in UTC with a trailing Z.
 */

/** A value with a fixed number of decimals and its unit: `184.0 V`, `12.35 kW`. */
export function formatValue(value: number, decimals: number, unit: string): string {
  const n = formatNumber(value, decimals);
  return unit === '' ? n : `${n} ${unit}`;
}

/** Fixed decimals, without a negative zero. */
export function formatNumber(value: number, decimals: number): string {
  const s = value.toFixed(decimals);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** A percentage rounded to a whole number from 10 up, one decimal below: `20%`, `4.5%`, `8%`. */
export function formatPct(pct: number): string {
  return `${formatNumber(pct, Math.abs(pct) >= 10 ? 0 : 1).replace(/\.0$/, '')}%`;
}

/** A percentage with an explicit sign: `+10%`, `-10%`. */
export function formatSignedPct(pct: number): string {
  return `${pct > 0 ? '+' : ''}${formatPct(pct)}`;
}

/** A duration in the largest sensible units: `45 s`, `5 min`, `5 min 30 s`, `2 h 5 min`, `3 d 2 h`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return joinUnits(m, 'min', s % 60, 's');
  const h = Math.floor(m / 60);
  if (h < 48) return joinUnits(h, 'h', m % 60, 'min');
  return joinUnits(Math.floor(h / 24), 'd', h % 24, 'h');
}

/**
 * An instant in UTC: `02:10:00Z` when it falls on the same UTC day as `reference`, else the
 * date too (`2026-11-25 23:50:00Z`), so a stretch across midnight is never ambiguous.
 */
export function formatInstant(ts: number, reference: number): string {
  const iso = new Date(ts).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(reference).toISOString().slice(0, 10);
  const time = `${iso.slice(11, 19)}Z`;
  return sameDay ? time : `${iso.slice(0, 10)} ${time}`;
}

/** `l2` → `L2`, the way phases are written on equipment and in procedures. */
export function phaseLabel(phase: string): string {
  return phase.toUpperCase();
}

function joinUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}
