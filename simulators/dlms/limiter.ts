/**
 * The Limiter's decision logic (IC 71, IEC 62056-6-2 §4.5.9): the monitored value is
 * compared with threshold_active at every sample; when it crosses above and stays above for
 * min_over_threshold_duration the over-threshold action runs once, and when it crosses back
 * below and stays below for min_under_threshold_duration the under-threshold action runs once.
 * threshold_active follows threshold_emergency while the emergency profile is active (its id
 * is in emergency_profile_group_id_list and the clock is inside activation_time + duration),
 * threshold_normal otherwise. Scripts are not executed here: `sample` says which action is due.
 */
export const THRESHOLD_MAX = 0xffffffff;

export interface LimiterSettings {
  /** In the monitored register's raw unit (W with scaler 0). THRESHOLD_MAX never trips. */
  readonly thresholdNormal: number;
  readonly thresholdEmergency: number;
  readonly minOverThresholdSeconds: number;
  readonly minUnderThresholdSeconds: number;
}

export interface EmergencyProfile {
  readonly id: number;
  /** Activation time as a clock reading (ms); undefined = never. */
  readonly activation: number | undefined;
  readonly durationSeconds: number;
}

export type LimiterAction = 'over' | 'under';

/** action_item ::= structure { script_logical_name octet-string, script_selector long-unsigned }. */
export interface ScriptAction {
  readonly scriptLogicalName: Uint8Array;
  readonly scriptSelector: number;
}

export class Limiter {
  thresholdActive: number;
  thresholdNormal: number;
  thresholdEmergency: number;
  minOverThresholdSeconds: number;
  minUnderThresholdSeconds: number;
  emergencyProfile: EmergencyProfile = { id: 0, activation: undefined, durationSeconds: 0 };
  groupIds: readonly number[] = [];
  emergencyActive = false;
  private side: 'above' | 'below' = 'below';
  private since = 0;
  /** Whether the action of the current side has run (true at start: no crossing yet). */
  private fired = true;

  constructor(
    s: LimiterSettings,
    /** Scripts run when the over- and under-threshold conditions have lasted long enough. */
    public actions: { readonly over: ScriptAction; readonly under: ScriptAction },
  ) {
    this.thresholdNormal = s.thresholdNormal;
    this.thresholdEmergency = s.thresholdEmergency;
    this.thresholdActive = s.thresholdNormal;
    this.minOverThresholdSeconds = s.minOverThresholdSeconds;
    this.minUnderThresholdSeconds = s.minUnderThresholdSeconds;
  }

  /** Whether a sample could change anything: a threshold that can be exceeded, or an action pending. */
  get needsSampling(): boolean {
    return this.thresholdActive < THRESHOLD_MAX || !this.fired || this.side === 'above';
  }

  /** Samples the monitored value at true instant `t` (ms); returns the action that became due. */
  sample(t: number, value: number): LimiterAction | undefined {
    const side = value > this.thresholdActive ? 'above' : 'below';
    if (side !== this.side) {
      this.side = side;
      this.since = t;
      this.fired = false;
    }
    if (this.fired) return undefined;
    const needed = (side === 'above' ? this.minOverThresholdSeconds : this.minUnderThresholdSeconds) * 1000;
    if (t - this.since < needed) return undefined;
    this.fired = true;
    return side === 'above' ? 'over' : 'under';
  }

  /** Re-evaluates the emergency profile at a clock reading and switches threshold_active on a change. */
  updateEmergency(reading: number): void {
    const p = this.emergencyProfile;
    const active = p.activation !== undefined && this.groupIds.includes(p.id)
      && reading >= p.activation && reading < p.activation + p.durationSeconds * 1000;
    if (active === this.emergencyActive) return;
    this.emergencyActive = active;
    this.thresholdActive = active ? this.thresholdEmergency : this.thresholdNormal;
  }

  /** Clock readings at which the emergency profile starts or ends, after `reading`. */
  emergencyEdgesAfter(reading: number): number[] {
    const p = this.emergencyProfile;
    if (p.activation === undefined || !this.groupIds.includes(p.id)) return [];
    return [p.activation, p.activation + p.durationSeconds * 1000].filter((r) => r > reading);
  }

  setNormal(v: number): void {
    this.thresholdNormal = v;
    if (!this.emergencyActive) this.thresholdActive = v;
  }

  setEmergency(v: number): void {
    this.thresholdEmergency = v;
    if (this.emergencyActive) this.thresholdActive = v;
  }
}
