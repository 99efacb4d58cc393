/**
 * The open (raised or acknowledged) alarms, indexed for the live overview and the meter
 * state: kept in step with the alarm service's changes, loaded from its in-memory index at start.
 */
import type { Alarm } from '../domain/index.js';

/** What the index needs of the alarm service. */
export interface AlarmSource {
  /** Every alarm open now (raised or acknowledged). */
  openAlarms(): readonly Alarm[];
  onChange(listener: (change: { readonly alarm: Alarm }) => void): () => void;
}

export interface OpenAlarm {
  readonly id: string;
  readonly ruleId: string;
  readonly detector: string;
  readonly subjectKind: Alarm['subject']['kind'];
  readonly subjectId: string;
  readonly areaId: string | null;
  readonly explanation: string;
  readonly explanationData: Alarm['explanationData'];
  readonly raisedAt: number;
}

/** The detector whose alarm marks an area abnormal (src/rules/detectors/area.ts). */
export const ABNORMAL_AREA_DETECTOR = 'abnormal-area';

export class OpenAlarmIndex {
  readonly #open = new Map<string, OpenAlarm>();
  readonly #unsubscribe: () => void;

  constructor(source: AlarmSource) {
    // Both in one synchronous step: no change can fall between the load and the subscription.
    for (const a of source.openAlarms()) this.#apply(a);
    this.#unsubscribe = source.onChange(({ alarm }) => { this.#apply(alarm); });
  }

  all(): IterableIterator<OpenAlarm> {
    return this.#open.values();
  }

  /** Open alarms whose subject is this meter. */
  countForMeter(meterId: string): number {
    let n = 0;
    for (const a of this.#open.values()) if (a.subjectKind === 'meter' && a.subjectId === meterId) n++;
    return n;
  }

  close(): void {
    this.#unsubscribe();
  }

  #apply(a: Alarm): void {
    if (a.state === 'cleared') {
      this.#open.delete(a.id);
      return;
    }
    this.#open.set(a.id, {
      id: a.id, ruleId: a.ruleId, detector: a.detector, subjectKind: a.subject.kind, subjectId: a.subject.id,
      areaId: a.areaId, explanation: a.explanation, explanationData: a.explanationData, raisedAt: a.raisedAt,
    });
  }
}
