/**
 * The simulated meter's physics and timekeeping, with no COSEM encoding: energy integration
 * driven by MeterModel, the relay (disconnect control state), the limiter sampling the active
 * power every second, and the captures of the load, daily and monthly profiles at the
 * boundaries of the meter's own clock. `advance(now)` replays everything that happened up to
 * `now` in time order, so the state at an instant does not depend on how often it was read.
 *
 * History: the simulation starts `historyDays` before `startTs` and runs up to `startTs` in the
 * constructor (captures only; the limiter starts at `startTs`), so the profiles hold real rows.
 */
import { ControlTally } from '../controlTally.js';
import { MeterModel, tariffOfHour, type CustomerType } from '../loadShape.js';
import { applyEffect, NO_EFFECT } from '../effect.js';
import { obisEquals } from '../../protocols/dlms/cosem/obis.js';
import { CONNECTED, isControlMode, nextControlState, type ControlState, type DisconnectTrigger } from './disconnectControl.js';
import { EnergyIntegrator, type StepLoad } from './energyIntegrator.js';
import { Limiter, THRESHOLD_MAX, type LimiterSettings, type ScriptAction } from './limiter.js';
import { MeterClock } from './meterClock.js';
import { LN } from './meterObis.js';
import { registerSpecs, type MeterReading, type RegisterSpec } from './registerTable.js';
import { buildProfiles, type MeterProfiles, type ScheduledProfile } from './profileSchedule.js';

export interface MeterSimulationOptions {
  readonly seed: number;
  /** True instant the simulation is live from (ms); history ends here. */
  readonly startTs: number;
  readonly customerType?: CustomerType;
  /** Days of history before startTs (default 7, at most 400). */
  readonly historyDays?: number;
  /** Clock deviation, minutes, COSEM sign: −60 is UTC+01:00 (default 0). */
  readonly deviationMinutes?: number;
  /** How far the meter's clock is off at startTs, seconds (default 0). */
  readonly clockOffsetSeconds?: number;
  /** Seconds the meter's clock gains per day; negative loses (default 0). */
  readonly clockDriftSecondsPerDay?: number;
  /** Disconnect control mode 0..6 (default 4, see disconnectControl.ts). */
  readonly controlMode?: number;
  readonly limiter?: Partial<LimiterSettings>;
}

/** Demand bookkeeping shared by the Demand register (IC 5) and the maximum demand (IC 4). */
export interface DemandState {
  /** True instant and clock reading the current period started at. */
  periodStart: number;
  startReading: number;
  energyAtStart: number;
  /** Average active import power of the last complete period, W, and when it was computed. */
  lastAverageW: number;
  captureReading: number;
  /** Highest period average since the last billing reset, W, and the end of that period. */
  maxW: number;
  maxReading: number;
}

const DAY_MS = 86_400_000;
/** A meter left unread for longer has its limiter replay only the last day (bounds the work of one advance). */
const MAX_LIMITER_CATCHUP_MS = DAY_MS;
/** Longest span one advance replays (15-minute steps and captures); a larger jump is a broken clock, not a simulation. */
const MAX_ADVANCE_MS = 5 * 366 * DAY_MS;
/** AMR profile status bit 5: the clock was adjusted during the capture period (DSMR / IDIS). */
export const STATUS_CLOCK_ADJUSTED = 0x20;
/** The server logical device the meter answers as (its address at the head-end): the management one. */
export const MANAGEMENT_LOGICAL_DEVICE = 1;

export class MeterSimulation {
  readonly model: MeterModel;
  readonly clock: MeterClock;
  readonly limiter: Limiter;
  readonly registers: readonly RegisterSpec[];
  readonly demand: DemandState;
  readonly profiles: MeterProfiles;
  readonly startTs: number;
  controlMode: number;
  /** AMR profile status accumulated since the last load profile capture. */
  amrStatus = 0;
  /** Limiter actions naming a script this meter does not have (counted, not silently dropped). */
  unknownScriptRuns = 0;
  /**
   * The remote control operations the meter executed (IC 70 remote_disconnect and
   * remote_reconnect, IC 71 threshold_active writes), under MANAGEMENT_LOGICAL_DEVICE.
   */
  readonly controlTally = new ControlTally();
  /** Told of every relay change (the push sender raises an event push from it). */
  onRelayChange: ((trigger: DisconnectTrigger, connected: boolean) => void) | undefined;
  /** Simulated loss of supply voltage: voltages, currents and power read zero, no energy is integrated. */
  private voltageLost = false;
  private state: ControlState = CONNECTED;
  private readonly integrator: EnergyIntegrator;
  private instantCache: { t: number; v: ReturnType<MeterModel['instant']> } | undefined;

