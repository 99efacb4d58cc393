/**
 * Alarm explanations as data: a template id, the English template's literal pieces and typed
 * arguments (values with units, percentages, durations, instants, vocabulary, nested clauses).
 * Stored with the alarm, they render in the reader's language and time zone: the API renders
 * English exactly as the text always read (UTC instants with a trailing Z, for logs, SMS and
 * webhooks) and Chinese from src/rules/explanationZh.ts; the dashboard renders either in the
 * browser's local time.
 *
 * Pure and free of Node and DOM APIs: the dashboard bundles this file too.
 */
import type { Explanation, ExplanationArg, ExplanationPart } from '../domain/explanation.js';
import { ZH_EXPLANATIONS, ZH_TERMS } from './explanationZh.js';

export type { Explanation, ExplanationArg, ExplanationPart } from '../domain/explanation.js';

/**
 * `say('power-over.raise')\`power ${kw(p)} is over ${kw(l)}\`` builds a part whose English is
 * the template literal itself, so the English text cannot drift from its structure.
 */
export function say(id: string): (en: TemplateStringsArray, ...args: ExplanationArg[]) => ExplanationPart {
  return (en, ...args) => ({ id, en: [...en], args });
}

// ── argument constructors ────────────────────────────────────────────────

export const value = (v: number, d: number, u: string): ExplanationArg => ({ v, d, u });
export const pct = (p: number): ExplanationArg => ({ pct: p });
export const signedPct = (p: number): ExplanationArg => ({ pct: p, signed: true });
export const duration = (ms: number): ExplanationArg => ({ ms });
export const instant = (at: number): ExplanationArg => ({ at });
export const term = (t: string): ExplanationArg => ({ term: t });
export const list = (items: readonly ExplanationArg[]): ExplanationArg => ({ list: items });
export const orList = (items: readonly ExplanationArg[]): ExplanationArg => ({ list: items, or: true });
export const clause = (part: ExplanationPart): ExplanationArg => ({ clause: part });

// ── rendering ────────────────────────────────────────────────────────────

export type ExplanationLang = 'en' | 'zh';

/** How numbers and instants are written: the one thing that differs between readers. */
export interface ExplanationFormat {
  /** Fixed decimals. */
  number(value: number, decimals: number): string;
  /** `ts` relative to `ref` (the date is left out when both fall on the same day). */
  instant(ts: number, ref: number): string;
}

export function renderExplanation(e: Explanation, lang: ExplanationLang, fmt: ExplanationFormat = UTC_FORMAT): string {
  return e.parts.map((p) => renderPart(p, lang, fmt, e.ref)).join('');
}

/** Plain ASCII, UTC with a trailing Z: the English explanation as stored and logged. */
export const UTC_FORMAT: ExplanationFormat = {
  number: fixed,
  instant: (ts, ref) => {
    const iso = new Date(ts).toISOString();
    const time = `${iso.slice(11, 19)}Z`;
    return iso.slice(0, 10) === new Date(ref).toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
  },
};

/** Fixed decimals, without a negative zero. */
export function fixed(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** Whether a stored JSON value is an explanation this code can render (old rows have none). */
export function isExplanation(x: unknown): x is Explanation {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as { ref?: unknown; parts?: unknown };
  return typeof e.ref === 'number' && Array.isArray(e.parts)
    && e.parts.every((p: { id?: unknown; en?: unknown; args?: unknown }) => typeof p.id === 'string' && Array.isArray(p.en) && Array.isArray(p.args));
}

function renderPart(p: ExplanationPart, lang: ExplanationLang, fmt: ExplanationFormat, ref: number): string {
  const args = p.args.map((a) => renderArg(a, lang, fmt, ref));
  const zh = lang === 'zh' ? ZH_EXPLANATIONS[p.id] : undefined;
  if (zh !== undefined) return zh.replace(/\{(\d+)\}/g, (whole: string, i: string) => args[Number(i)] ?? whole);
  let out = p.en[0] ?? '';
  for (let i = 0; i < args.length; i++) out += `${args[i] ?? ''}${p.en[i + 1] ?? ''}`;
  return out;
}

function renderArg(a: ExplanationArg, lang: ExplanationLang, fmt: ExplanationFormat, ref: number): string {
  if (typeof a === 'string') return a;
  if ('v' in a) return a.u === '' ? fmt.number(a.v, a.d) : `${fmt.number(a.v, a.d)} ${a.u}`;
  if ('pct' in a) {
    const s = `${fmt.number(a.pct, Math.abs(a.pct) >= 10 ? 0 : 1).replace(/\.0$/, '')}%`;
    return a.signed === true && a.pct > 0 ? `+${s}` : s;
  }
  if ('ms' in a) return renderDuration(a.ms, lang);
  if ('at' in a) return fmt.instant(a.at, ref);
  if ('term' in a) return lang === 'zh' ? ZH_TERMS[a.term] ?? a.term : a.term;
  if ('list' in a) return a.list.map((x) => renderArg(x, lang, fmt, ref)).join(a.or === true ? (lang === 'zh' ? '或' : ' or ') : lang === 'zh' ? '、' : ', ');
  return renderPart(a.clause, lang, fmt, ref);
}

const UNITS: Record<ExplanationLang, { s: string; min: string; h: string; d: string; sep: string }> = {
  en: { s: ' s', min: ' min', h: ' h', d: ' d', sep: ' ' },
  zh: { s: ' 秒', min: ' 分钟', h: ' 小时', d: ' 天', sep: ' ' },
};

/** A duration in the largest sensible units: `45 s`, `5 min 30 s`, `2 h 5 min`, `3 d 2 h`. */
export function renderDuration(ms: number, lang: ExplanationLang = 'en'): string {
  const u = UNITS[lang];
  const join = (major: number, mu: string, minor: number, nu: string) => (minor === 0 ? `${major}${mu}` : `${major}${mu}${u.sep}${minor}${nu}`);
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}${u.s}`;
  const m = Math.floor(s / 60);
  if (m < 60) return join(m, u.min, s % 60, u.s);
  const h = Math.floor(m / 60);
  if (h < 48) return join(h, u.h, m % 60, u.min);
  return join(Math.floor(h / 24), u.d, h % 24, u.h);
}
