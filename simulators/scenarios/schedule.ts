/**
 * When a scenario is in force: windows [start, end) from the fleet's start `t0`, the first at
 * `t0 + startAfterMs`, each `durationMs` long (0: never ending), a new one every
 * `repeatEveryMs` if given. A pure function of time, so every simulator asking at its own
 * request instant gets the same answer, and a test drives it by moving its clock.
 */
export interface ScenarioTiming {
  readonly startAfterMs: number;
  readonly durationMs: number;
  readonly repeatEveryMs?: number | undefined;
}

export interface ScenarioWindow {
  /** 0 for the first window, 1 for the first repetition, … */
  readonly index: number;
  readonly start: number;
  /** Infinity when the window lasts until the fleet stops. */
  readonly end: number;
}

export class ScenarioSchedule {
  private readonly first: number;

  constructor(t0: number, private readonly timing: ScenarioTiming) {
    this.first = t0 + timing.startAfterMs;
  }

  /** The window in force at `ts`, if any. */
  windowAt(ts: number): ScenarioWindow | undefined {
    if (ts < this.first) return undefined;
    const { durationMs, repeatEveryMs } = this.timing;
    if (durationMs === 0) return { index: 0, start: this.first, end: Infinity };
    const index = repeatEveryMs === undefined ? 0 : Math.floor((ts - this.first) / repeatEveryMs);
    const start = this.first + index * (repeatEveryMs ?? 0);
    return ts < start + durationMs ? { index, start, end: start + durationMs } : undefined;
  }

  /** The first instant after `ts` at which the scenario starts or ends; Infinity if never. */
  nextEdgeAfter(ts: number): number {
    if (ts < this.first) return this.first;
    const { durationMs, repeatEveryMs } = this.timing;
    if (durationMs === 0) return Infinity;
    if (repeatEveryMs === undefined) return ts < this.first + durationMs ? this.first + durationMs : Infinity;
    const start = this.first + Math.floor((ts - this.first) / repeatEveryMs) * repeatEveryMs;
    return ts < start + durationMs ? start + durationMs : start + repeatEveryMs;
  }
}
