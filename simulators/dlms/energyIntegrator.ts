/**
 * Energy registers of the simulated meter as a function of time: power is sampled once per
 * 15-minute step (at the step's start) and held for the step, so the energy at an instant
 * does not depend on how often or when the meter was read. Only while the relay is closed
 * does energy accumulate. Units are Wh and varh, unrounded; registers floor them. A negative
 * active load (a reverse-power scenario) counts on the export register.
 */

/** Integration step: the load profile's capture period, so every capture falls on a step edge. */
export const INTEGRATION_STEP_MS = 900_000;

export interface Energies {
  readonly activeImport: number;
  /** Active import per tariff T1..T4 (their sum is activeImport). */
  readonly tariff: readonly [number, number, number, number];
  readonly activeExport: number;
  readonly reactiveImport: number;
  readonly reactiveExport: number;
}

export interface StepLoad {
  readonly activeW: number;
  readonly reactiveVar: number;
  readonly tariff: 0 | 1 | 2 | 3;
}

export class EnergyIntegrator {
  /** Whether the load is supplied (the disconnector's output_state). */
  connected = true;
  private cursor: number;
  private activeImport: number;
  private activeExport: number;
  private readonly tariff: [number, number, number, number];
  private reactiveImport: number;
  private cachedStep = Number.NaN;
  private cachedLoad: StepLoad = { activeW: 0, reactiveVar: 0, tariff: 0 };

  constructor(
    /** The load during the step that starts at `stepStart` (true time). */
    private readonly loadOfStep: (stepStart: number) => StepLoad,
    start: number,
    initial: Energies,
  ) {
    this.cursor = start;
    this.activeImport = initial.activeImport;
    this.activeExport = initial.activeExport;
    this.tariff = [...initial.tariff];
    this.reactiveImport = initial.reactiveImport;
  }

  get time(): number {
    return this.cursor;
  }

  /** Integrates up to `t`; earlier instants are ignored (time never runs back). */
  advanceTo(t: number): void {
    while (this.cursor < t) {
      const stepStart = Math.floor(this.cursor / INTEGRATION_STEP_MS) * INTEGRATION_STEP_MS;
      const end = Math.min(t, stepStart + INTEGRATION_STEP_MS);
      if (this.connected) {
        const load = this.load(stepStart);
        const hours = (end - this.cursor) / 3_600_000;
        const wh = load.activeW * hours;
        if (wh >= 0) {
          this.activeImport += wh;
          this.tariff[load.tariff] += wh;
        } else {
          this.activeExport -= wh;
        }
        this.reactiveImport += load.reactiveVar * hours;
      }
      this.cursor = end;
    }
  }

  get energies(): Energies {
    return {
      activeImport: this.activeImport,
      tariff: [...this.tariff],
      activeExport: this.activeExport,
      reactiveImport: this.reactiveImport,
      reactiveExport: 0,
    };
  }

  /** Forgets the held load, so the rest of the step asks `loadOfStep` again (a scenario started or ended). */
  invalidate(): void {
    this.cachedStep = Number.NaN;
  }

  private load(stepStart: number): StepLoad {
    if (stepStart !== this.cachedStep) {
      this.cachedLoad = this.loadOfStep(stepStart);
      this.cachedStep = stepStart;
    }
    return this.cachedLoad;
  }
}
