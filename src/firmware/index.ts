/**
 * Builds firmware campaigns from the `firmware` section and the station's parts: the one place
 * configuration meets src/firmware. The service goes to the API; the runner is a leader duty.
 * How a terminal takes an image is asked of its adapter's capabilities, never of its protocol's
 * name: `firmwareTransfer` over a session, `commandsOverPush` through the OTA channel (built
 * here over the station's broker, src/firmware/ota).
 */
import type { ProtocolName, TransportAdapter } from '../../protocols/adapter.js';
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import type { NodeIdentity } from '../cluster/settings.js';
import type { GridheadConfig } from '../config/schema.js';
import type { AuditLog } from '../control/audit.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import type { FleetView } from './group.js';
import { FirmwareImageCache } from './imageCache.js';
import { createMqttOta, type OtaDownloads } from './ota/index.js';
import type { DeviceFirmwareRegister, OtaLink } from './ports.js';
import { CampaignRunner, type FirmwarePath } from './runner.js';
import { FirmwareService } from './service.js';
import type { SessionLanes } from './sessionUpgrade.js';
import type { FirmwareStore } from './store.js';

export { FirmwareService } from './service.js';
export { CampaignRunner } from './runner.js';
export type { DeviceFirmwareRegister, OtaLink } from './ports.js';

export interface FirmwareAssembly {
  readonly config: Pick<GridheadConfig, 'firmware' | 'station' | 'mqtt' | 'http'>;
  readonly store: FirmwareStore;
  readonly audit: AuditLog;
  readonly registry: FleetView;
  readonly lanes: SessionLanes;
  readonly adapters: Readonly<Partial<Record<ProtocolName, Pick<TransportAdapter, 'capabilities'>>>>;
  /** The leader's duties: one node runs the campaigns. */
  readonly duties: Duties;
  readonly closers: Closers;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  /** The device register, where the station has one: `currentVersion` groups and recorded upgrades. */
  readonly register?: DeviceFirmwareRegister | undefined;
  /** The station's broker: MQTT terminals are offered images over it (src/firmware/ota); absent, they cannot be upgraded. */
  readonly broker?: MqttConnection | undefined;
  /** This node: in a cluster its OTA client has its own id. */
  readonly identity?: Pick<NodeIdentity, 'id' | 'mode'> | undefined;
  /** The HTTP API's URL once it listens: where offered images are downloaded unless firmware.ota.baseUrl says otherwise. */
  readonly apiUrl?: () => string | undefined;
  readonly now?: () => number;
}

export interface Firmware {
  readonly service: FirmwareService;
  readonly runner: CampaignRunner;
  /** The OTA download tokens, for the public download route; undefined without a broker. */
  readonly otaDownloads: OtaDownloads | undefined;
  /** MQTT OTA's offers, reports and downloads, for /metrics; none without a broker. */
  metricSources(): MetricSource[];
}

export function createFirmware(a: FirmwareAssembly): Firmware {
  const now = a.now === undefined ? {} : { now: a.now };
  const service = new FirmwareService({ store: a.store, audit: a.audit, fleet: a.registry, limits: a.config.firmware, register: a.register, ...now });
  const pathOf = (terminalId: string): FirmwarePath => {
    const terminal = a.registry.findTerminal(terminalId);
    if (terminal === undefined) return { via: 'none', why: 'the terminal is no longer in the registry' };
    const capabilities = a.adapters[terminal.protocol]?.capabilities;
    if (capabilities?.firmwareTransfer === true) return { via: 'session' };
    if (capabilities?.commandsOverPush === true) return { via: 'ota' };
    return { via: 'none', why: `its adapter (${terminal.protocol}) offers no firmware transfer` };
  };
  const images = new FirmwareImageCache(a.store);
  const mqttOta = a.broker === undefined ? undefined : createMqttOta({
    config: a.config, logger: a.logger, throttle: a.throttle, closers: a.closers, broker: a.broker, nodeId: a.identity === undefined || a.identity.mode === 'single' ? undefined : a.identity.id, apiUrl: a.apiUrl ?? (() => undefined),
    images: async (id) => {
      const { record, firmware } = await images.load(id);
      return { bytes: firmware.bytes, sha256: record.sha256 };
    },
  });
  // A terminal's own report of the version it activated is the register's firmware history, whoever offered the image.
  const register = a.register;
  if (mqttOta !== undefined && register !== undefined) {
    mqttOta.channel.onReport((terminalId, report) => {
      if (report.state !== 'activated' || report.version === undefined) return;
      register.recordFirmware('terminal', terminalId, { version: report.version, at: (a.now ?? Date.now)(), source: 'ota' }).catch((err: unknown) => {
        const suppressed = a.throttle.pass('firmware ota register');
        if (suppressed >= 0) a.logger.warn({ err, terminalId, suppressed }, 'recording an OTA firmware activation in the device register failed');
      });
    });
  }
  const ota: OtaLink | undefined = mqttOta === undefined ? undefined : {
    channel: mqttOta.channel,
    imageUrl: (imageId, offerId) => Promise.resolve(mqttOta.downloads.grant(offerId, imageId).url),
  };
  const runner = new CampaignRunner({
    store: a.store, images, lanes: a.lanes, audit: a.audit, limits: a.config.firmware, utcOffsetMinutes: a.config.station.utcOffsetMinutes,
    addressOf: (id) => a.registry.findMeter(id)?.address, pathOf, register: a.register, ota, logger: a.logger, throttle: a.throttle, ...now,
  });
  a.duties.add('firmware campaigns', { start: () => { runner.start(); }, stop: () => runner.stop() });
  a.closers.add('firmware campaigns', () => runner.stop());
  return { service, runner, otaDownloads: mqttOta?.downloads, metricSources: () => mqttOta?.metricSources() ?? [] };
}
