/**
 * A small fleet for the firmware tests: DLMS terminals of one meter type (and an MQTT one), the
 * meters behind them, the campaign service and runner over an in-memory SQLite store, and a
 * meter double (meterImageDouble.ts) per meter. The clock is the test's: `clock.now` moves only
 * when a test moves it, and ticks are driven by hand (`drive`), never by time.
 */
import { Value } from 'typebox/value';
import { FirmwareConfig } from '../../../src/config/firmware.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { meterId, terminalId, type Meter, type Terminal } from '../../../src/domain/index.js';
import type { FleetView } from '../../../src/firmware/group.js';
import { FirmwareImageCache } from '../../../src/firmware/imageCache.js';
import type { DeviceFirmwareRegister, OtaLink } from '../../../src/firmware/ports.js';
import { CampaignRunner, type FirmwarePath } from '../../../src/firmware/runner.js';
import { FirmwareService, type Actor } from '../../../src/firmware/service.js';
import { SqliteFirmwareStore } from '../../../src/firmware/sqliteStore.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { LanesDouble, MeterImageDouble, type MeterDoubleOptions } from './meterImageDouble.js';

export const ADMIN: Actor = { subject: 'token:ops', source: '127.0.0.1' };
export const T0 = Date.UTC(2026, 0, 5, 8);

export interface FleetSpec {
  /** Meter ids per terminal id; every DLMS terminal is of meter type GRD-3P. */
  readonly terminals: Readonly<Record<string, readonly string[]>>;
  readonly mqttTerminals?: Readonly<Record<string, readonly string[]>>;
  readonly meterOptions?: Readonly<Record<string, MeterDoubleOptions>>;
  readonly limits?: Partial<FirmwareConfig>;
  readonly register?: DeviceFirmwareRegister;
  readonly ota?: OtaLink;
}

export class FirmwareFleet {
  readonly db: Db = openDatabase(':memory:');
  readonly store = new SqliteFirmwareStore(this.db);
  readonly audit = new SqliteAuditLog(this.db);
  readonly clock = { now: T0 };
  readonly meters = new Map<string, MeterImageDouble>();
  readonly lanes: LanesDouble;
  readonly service: FirmwareService;
  readonly limits: FirmwareConfig;
  readonly fleet: FleetView;
  runner: CampaignRunner;

  constructor(private readonly spec: FleetSpec) {
    const terminals = new Map<string, Terminal>();
    const meters: Meter[] = [];
    const add = (t: string, ids: readonly string[], protocol: 'dlms' | 'mqtt') => {
      terminals.set(t, (protocol === 'dlms'
        ? { id: terminalId(t), name: t, protocol, enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: 4059, framing: 'wrapper', clientSap: 16, auth: 'none', meterType: 'GRD-3P' } }
        : { id: terminalId(t), name: t, protocol, enabled: true, profiles: [], mqtt: {} }) as unknown as Terminal);
      for (const id of ids) {
        meters.push({ id: meterId(id), name: id, terminalId: terminalId(t), address: id, ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null });
        this.meters.set(id, new MeterImageDouble(id, spec.meterOptions?.[id]));
      }
    };
    for (const [t, ids] of Object.entries(spec.terminals)) add(t, ids, 'dlms');
    for (const [t, ids] of Object.entries(spec.mqttTerminals ?? {})) add(t, ids, 'mqtt');
    this.fleet = {
      listMeters: () => meters, findMeter: (id) => meters.find((m) => m.id === id), findTerminal: (id) => terminals.get(id), hasArea: () => true,
    };
    this.limits = { ...Value.Default(FirmwareConfig, {}) as FirmwareConfig, tickMs: 600_000, sliceBlocks: 8, retryBackoffMs: 1_000, ...spec.limits };
    this.lanes = new LanesDouble((address) => this.meter(address));
    this.service = new FirmwareService({ store: this.store, audit: this.audit, fleet: this.fleet, limits: this.limits, register: spec.register, now: () => this.clock.now });
    this.runner = this.newRunner();
  }

  meter(id: string): MeterImageDouble {
    const m = this.meters.get(id);
    if (m === undefined) throw new Error(`no meter double ${id}`);
    return m;
  }

  /** A runner as a (re)started leader builds it, over the same store and meters. */
  newRunner(): CampaignRunner {
    const path = (t: string): FirmwarePath => (this.fleet.findTerminal(t)?.protocol === 'mqtt' ? { via: 'ota' } : { via: 'session' });
    return new CampaignRunner({
      store: this.store, images: new FirmwareImageCache(this.store), lanes: this.lanes, audit: this.audit, limits: this.limits, utcOffsetMinutes: 0,
      addressOf: (id) => this.fleet.findMeter(id)?.address, pathOf: path, register: this.spec.register, ota: this.spec.ota,
      logger: createLogger('silent'), throttle: new LogThrottle(60_000), now: () => this.clock.now,
    });
  }

  /** Ticks (the clock moved `stepMs` before each) until the campaign leaves `running`; at most `maxTicks`. */
  async drive(campaignId: string, { stepMs = 0, maxTicks = 500 }: { stepMs?: number; maxTicks?: number } = {}): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      this.clock.now += stepMs;
      await this.runner.tick();
      await this.runner.idle();
      const c = await this.store.campaign(campaignId);
      if (c?.state !== 'running') return;
    }
  }

  async image(bytes = 1_000, version = 'GRD-FW-2.0'): Promise<string> {
    return (await this.service.uploadImage(ADMIN, { bytes: Uint8Array.from({ length: bytes }, (_, i) => i & 0xff), identifier: version })).id;
  }

  close(): void {
    this.db.close();
  }
}
