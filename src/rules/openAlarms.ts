/**
 * The engine's record of open meter alarms: meter → rule → raised states (phases) behind the
 * one alarm. It reports each rule's alarm on a meter opening or closing, which is what the
 * abnormal-area counts follow instead of recounting every meter on the tick.
 */
import type { MeterId } from '../domain/index.js';
import type { CompiledRule } from './scope.js';

export class OpenMeterAlarms {
  private readonly open = new Map<MeterId, Map<CompiledRule, number>>();

  constructor(private readonly changed: (id: MeterId, c: CompiledRule, delta: 1 | -1) => void) {}

  /**
   * Per-phase states of one rule share one alarm (the subject is the meter): every raise is
   * passed on (the alarm service updates the open alarm), a clear only when no phase is left.
   * Returns whether the event is passed on.
   */
  track(c: CompiledRule, id: MeterId, kind: 'raise' | 'clear'): boolean {
    let rules = this.open.get(id);
    const n = rules?.get(c) ?? 0;
    if (kind === 'raise') {
      if (rules === undefined) this.open.set(id, (rules = new Map<CompiledRule, number>()));
      rules.set(c, n + 1);
      if (n === 0) this.changed(id, c, 1);
      return true;
    }
    if (n <= 1) {
      this.close(c, id);
      return true;
    }
    rules?.set(c, n - 1);
    return false;
  }

  close(c: CompiledRule, id: MeterId): void {
    const rules = this.open.get(id);
    if (rules?.delete(c) !== true) return;
    if (rules.size === 0) this.open.delete(id);
    this.changed(id, c, -1);
  }

  /** Detector names of the open alarms of a meter, one entry per rule. */
  *detectors(id: MeterId): Iterable<string> {
    const rules = this.open.get(id);
    if (rules === undefined) return;
    for (const c of rules.keys()) yield c.rule.detector;
  }

  /** The meter is judged afresh (another node judged it meanwhile): its alarms leave the counts, reported. */
  closeAll(id: MeterId): void {
    const rules = this.open.get(id);
    if (rules === undefined) return;
    this.open.delete(id);
    for (const c of rules.keys()) this.changed(id, c, -1);
  }

  /** A deleted meter: its alarms are forgotten without reporting (its area counts already let it go). */
  forget(id: MeterId): void {
    this.open.delete(id);
  }
}
