/**
 * Prometheus sources for MQTT OTA, read from the channel's and the downloads' own stats() at
 * scrape time: offers, reports by state, refused reports, and the image downloads (started,
 * completed and refused, bytes served, slots and tokens in use).
 */
import type { MetricSource } from '../../observe/metrics.js';
import type { OtaDownloads, OtaResponseCounts } from './downloads.js';
import type { MqttOtaChannel } from './mqttOtaChannel.js';

export interface OtaMetricParts {
  readonly channel: Pick<MqttOtaChannel, 'stats'>;
  readonly downloads: Pick<OtaDownloads, 'stats' | 'active' | 'live'>;
}

export function otaMetricSources({ channel, downloads }: OtaMetricParts): MetricSource[] {
  const byResponse = (counts: OtaResponseCounts) => [{ labels: { response: 'whole' }, value: counts.whole }, { labels: { response: 'range' }, value: counts.range }];
  return [
    { name: 'gridhead_firmware_ota_offers', help: 'OTA offers published (acknowledged by the broker)', type: 'counter', read: () => [{ value: channel.stats().offered }] },
    {
      name: 'gridhead_firmware_ota_reports', help: 'OTA reports received from terminals, by state', type: 'counter', labelNames: ['state'],
      read: () => Object.entries(channel.stats().reportsByState).map(([state, value]) => ({ labels: { state }, value })),
    },
    { name: 'gridhead_firmware_ota_reports_malformed', help: 'OTA report messages refused for their topic or payload', type: 'counter', read: () => [{ value: channel.stats().malformed }] },
    {
      name: 'gridhead_firmware_ota_downloads_started', help: 'Image download responses begun: the whole image (200) or one range (206)', type: 'counter', labelNames: ['response'],
      read: () => byResponse(downloads.stats().started),
    },
    {
      name: 'gridhead_firmware_ota_downloads_completed', help: 'Image download responses sent to their last byte', type: 'counter', labelNames: ['response'],
      read: () => byResponse(downloads.stats().completed),
    },
    {
      name: 'gridhead_firmware_ota_downloads_refused', help: 'Image download requests refused, by reason', type: 'counter', labelNames: ['reason'],
      read: () => Object.entries(downloads.stats().refused).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    { name: 'gridhead_firmware_ota_served_bytes', help: 'Image bytes written to download responses', type: 'counter', read: () => [{ value: downloads.stats().bytesServed }] },
    { name: 'gridhead_firmware_ota_downloads_active', help: 'Image downloads being sent (firmware.ota.maxConcurrentDownloads at most)', type: 'gauge', read: () => [{ value: downloads.active }] },
    { name: 'gridhead_firmware_ota_tokens', help: 'Unexpired download tokens (firmware.ota.maxTokens at most)', type: 'gauge', read: () => [{ value: downloads.live }] },
  ];
}
