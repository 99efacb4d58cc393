/**
 * The wire form of an alarm, shared by the API, the SSE stream and the notifiers (MQTT,
 * webhooks): times as RFC 3339 strings, everything else as in the domain type.
 */
import type { Alarm, AlarmState, Explanation, Severity } from '../domain/index.js';
import { renderExplanation, type ExplanationLang } from '../rules/explanation.js';
import type { AlarmChangeKind } from './service.js';

export interface AlarmView {
  readonly id: string;
  readonly ruleId: string;
  readonly detector: string;
  readonly subject: { readonly kind: Alarm['subject']['kind']; readonly id: string };
  readonly areaId: string | null;
  readonly severity: Severity;
  readonly state: AlarmState;
  readonly raisedAt: string;
  readonly since: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly clearedAt: string | null;
  /** In the reader's language (English unless asked otherwise, or when only English exists). */
  readonly explanation: string;
  readonly clearExplanation: string | null;
  /** The explanations as data (src/rules/explanation.ts), null where only the English text exists. */
  readonly explanationData: Explanation | null;
  readonly clearExplanationData: Explanation | null;
  readonly value: number;
  readonly comments: { readonly at: string; readonly by: string; readonly text: string }[];
}

/** What a notification carries: the change and the alarm after it. */
export interface AlarmNotice {
  readonly change: AlarmChangeKind;
  readonly alarm: AlarmView;
}

export function alarmView(a: Alarm, lang: ExplanationLang = 'en'): AlarmView {
  return {
    id: a.id,
    ruleId: a.ruleId,
    detector: a.detector,
    subject: { kind: a.subject.kind, id: a.subject.id },
    areaId: a.areaId,
    severity: a.severity,
    state: a.state,
    raisedAt: iso(a.raisedAt),
    since: iso(a.since),
    acknowledgedAt: a.acknowledgedAt === null ? null : iso(a.acknowledgedAt),
    acknowledgedBy: a.acknowledgedBy,
    clearedAt: a.clearedAt === null ? null : iso(a.clearedAt),
    explanation: lang === 'en' || a.explanationData === null ? a.explanation : renderExplanation(a.explanationData, lang),
    clearExplanation: lang === 'en' || a.clearExplanationData === null ? a.clearExplanation : renderExplanation(a.clearExplanationData, lang),
    explanationData: a.explanationData,
    clearExplanationData: a.clearExplanationData,
    value: a.value,
    comments: a.comments.map((c) => ({ at: iso(c.at), by: c.by, text: c.text })),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
