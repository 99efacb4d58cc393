/**
 * How a firmware campaign offers an image to a terminal that fetches it itself (MQTT OTA,
 * docs/mqtt-ota.md) and learns how it went: the shared contract of the campaign runner and
 * the OTA channel.
 */

export interface OtaOffer { offerId: string; url: string; sha256: string; size: number; version: string; activate: 'now' | 'later' }

export interface OtaReport { offerId: string; state: 'downloading' | 'downloaded' | 'verified' | 'failed' | 'activated'; version?: string; reason?: string; progress?: number }

export interface OtaChannel {
  offer(terminalId: string, offer: OtaOffer): Promise<void>;
  onReport(listener: (terminalId: string, report: OtaReport) => void): () => void;
}
