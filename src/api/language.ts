/**
 * The reader's language from `Accept-Language` (RFC 9110 §12.5.4): the station writes
 * English and Simplified Chinese; the highest-weighted of those wins, English by default.
 */
import type { ExplanationLang } from '../rules/explanation.js';

/** Language ranges looked at, at most: a header is short, a hostile one is not read to its end. */
const MAX_RANGES = 32;

export function readerLanguage(header: string | string[] | undefined): ExplanationLang {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text === undefined) return 'en';
  let best: { lang: ExplanationLang; q: number } | undefined;
  for (const range of text.split(',', MAX_RANGES)) {
    const [tag = '', ...params] = range.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    const lang: ExplanationLang | undefined = tag === 'zh' || tag.startsWith('zh-') ? 'zh' : tag === 'en' || tag.startsWith('en-') ? 'en' : undefined;
    if (lang !== undefined && (best === undefined || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'en';
}
