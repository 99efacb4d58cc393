/**
 * Alarms: what the station raises from readings, events and area figures. The rule engine
 * emits AlarmSignals; the alarm service turns them into Alarms with a lifecycle
 * (raised → acknowledged → cleared), one open alarm per (rule, subject).
 */
import type { AreaId, MeterId, TerminalId } from './ids.js';
import type { Explanation } from './explanation.js';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type AlarmSubject =
  | { readonly kind: 'meter'; readonly id: MeterId }
  | { readonly kind: 'area'; readonly id: AreaId }
  | { readonly kind: 'terminal'; readonly id: TerminalId }
  /** The station's own infrastructure (`mqtt-broker`, ...): alarms about the station itself. */
  | { readonly kind: 'station'; readonly id: string };

/** One transition decided by a rule: the alarm service owns what it means for the alarm. */
export interface AlarmSignal {
  readonly ruleId: string;
  /** The detector that decided, e.g. 'power-over-limit', 'abnormal-area'. */
  readonly detector: string;
  readonly subject: AlarmSubject;
  readonly kind: 'raise' | 'clear';
  readonly severity: Severity;
  /** When the transition happened (the deciding observation's time), ms since the epoch. */
  readonly at: number;
  /** Start of the stretch that led to it (onset for a raise). */
  readonly since: number;
  /** One sentence an operator understands at 3 a.m.: what, how much, against which limit, since when. */
  readonly explanation: string;
  /** The same as data, for the reader's language; absent where only English exists (load-control programs). */
  readonly explanationData?: Explanation;
  /** The figure that decided (kW, V, %, ...), for display and sorting. */
  readonly value: number;
  /** The subject's area (the meter's area for a meter), for filtering; null when none. */
  readonly areaId: AreaId | null;
}

export type AlarmState = 'raised' | 'acknowledged' | 'cleared';

export interface AlarmComment {
  readonly at: number;
  readonly by: string;
  readonly text: string;
}

export interface Alarm {
  readonly id: string;
  readonly ruleId: string;
  readonly detector: string;
  readonly subject: AlarmSubject;
  readonly areaId: AreaId | null;
  readonly severity: Severity;
  readonly state: AlarmState;
  readonly raisedAt: number;
  readonly since: number;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly clearedAt: number | null;
  /** The latest raise explanation (kept once cleared, so history says why it was raised); the clear text is `clearExplanation`. */
  readonly explanation: string;
  readonly clearExplanation: string | null;
  /** `explanation` and `clearExplanation` as data; null for alarms stored before explanations were data, and for English-only ones. */
  readonly explanationData: Explanation | null;
  readonly clearExplanationData: Explanation | null;
  readonly value: number;
  readonly comments: readonly AlarmComment[];
}
