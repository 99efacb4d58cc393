/**
 * Assembles MQTT OTA (docs/mqtt-ota.md) from the configuration: the channel that offers and
 * hears reports, and the download tokens behind the public download route. The campaign
 * runner offers through `channel`, after `downloads.grant(offerId, imageId)`; the API serves
 * `downloads` (src/api/firmwareOtaRoutes.ts). The channel connects on first use, so a node
 * that never runs a campaign opens no client.
 */
import { roleClientId, type MqttConnection } from '../../../protocols/mqtt/connection.js';
import { otaBaseUrl } from '../../config/firmwareOta.js';
import type { GridheadConfig } from '../../config/schema.js';
import type { Closers } from '../../observe/closers.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { MetricSource } from '../../observe/metrics.js';
import { OtaDownloads, type OtaImageSource } from './downloads.js';
import { otaMetricSources } from './metrics.js';
import { MqttOtaChannel } from './mqttOtaChannel.js';

export type { OtaChannel, OtaOffer, OtaReport } from './channel.js';
export { OtaDownloads, type OtaGrant, type OtaImageSource } from './downloads.js';
export { MqttOtaChannel } from './mqttOtaChannel.js';

export interface MqttOtaAssembly {
  readonly config: Pick<GridheadConfig, 'firmware' | 'mqtt' | 'http'>;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** The station's broker (src/broker `StationBroker.connection`). */
  readonly broker: MqttConnection;
  /** This node's id in a cluster: its OTA client then has its own id. */
  readonly nodeId?: string | undefined;
  /** The images, by id (the campaigns' image store). */
  readonly images: OtaImageSource;
  /** The HTTP API's URL once it listens (port 0 is known only then); before that, `http.host:http.port`. */
  readonly apiUrl: () => string | undefined;
}

export interface MqttOta {
  readonly channel: MqttOtaChannel;
  readonly downloads: OtaDownloads;
  /** Offers, reports and downloads, for /metrics. */
  metricSources(): MetricSource[];
}

export function createMqttOta(o: MqttOtaAssembly): MqttOta {
  const { ota } = o.config.firmware;
  const { http, mqtt } = o.config;
  const downloads = new OtaDownloads({
    source: o.images,
    baseUrl: () => otaBaseUrl(ota, o.apiUrl() ?? `http://${http.host}:${http.port}`),
    tokenTtlMs: ota.tokenTtlMs,
    maxTokens: ota.maxTokens,
    maxConcurrentDownloads: ota.maxConcurrentDownloads,
    busyRetryAfterSec: ota.busyRetryAfterSec,
  });
  const channel = new MqttOtaChannel({
    connection: o.broker,
    clientId: roleClientId(mqtt.clientId, 'ota', o.nodeId),
    topicPrefix: mqtt.topicPrefix,
    logger: o.logger,
    throttle: o.throttle,
    publishTimeoutMs: ota.publishTimeoutMs,
    maxPendingOffers: ota.maxPendingOffers,
  });
  o.closers.add('mqtt ota', () => channel.close());
  return { channel, downloads, metricSources: () => otaMetricSources({ channel, downloads }) };
}
