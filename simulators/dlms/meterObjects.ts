/**
 * The simulated DLMS meter's COSEM object model: what a server engine serves for one meter.
 * Every request first advances the simulation to the request's instant (ctx.now), so values,
 * profile rows and the limiter are those of that instant; `tick(now)` does the same without a
 * request (a fleet calls it so limiters trip on time in meters nobody reads).
 *
 * Objects (class, OBIS): Association LN 15 0.0.40.0.0.255 · Clock 8 0.0.1.0.0.255 ·
 * Data 1 0.0.42.0.0.255 (logical device name), 0.0.96.1.0.255 (serial), 0.0.96.10.1.255 (AMR
 * profile status) · Registers 3 (registerTable.ts) · Demand register 5 1.0.1.4.0.255 ·
 * Extended register 4 1.0.1.6.0.255 (maximum demand) · Profile generic 7 1.0.99.1.0.255,
 * 1.0.99.2.0.255, 0.0.98.1.0.255 · Push setup 40 0.0.25.9.0.255 · Disconnect control 70
 * 0.0.96.3.10.255 · Limiter 71 0.0.17.0.0.255.
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import type {
  AccessContext, CosemAttributeDescriptor, CosemMethodDescriptor, CosemObjectModel, DataAccessResultName, GetResult,
  ModelActionOutcome, SelectiveAccess,
} from '../../protocols/dlms/server/objectModel.js';
import { CosemObjectTable, type CosemObjectDef } from './cosemObject.js';
import { MeterSimulation, type MeterSimulationOptions } from './meterSimulation.js';
import { associationObject, pushSetupObject } from './objects/association.js';
import { clockObject } from './objects/clock.js';
import { disconnectControlObject, limiterObject } from './objects/loadControl.js';
import { measurementObjects } from './objects/measurement.js';
import { profileObjects } from './objects/profiles.js';

export interface SimulatedDlmsMeterOptions extends MeterSimulationOptions {
  readonly serialNumber: string;
  /** COSEM logical device name, at most 16 characters (default "GRD" + serial number). */
  readonly logicalDeviceName?: string;
  /** Low level security secret (default "12345678"). */
  readonly password?: string;
  /** Server SAP reported in associated_partners_id (default 1, the management logical device). */
  readonly serverSap?: number;
}

export class SimulatedDlmsMeter implements CosemObjectModel {
  readonly simulation: MeterSimulation;
  private readonly table: CosemObjectTable;
  private secret: Uint8Array;

  constructor(options: SimulatedDlmsMeterOptions) {
    this.simulation = new MeterSimulation(options);
    this.secret = new TextEncoder().encode(options.password ?? '12345678');
    const sim = this.simulation;
    const objects: CosemObjectDef[] = [];
    objects.push(
      associationObject(() => objects, {
        serverSap: options.serverSap ?? 1,
        setPassword: (secret) => { this.secret = secret.slice(); },
      }),
      clockObject(sim),
      ...measurementObjects(sim, {
        serialNumber: options.serialNumber,
        logicalDeviceName: options.logicalDeviceName ?? `GRD${options.serialNumber}`,
      }),
      ...profileObjects(sim),
      pushSetupObject(),
      disconnectControlObject(sim),
      limiterObject(sim),
    );
    this.table = new CosemObjectTable(objects);
  }

  /** The low-level security secret in force (changed by writing Association LN attribute 7). */
  get password(): string {
    return new TextDecoder().decode(this.secret);
  }

  /** Every object, in object_list order. */
  get objects(): readonly CosemObjectDef[] {
    return this.table.objects;
  }

  get(ref: CosemAttributeDescriptor, access: SelectiveAccess | undefined, ctx: AccessContext): GetResult {
    this.simulation.advance(ctx.now);
    return this.table.get(ref, access, ctx);
  }

  set(ref: CosemAttributeDescriptor, value: DlmsData, ctx: AccessContext): DataAccessResultName {
    this.simulation.advance(ctx.now);
    return this.table.set(ref, value, ctx);
  }

  action(ref: CosemMethodDescriptor, parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome {
    this.simulation.advance(ctx.now);
    return this.table.action(ref, parameters, ctx);
  }

  /** Advances the meter to `now` without a request: captures, limiter, relay. */
  tick(now: number): void {
    this.simulation.advance(now);
  }

  /** Whether `password` is the low level security secret (the server engine checks the AARQ with it). */
  authenticate(password: string | Uint8Array): boolean {
    const given = typeof password === 'string' ? new TextEncoder().encode(password) : password;
    return given.length === this.secret.length && given.every((b, i) => b === this.secret[i]);
  }

  /** The customer presses the relay button at `now`: manual_reconnect (e) or manual_disconnect (f) where the mode has it. */
  pressButton(now: number): boolean {
    this.simulation.advance(now);
    return this.simulation.trigger(this.simulation.outputState ? 'manual_disconnect' : 'manual_reconnect');
  }
}
