/**
 * The relay and power limiter of one simulated Modbus meter (THREE_PHASE_METER_MAP.controls):
 * the relay is coil 0 (1 connected, 0 disconnected); the limit is holding registers 512-513,
 * a uint32 in W, 0xFFFFFFFF meaning no limit. Like a DLMS IC 71 limiter, the meter trips its
 * own relay when the active power stays above the limit for `tripAfterMs`; reconnecting is
 * the head-end's (or the customer's) business.
 *
 * While the relay is open the meter draws nothing: power and currents read 0 and the energy
 * registers stop advancing (what the load model integrated meanwhile is held back).
 */
import type { MeterState } from '../loadShape.js';

export const RELAY_COIL = 0;
export const LIMIT_REGISTER = 512;
export const NO_LIMIT_W = 0xffffffff;
/** Default time over the limit before the relay trips, ms ("a few seconds"). */
export const DEFAULT_TRIP_AFTER_MS = 5_000;

type Energies = Pick<MeterState, 'energyActiveImport' | 'energyReactiveImport' | 'energyActiveImportTariff'>;

export class SimulatedMeterControls {
  connected = true;
  /** Active limit, W; NO_LIMIT_W for none. */
  limitW = NO_LIMIT_W;
  /** Times the limiter opened the relay. */
  trips = 0;
  private overSince: number | undefined;
  private last: Energies | undefined;
  private readonly held = { active: 0, reactive: 0, tariff: [0, 0, 0, 0] as [number, number, number, number] };

  constructor(private readonly tripAfterMs: number = DEFAULT_TRIP_AFTER_MS) {}

  /** Switches the relay (a write of coil 0); a manual reconnect also restarts the limiter's count. */
  setRelay(connected: boolean): void {
    if (connected && !this.connected) this.overSince = undefined;
    this.connected = connected;
  }

  /** Writes the limit; like IC 71, an over-limit period starts at the write, not before it. */
  setLimit(watts: number, now: number, demandKw: number): void {
    this.limitW = watts;
    this.overSince = undefined;
    this.sample(now, demandKw);
  }

  /**
   * Samples the load the model demands at `now` (kW, before the relay applies): starts or ends
   * the over-limit period and trips the relay once it has lasted `tripAfterMs`.
   */
  sample(now: number, demandKw: number | undefined): void {
    if (!this.connected || demandKw === undefined) return;
    const over = this.limitW !== NO_LIMIT_W && demandKw * 1000 > this.limitW;
    if (!over) {
      this.overSince = undefined;
      return;
    }
    this.overSince ??= now;
    if (now - this.overSince >= this.tripAfterMs) {
      this.connected = false;
      this.overSince = undefined;
      this.trips++;
    }
  }

  /** Whether a sample could change anything: a limit is set and the relay is closed. */
  get armed(): boolean {
    return this.connected && this.limitW !== NO_LIMIT_W;
  }

  /** What the meter serves: the raw state with the relay's effect on power, currents and energy. */
  apply(raw: MeterState): MeterState {
    const prev = this.last;
    this.last = raw;
    if (!this.connected && prev !== undefined) {
      this.held.active += raw.energyActiveImport - prev.energyActiveImport;
      this.held.reactive += raw.energyReactiveImport - prev.energyReactiveImport;
      for (let i = 0; i < 4; i++) this.held.tariff[i] = tariffOf(this.held.tariff, i) + tariffOf(raw.energyActiveImportTariff, i) - tariffOf(prev.energyActiveImportTariff, i);
    }
    const energies = {
      energyActiveImport: raw.energyActiveImport - this.held.active,
      energyReactiveImport: raw.energyReactiveImport - this.held.reactive,
      energyActiveImportTariff: [0, 1, 2, 3].map((i) => tariffOf(raw.energyActiveImportTariff, i) - tariffOf(this.held.tariff, i)) as [number, number, number, number],
    };
    if (this.connected) return { ...raw, ...energies };
    return {
      ...raw,
      ...energies,
      powerActive: 0,
      powerActiveL: [0, 0, 0],
      powerReactive: 0,
      current: [0, 0, 0],
    };
  }
}

function tariffOf(t: readonly number[], i: number): number {
  return t[i] ?? 0;
}
