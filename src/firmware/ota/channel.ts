/**
 * How the station offers a firmware image to an MQTT terminal (protocols/mqtt/ota.ts holds the
 * topics): an offer on `<topicPrefix>/<terminalId>/ota/offer` names where to download the image
 * and its hash (the image itself never travels through the broker); the terminal answers with
 * reports on `<topicPrefix>/<terminalId>/ota/report`. The campaigns (src/firmware/runner.ts)
 * consume this interface; the MQTT implementation lives beside it in src/firmware/ota/.
 */

/** What a terminal is offered (the offer topic's payload). */
export interface OtaOffer {
  /** Names this offer; the terminal's reports carry it. */
  readonly offerId: string;
  /** Where the terminal downloads the image: GET /api/v1/firmware/ota/:token, a per-offer capability that expires. */
  readonly url: string;
  /** SHA-256 of the image, hex: the terminal checks it before it takes the image. */
  readonly sha256: string;
  readonly size: number;
  /** The version the terminal reports once the image is active. */
  readonly version: string;
  readonly activate: 'now' | 'later';
}

/** What a terminal reports of an offer (the report topic's payload). */
export interface OtaReport {
  readonly offerId: string;
  readonly state: 'downloading' | 'downloaded' | 'verified' | 'failed' | 'activated';
  /** The version now active (with `activated`). */
  readonly version?: string;
  /** Why it failed (with `failed`). */
  readonly reason?: string;
  /** Share downloaded, 0…1 (with `downloading`). */
  readonly progress?: number;
}

export interface OtaChannel {
  offer(terminalId: string, offer: OtaOffer): Promise<void>;
  onReport(listener: (terminalId: string, report: OtaReport) => void): () => void;
}