  constructor(o: MeterSimulationOptions) {
    const historyDays = o.historyDays ?? 7;
    if (!(historyDays >= 0 && historyDays <= 400)) throw new RangeError(`historyDays must be 0..400, got ${historyDays}`);
    const controlMode = o.controlMode ?? 4;
    if (!isControlMode(controlMode)) throw new RangeError(`controlMode must be 0..6, got ${controlMode}`);
    this.controlMode = controlMode;
    this.startTs = o.startTs;
    const t0 = o.startTs - historyDays * DAY_MS;
    this.model = new MeterModel({ seed: o.seed, customerType: o.customerType, startTs: t0 });
    // At its own start the model integrates nothing: this is its starting register state.
    const initial = this.model.advance(t0);
    this.registers = registerSpecs(this.model.customerType === 'industrial' ? 1 : 0);
    this.clock = new MeterClock({
      deviationMinutes: o.deviationMinutes ?? 0,
      offsetMs: (o.clockOffsetSeconds ?? 0) * 1000,
      driftSecondsPerDay: o.clockDriftSecondsPerDay ?? 0,
      ref: o.startTs,
    });
    this.integrator = new EnergyIntegrator((s) => this.loadOfStep(s), t0, {
      activeImport: initial.energyActiveImport * 1000,
      tariff: [0, 1, 2, 3].map((i) => (initial.energyActiveImportTariff[i] ?? 0) * 1000) as [number, number, number, number],
      activeExport: 0,
      reactiveImport: initial.energyReactiveImport * 1000,
      reactiveExport: 0,
    });
    this.limiter = new Limiter(
      {
        thresholdNormal: o.limiter?.thresholdNormal ?? THRESHOLD_MAX,
        thresholdEmergency: o.limiter?.thresholdEmergency ?? THRESHOLD_MAX,
        minOverThresholdSeconds: o.limiter?.minOverThresholdSeconds ?? 60,
        minUnderThresholdSeconds: o.limiter?.minUnderThresholdSeconds ?? 60,
      },
      {
        over: { scriptLogicalName: LN.disconnectScriptTable, scriptSelector: 1 },
        under: { scriptLogicalName: LN.disconnectScriptTable, scriptSelector: 2 },
      },
    );
    const r0 = this.clock.reading(t0);
    const e0 = this.integrator.energies.activeImport;
    this.demand = { periodStart: t0, startReading: r0, energyAtStart: e0, lastAverageW: 0, captureReading: r0, maxW: 0, maxReading: r0 };
    this.profiles = buildProfiles(this, r0);
    this.advance(o.startTs);
  }

  /** The simulation's present: the last instant it was advanced to. */
  get time(): number {
    return this.integrator.time;
  }

  get controlState(): ControlState {
    return this.state;
  }

  /** Disconnect control output_state: true when the load is supplied. */
  get outputState(): boolean {
    return this.state === CONNECTED;
  }

  /** Replays everything up to `now`: integration, captures, emergency edges, limiter samples. */
  advance(now: number): void {
    if (now - this.integrator.time > MAX_ADVANCE_MS) throw new RangeError(`cannot advance the simulated meter by ${now - this.integrator.time} ms at once`);
    const sampleFrom = Math.max(this.startTs, now - MAX_LIMITER_CATCHUP_MS);
    while (this.integrator.time < now) {
      const t0 = this.integrator.time;
      let next = now;
      for (const p of this.profiles.all) next = Math.min(next, Math.max(t0, this.dueAt(p)));
      for (const edge of this.limiter.emergencyEdgesAfter(this.clock.reading(t0))) {
        const te = Math.ceil(this.clock.trueInstantOf(edge));
        if (te > t0) next = Math.min(next, te);
      }
      // A scenario edge ends the piece: the held load changes there (energyIntegrator.ts).
      const effectEdge = this.model.effects?.nextChangeAfter(t0) ?? Infinity;
      if (effectEdge < next) next = Math.ceil(effectEdge);
      if (this.model.effects !== undefined) this.integrator.invalidate();
      const sampling = this.limiter.needsSampling && now >= sampleFrom;
      const sampleAt = Math.max(Math.floor(t0 / 1000) * 1000 + 1000, Math.ceil(sampleFrom / 1000) * 1000);
      if (sampling) next = Math.min(next, sampleAt);
      this.integrator.advanceTo(next);
      for (const p of this.profiles.all) {
        while (this.dueAt(p) <= next) this.capture(p, next, p.schedule.next(this.clock, p.lastBoundary));
      }
      this.limiter.updateEmergency(this.clock.reading(next));
      if (sampling && next === sampleAt) this.sampleLimiter(next);
    }
  }

