/**
 * The open (raised or acknowledged) alarms, indexed for the live overview and the meter
 * state: kept in step with the alarm service's changes, loaded from its in-memory index at start.
 * Counts per meter and per area, and each area's abnormal-area alarms, are kept as alarms
 * change, so a meter's state or the overview costs a look-up, not a pass over every open
 * alarm (a mass outage opens one per silent meter).
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
  readonly #perMeter = new Map<string, number>();
  readonly #perArea = new Map<string, number>();
  /** Per area, its open abnormal-area alarms in the order they opened. */
  readonly #abnormal = new Map<string, Map<string, OpenAlarm>>();
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
    return this.#perMeter.get(meterId) ?? 0;
  }

  /** Open alarms raised in this area (their `areaId`), whatever their subject. */
  countForArea(areaId: string): number {
    return this.#perArea.get(areaId) ?? 0;
  }

  /** The first opened of the open abnormal-area alarms about this area, if any. */
  abnormal(areaId: string): OpenAlarm | undefined {
    const open = this.#abnormal.get(areaId);
    if (open === undefined) return undefined;
    for (const a of open.values()) return a;
    return undefined;
  }

  close(): void {
    this.#unsubscribe();
  }

  #apply(a: Alarm): void {
    const before = this.#open.get(a.id);
    if (before !== undefined) this.#unindex(before, a.state === 'cleared' ? undefined : a);
    if (a.state === 'cleared') {
      this.#open.delete(a.id);
      return;
    }
    const open: OpenAlarm = {
      id: a.id, ruleId: a.ruleId, detector: a.detector, subjectKind: a.subject.kind, subjectId: a.subject.id,
      areaId: a.areaId, explanation: a.explanation, explanationData: a.explanationData, raisedAt: a.raisedAt,
    };
    this.#open.set(a.id, open);
    if (open.subjectKind === 'meter') bump(this.#perMeter, open.subjectId, 1);
    if (open.areaId !== null) bump(this.#perArea, open.areaId, 1);
    if (isAbnormalArea(open)) {
      let list = this.#abnormal.get(open.subjectId);
      if (list === undefined) {
        list = new Map();
        this.#abnormal.set(open.subjectId, list);
      }
      // An update keeps the alarm's place (Map.set on a present key), as it does in #open.
      list.set(open.id, open);
    }
  }

  /** Takes the alarm out of the counts; out of its area's abnormal list unless it stays there (`next`). */
  #unindex(a: OpenAlarm, next: Alarm | undefined): void {
    if (a.subjectKind === 'meter') bump(this.#perMeter, a.subjectId, -1);
    if (a.areaId !== null) bump(this.#perArea, a.areaId, -1);
    if (!isAbnormalArea(a)) return;
    if (next?.subject.kind === 'area' && next.detector === ABNORMAL_AREA_DETECTOR && next.subject.id === a.subjectId) return;
    const list = this.#abnormal.get(a.subjectId);
    list?.delete(a.id);
    if (list?.size === 0) this.#abnormal.delete(a.subjectId);
  }
}

function isAbnormalArea(a: OpenAlarm): boolean {
  return a.subjectKind === 'area' && a.detector === ABNORMAL_AREA_DETECTOR;
}

/** Adds to a count, dropping it at zero so the map holds only what is open. */
function bump(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
