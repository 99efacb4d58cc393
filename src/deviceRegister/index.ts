/**
 * Builds the device register (设备档案) from the `deviceRegister` section and the station's
 * parts: the one place configuration meets src/deviceRegister. Campaigns, the OTA channel and
 * the API take the service; the rest registers as one active-only duty.
 *
 * The duty runs on `duties` (every active node), not `leaderDuties`: a nameplate is read
 * through the collection lane of the meter's terminal, and lanes live on the node that polls
 * the terminal (the leader's scheduler refuses a terminal placed elsewhere). So each active node
 * reads the meters of its own terminals, and follows the registry; its writes are idempotent,
 * so nodes hearing the same registry change agree.
 */
import type { DeviceRegisterConfig } from '../config/deviceRegister.js';
import type { MeterReplacement } from '../billing/vee.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { RegistryChange } from '../registry/registry.js';
import { RegistryFollower } from './follow.js';
import { NameplateRefresh, type BackgroundLanes } from './refresh.js';
import { DeviceRegisterService } from './service.js';
import type { DeviceRegisterStore } from './store.js';

export { DeviceRegisterService } from './service.js';
export type { DeviceRecord, FirmwareChange, FirmwareReport, DeviceKind } from './model.js';

const HOUR_MS = 3_600_000;

export interface DeviceRegisterAssembly {
  readonly config: { readonly deviceRegister: DeviceRegisterConfig };
  readonly store: DeviceRegisterStore;
  readonly registry: {
    findMeter(id: string): { readonly terminalId: string; readonly address: string } | undefined;
    findTerminal(id: string): { readonly protocol: string } | undefined;
    areaSubtree(id: string): ReadonlySet<string>;
    onChange(listener: (c: RegistryChange) => void): () => void;
  };
  /** The collection lanes (collection.scheduler). */
  readonly lanes: BackgroundLanes;
  /** Whether this node polls a terminal (cluster placement). */
  readonly placement: { owns(terminalId: string): boolean };
  /** Billing's meter replacements (BillingService.replacementsOf). */
  readonly replacementsOf: (meterId: string) => readonly MeterReplacement[];
  readonly duties: Duties;
  readonly closers: Closers;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly now?: () => number;
}

export function createDeviceRegister(a: DeviceRegisterAssembly): DeviceRegisterService {
  const settings = a.config.deviceRegister;
  const now = a.now ?? Date.now;
  const log = a.logger.child({ component: 'device-register' });
  const refreshMs = settings.refreshHours * HOUR_MS;
  const service = new DeviceRegisterService({
    store: a.store, replacementsOf: a.replacementsOf, areaSubtree: (id) => a.registry.areaSubtree(id), refreshMs, exportBatch: settings.exportBatch,
    onBackgroundError: (what, err) => {
      const suppressed = a.throttle.pass('device-register:heard');
      if (suppressed >= 0) log.warn({ err, suppressed }, `recording ${what} failed`);
    },
  });
  const refresh = new NameplateRefresh({
    store: a.store, register: service, lanes: a.lanes, owns: (t) => a.placement.owns(t), concurrency: settings.concurrency, refreshMs,
    retryMs: settings.retryMinutes * 60_000, now,
    meter: (id) => {
      const m = a.registry.findMeter(id);
      const protocol = m === undefined ? undefined : a.registry.findTerminal(m.terminalId)?.protocol;
      return m === undefined || protocol === undefined ? undefined : { terminalId: m.terminalId, address: m.address, protocol };
    },
    // At debug, one line per failing meter, never its stack: a nameplate read fails almost always
    // because the meter cannot be reached or associated, which the collector already reports as
    // the terminal's one line (its offline transition); a second line per meter would only repeat it.
    // The register shows the failure as an old or missing nameplateReadAt.
    onFailure: (meter, terminal, err) => {
      const suppressed = a.throttle.pass(`device-register:nameplate:${meter}`);
      if (suppressed < 0) return;
      const { code, message } = err as { code?: unknown; message?: unknown };
      log.debug({ meter, terminal, code: typeof code === 'string' ? code : undefined, reason: String(message ?? err), suppressed }, 'nameplate read failed; tried again later');
    },
  });
  const sweep = (): void => {
    if (!settings.enabled) return;
    refresh.sweep().catch((err: unknown) => {
      const suppressed = a.throttle.pass('device-register:sweep');
      if (suppressed >= 0) log.warn({ err, suppressed }, 'nameplate refresh sweep failed; tried again at the next scan');
    });
  };
  const follower = new RegistryFollower({
    store: a.store, onChange: (l) => a.registry.onChange(l), now, onInstalled: sweep,
    onError: (err) => {
      const suppressed = a.throttle.pass('device-register:follow');
      if (suppressed >= 0) log.warn({ err, suppressed }, 'registry changes could not be written to the device register; reconciled at the next change');
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(timer);
    timer = undefined;
    await follower.stop();
    await refresh.stop();
  };
  a.duties.add('device-register', {
    start: () => {
      // Not awaited: reconciling a large fleet must not hold up the start; the first sweep follows it.
      void follower.start().then(sweep);
      timer = setInterval(sweep, settings.scanSeconds * 1000);
      timer.unref();
    },
    stop,
  });
  a.closers.add('device register', stop);
  return service;
}
