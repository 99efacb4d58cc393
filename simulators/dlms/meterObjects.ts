/**
 * The simulated DLMS meter's COSEM object model: what a server engine serves for one meter.
 * Every request first advances the simulation to the request's instant (ctx.now), so values,
 * profile rows and the limiter are those of that instant; `tick(now)` does the same without a
 * request (a fleet calls it so limiters trip on time in meters nobody reads).
 *
 * Objects (class, OBIS): Association LN 15 0.0.40.0.0.255 · Clock 8 0.0.1.0.0.255 ·
 * Data 1 0.0.42.0.0.255 (logical device name), 0.0.96.1.0.255 (serial), 0.0.96.1.1.255 (model),
 * 0.0.96.1.2.255 (hardware version), 0.0.96.10.1.255 (AMR profile status), 1.0.0.2.0.255 (active
 * firmware identifier), 1.0.0.2.8.255 (active firmware signature) · Registers 3
 * (registerTable.ts) · Demand register 5 1.0.1.4.0.255 ·
 * Extended register 4 1.0.1.6.0.255 (maximum demand) · Profile generic 7 1.0.99.1.0.255,
 * 1.0.99.2.0.255, 0.0.98.1.0.255 · Push setup 40 0.0.25.9.0.255 (interval), 0.4.25.9.0.255
 * (event) · Data 1 0.0.96.11.0.255 (standard event log code) · Disconnect control 70
 * 0.0.96.3.10.255 · Limiter 71 0.0.17.0.0.255 · unless `firmware.imageTransfer` is false: Image transfer 18
 * 0.0.44.0.0.255 and Single action schedule 22 0.0.15.0.2.255 (image activation; objects/firmware.ts)
 * · with `payment`: Account 111 0.0.19.0.0.255,
 * Credit 112 0.0.19.10.0.255 and 0.0.19.10.1.255, Charge 113 0.0.19.20.0.255, Token gateway 115
 * 0.0.19.40.0.255 (objects/payment.ts).
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import type {
  AccessContext, CosemAttributeDescriptor, CosemMethodDescriptor, CosemObjectModel, DataAccessResultName, GetResult,
  ModelActionOutcome, SelectiveAccess,
} from '../../protocols/dlms/server/objectModel.js';
import { CosemObjectTable, type CosemObjectDef } from './cosemObject.js';
import { MeterSimulation, type MeterSimulationOptions } from './meterSimulation.js';
import { associationObject } from './objects/association.js';
import { clockObject } from './objects/clock.js';
import { disconnectControlObject, limiterObject } from './objects/loadControl.js';
import { measurementObjects } from './objects/measurement.js';
import { paymentObjects } from './objects/payment.js';
import { profileObjects } from './objects/profiles.js';
import { MeterFirmware } from './objects/firmware.js';
import type { FirmwareOptions } from './imageTransfer.js';
import type { PaymentAccount, PaymentMeteringOptions } from './paymentAccount.js';
import { PushSetupState, type PushDestination } from './objects/pushSetup.js';
import { EVENT_PUSH_LIST, INTERVAL_PUSH_LIST, PUSH_OBIS, type PushObjectList } from '../../protocols/dlms/push/pushObjects.js';
import { INTERFACE_CLASSES } from '../../protocols/dlms/cosem/classes.js';
import { parseObis } from '../../protocols/dlms/cosem/obis.js';
import { u8 } from './cosemData.js';
import { ok } from './cosemObject.js';

export interface SimulatedDlmsMeterOptions extends MeterSimulationOptions {
  readonly serialNumber: string;
  /** COSEM logical device name, at most 16 characters (default "GRD" + serial number). */
  readonly logicalDeviceName?: string;
  /** Low level security secret (default "12345678"). */
  readonly password?: string;
  /** Server SAP reported in associated_partners_id (default 1, the management logical device). */
  readonly serverSap?: number;
  /** Initial send_destination_and_method of both push setups. */
  readonly pushDestination?: PushDestination;
  /** How the pushes describe themselves (default 'push-setup-name'); see `PushForm`. */
  readonly pushForm?: PushForm;
  /** The meter keeps its own account (payment metering objects); absent: it has none. */
  readonly payment?: PaymentMeteringOptions;
  /** Nameplate model, 0.0.96.1.1.255 (default "GRD-SIM-3P"). */
  readonly model?: string;
  /** Nameplate hardware version, 0.0.96.1.2.255 (default "HW-1.0"). */
  readonly hardwareVersion?: string;
  /**
   * Firmware: the active version and image transfer (IC 18) with its activation schedule (IC 22),
   * on by default with imageTransfer.ts's defaults; `imageTransfer: false` leaves IC 18 and IC 22 out.
   */
  readonly firmware?: FirmwareOptions;
}

export type PushSetupName = 'interval' | 'event';

/**
 * The three forms the Blue Book allows a push (IC 40 push_object_list) to take, as the
 * push setups' initial lists:
 *   - 'self-describing': the push setup's own attribute 2 first, so the push carries its list;
 *   - 'push-setup-name': the push setup's logical name (attribute 1) second, after the
 *     logical device name (gridhead's default lists);
 *   - 'bare': neither; the receiver must know the list or read it from the meter.
 */
