/**
 * The simulated meter's clock: what its Clock object (IC 8) shows at a true instant. It runs
 * at the true rate plus a drift, from an offset the head-end can set; local time is the
 * reading minus the deviation (IEC 62056-6-2 §4.1.6.1: UTC = local + deviation, minutes).
 *
 *   reading(t) = t + offset + drift × (t − ref)
 *
 * Setting the clock or shifting it changes `offset` and `ref`, so the drift carries on from
 * the new reading. Every capture schedule runs on readings, like a real meter's does.
 */
export interface MeterClockOptions {
  /** Deviation in minutes, COSEM sign (−60 = UTC+01:00). */
  readonly deviationMinutes: number;
  /** Reading − true time at `ref`, ms. */
  readonly offsetMs: number;
  /** Seconds the clock gains per day (negative: loses). */
  readonly driftSecondsPerDay: number;
  /** True instant the offset is measured at. */
  readonly ref: number;
}

const DAY_MS = 86_400_000;

export class MeterClock {
  deviationMinutes: number;
  private offsetMs: number;
  private ref: number;
  /** Gained ms per true ms. */
  private readonly rate: number;

  constructor(o: MeterClockOptions) {
    this.deviationMinutes = o.deviationMinutes;
    this.offsetMs = o.offsetMs;
    this.ref = o.ref;
    this.rate = (o.driftSecondsPerDay * 1000) / DAY_MS;
  }

  /** What the clock shows (UTC ms) at true instant `t`. */
  reading(t: number): number {
    return t + this.offsetMs + this.rate * (t - this.ref);
  }

  /** The true instant at which the clock shows `reading` (the inverse of `reading`). */
  trueInstantOf(reading: number): number {
    return (reading - this.offsetMs + this.rate * this.ref) / (1 + this.rate);
  }

  /** Sets the clock to show `reading` at true instant `t` (Clock attribute 2 written). */
  set(reading: number, t: number): void {
    this.offsetMs = reading - t;
    this.ref = t;
  }

  /** Local time (ms, as if UTC) of a reading. */
  local(reading: number): number {
    return reading - this.deviationMinutes * 60_000;
  }

  /** The reading at which local time is `localMs`. */
  fromLocal(localMs: number): number {
    return localMs + this.deviationMinutes * 60_000;
  }
}