  /** Register inputs at the present instant. */
  reading(): MeterReading {
    const t = this.integrator.time;
    const i = this.instant(t);
    const on = this.outputState && !this.voltageLost;
    return {
      energies: this.integrator.energies,
      activeW: on ? i.powerActive * 1000 : 0,
      activeWL: on ? [i.powerActiveL[0] * 1000, i.powerActiveL[1] * 1000, i.powerActiveL[2] * 1000] : [0, 0, 0],
      reactiveVar: on ? i.powerReactive * 1000 : 0,
      voltage: this.voltageLost ? [0, 0, 0] : i.voltage,
      current: on ? i.current : [0, 0, 0],
      powerFactor: i.powerFactor,
      frequencyHz: i.frequency,
    };
  }

  /** Applies a disconnect control trigger at the present; false when the mode has no such transition from the current state. */
  trigger(trigger: DisconnectTrigger): boolean {
    const next = nextControlState(this.controlMode, this.state, trigger);
    if (next === undefined) return false;
    const changed = next !== this.state;
    this.state = next;
    this.integrator.connected = next === CONNECTED && !this.voltageLost;
    if (changed) this.onRelayChange?.(trigger, next === CONNECTED);
    return true;
  }

  get voltageLoss(): boolean {
    return this.voltageLost;
  }

  /** Starts or ends a simulated loss of supply voltage at the present. */
  setVoltageLoss(on: boolean): void {
    this.voltageLost = on;
    this.integrator.connected = this.state === CONNECTED && !on;
  }

  setControlMode(mode: number): void {
    this.controlMode = mode;
    // Mode 0 has no transitions: the object is always connected (Blue Book IC 70 control_mode 0).
    if (mode === 0) {
      this.state = CONNECTED;
      this.integrator.connected = true;
    }
  }

  /** Sets the clock to show `reading` now; capture schedules restart from the new reading. */
  setClock(reading: number): void {
    this.clock.set(reading, this.integrator.time);
    for (const p of this.profiles.all) p.lastBoundary = p.schedule.floor(this.clock, reading);
    this.amrStatus |= STATUS_CLOCK_ADJUSTED;
    this.limiter.updateEmergency(reading);
  }

  /** Samples the limiter now (after its thresholds changed), so an over-threshold period starts at the change. */
  sampleLimiterNow(): void {
    if (this.integrator.time >= this.startTs) this.sampleLimiter(this.integrator.time);
  }

  /** Captures one row of `p` now (IC 7 method capture): the row's clock is the present reading. */
  captureNow(p: ScheduledProfile): void {
    p.buffer.push(p.row(this.clock.reading(this.integrator.time)), this.clock.deviationMinutes);
  }

  private capture(p: ScheduledProfile, t: number, boundary: number): void {
    p.lastBoundary = boundary;
    p.before?.(t, boundary);
    p.buffer.push(p.row(boundary), this.clock.deviationMinutes);
    p.after?.(boundary);
  }

  /** True instant (whole ms) at which `p`'s next boundary falls. */
  private dueAt(p: ScheduledProfile): number {
    return Math.ceil(this.clock.trueInstantOf(p.schedule.next(this.clock, p.lastBoundary)));
  }

  private sampleLimiter(t: number): void {
    // The monitored value is 1.0.1.7.0.255 attribute 2: W, scaler 0, zero while the relay is open.
    const value = this.outputState ? Math.round(this.instant(t).powerActive * 1000) : 0;
    const action = this.limiter.sample(t, value);
    if (action !== undefined) this.runScript(action === 'over' ? this.limiter.actions.over : this.limiter.actions.under);
  }

  private runScript(a: ScriptAction): void {
    if (!obisEquals(a.scriptLogicalName, LN.disconnectScriptTable) || (a.scriptSelector !== 1 && a.scriptSelector !== 2)) {
      this.unknownScriptRuns++;
      return;
    }
    this.trigger(a.scriptSelector === 1 ? 'local_disconnect' : 'local_reconnect');
  }

  private loadOfStep(stepStart: number): StepLoad {
    // The step's load shape, under the effect in force from the piece being integrated (its start is the integrator's time).
    const effect = this.model.effects?.at(this.integrator.time) ?? NO_EFFECT;
    const i = applyEffect(this.model.baseInstant(stepStart), effect);
    if (effect.registersStuck) return { activeW: 0, reactiveVar: 0, tariff: 0 };
    const localHour = new Date(this.clock.local(this.clock.reading(stepStart))).getUTCHours();
    return { activeW: i.powerActive * 1000, reactiveVar: i.powerReactive * 1000, tariff: tariffOfHour(localHour) };
  }

  private instant(t: number): ReturnType<MeterModel['instant']> {
    if (this.instantCache?.t !== t) this.instantCache = { t, v: this.model.instant(t) };
    return this.instantCache.v;
  }
}