export type PushForm = 'self-describing' | 'push-setup-name' | 'bare';

/** `list` in `form`: the default lists carry the push setup's logical name, the other forms are derived from them. */
export function pushListIn(form: PushForm, list: PushObjectList): PushObjectList {
  const { classId, attributes } = INTERFACE_CLASSES.pushSetup;
  const rest = list.objects.filter((o) => !(o.classId === classId && o.attribute === attributes.logical_name));
  if (form === 'push-setup-name') return list;
  if (form === 'bare') return { pushSetup: list.pushSetup, objects: rest };
  return { pushSetup: list.pushSetup, objects: [{ classId, obis: list.pushSetup, attribute: attributes.push_object_list, dataIndex: 0 }, ...rest] };
}

export class SimulatedDlmsMeter implements CosemObjectModel {
  readonly simulation: MeterSimulation;
  private readonly table: CosemObjectTable;
  private secret: Uint8Array;
  /** The push setups (their settings are the push sender's too). */
  readonly pushSetups: Readonly<Record<PushSetupName, PushSetupState>>;
  /** Standard event log code (0.0.96.11.0.255): the code of the most recent event. */
  eventCode = 0;
  /** The meter's own account, when it has the payment metering objects. */
  readonly account: PaymentAccount | undefined;
  /** Method 1 of a push setup asks for a push; false when nothing is attached to send it. */
  onPushRequest: ((setup: PushSetupName) => boolean) | undefined;
  /** Image transfer, its activation schedule and the active firmware. */
  readonly firmware: MeterFirmware;

  constructor(options: SimulatedDlmsMeterOptions) {
    this.simulation = new MeterSimulation(options);
    this.secret = new TextEncoder().encode(options.password ?? '12345678');
    const sim = this.simulation;
    this.pushSetups = {
      interval: new PushSetupState(PUSH_OBIS.intervalPushSetup, pushListIn(options.pushForm ?? 'push-setup-name', INTERVAL_PUSH_LIST), options.pushDestination),
      event: new PushSetupState(PUSH_OBIS.eventPushSetup, pushListIn(options.pushForm ?? 'push-setup-name', EVENT_PUSH_LIST), options.pushDestination),
    };
    const pushMethod = (name: PushSetupName) => () => ({ result: this.onPushRequest?.(name) === true ? 'success' as const : 'temporary-failure' as const });
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
        model: options.model ?? 'GRD-SIM-3P',
        hardwareVersion: options.hardwareVersion ?? 'HW-1.0',
      }),
      ...profileObjects(sim),
      this.pushSetups.interval.object(pushMethod('interval')),
      this.pushSetups.event.object(pushMethod('event')),
      {
        classId: INTERFACE_CLASSES.data.classId, logicalName: parseObis(PUSH_OBIS.eventCode),
        attributes: { 2: { read: () => ok(u8(this.eventCode)) } },
      },
      disconnectControlObject(sim),
      limiterObject(sim),
    );
    this.firmware = new MeterFirmware(sim, options.firmware ?? {});
    objects.push(...this.firmware.objects);
    const payment = options.payment === undefined ? undefined : paymentObjects(sim, options.payment);
    this.account = payment?.account;
    if (payment !== undefined) objects.push(...payment.objects);
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
    this.advance(ctx.now);
    return this.table.get(ref, access, ctx);
  }

  set(ref: CosemAttributeDescriptor, value: DlmsData, ctx: AccessContext): DataAccessResultName {
    this.advance(ctx.now);
    return this.table.set(ref, value, ctx);
  }

  action(ref: CosemMethodDescriptor, parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome {
    this.advance(ctx.now);
    return this.table.action(ref, parameters, ctx);
  }

  /** Advances the meter to `now` without a request: captures, limiter, relay, a scheduled firmware activation. */
  tick(now: number): void {
    this.advance(now);
  }

  /** Whether `password` is the low level security secret (the server engine checks the AARQ with it). */
  authenticate(password: string | Uint8Array): boolean {
    const given = typeof password === 'string' ? new TextEncoder().encode(password) : password;
    return given.length === this.secret.length && given.every((b, i) => b === this.secret[i]);
  }

  /**
   * The values of a push setup's push_object_list at `now`, read through the same objects a
   * GET reads (as the management client), so a push and a poll of one instant agree.
   * An attribute that cannot be read is pushed as null-data.
   */
  pushValues(setup: PushSetupName, now: number): DlmsData[] {
    this.advance(now);
    const ctx = { clientSap: 1, authenticated: 'low' as const, now };
    return this.pushSetups[setup].list.objects.map((o) => {
      const r = this.table.get({ classId: o.classId, instanceId: parseObis(o.obis), attributeId: o.attribute }, undefined, ctx);
      return r.ok ? r.data : { type: 'null-data' };
    });
  }

  /** The customer presses the relay button at `now`: manual_reconnect (e) or manual_disconnect (f) where the mode has it. */
  pressButton(now: number): boolean {
    this.advance(now);
    return this.simulation.trigger(this.simulation.outputState ? 'manual_disconnect' : 'manual_reconnect');
  }

  private advance(now: number): void {
    this.simulation.advance(now);
    this.firmware.advance();
  }
}
