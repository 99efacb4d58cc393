/**
 * The simulated MQTT terminal's side of the OTA convention (docs/mqtt-ota.md): takes an
 * offer, downloads the image over HTTP (bounded in size and time), checks its SHA-256,
 * reports every step, and switches to the new version on `activate: "now"`, either in the
 * offer itself or in a repeated offer of the same id. Only what a vendor's terminal would do;
 * the options make it fail the ways tests need.
 */
import { createHash } from 'node:crypto';
import { encodeOtaReport, otaReportTopic, parseOtaOffer, type OtaOfferMessage, type OtaReportMessage } from '../../protocols/mqtt/ota.js';

export interface SimulatedOtaOptions {
  /** The firmware the terminal runs at start. Default `SIM-MQTT-1.0.0`. */
  readonly firmwareVersion?: string;
  /** Largest image it accepts. Default 16 MiB. */
  readonly maxImageBytes?: number;
  /** Longest download, connection included. Default 30 s. */
  readonly downloadTimeoutMs?: number;
  /** Every download fails before a byte arrives (reason `download-failed`). */
  readonly failDownload?: boolean;
  /** The received image is corrupted before the check, as in transit (reason `hash-mismatch`). */
  readonly corruptHash?: boolean;
}

/** How the OTA agent reaches its terminal's MQTT client. */
export interface OtaTerminalLink {
  readonly prefix: string;
  readonly terminalId: string;
  /** Publishes at QoS 1; resolves after PUBACK. */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** The new version is active: the terminal announces it (status birth). */
  activated(version: string): void;
}

export interface SimulatedOtaStats {
  /** Offer messages received (parsed or not). */
  readonly offers: number;
  /** Offer payloads that were not an offer (ignored, as a real terminal would). */
  readonly refused: number;
  /** Downloads completed (hash checked or not). */
  readonly downloads: number;
  /** Reports that could not be published. */
  readonly reportErrors: number;
}

export const DEFAULT_SIM_FIRMWARE_VERSION = 'SIM-MQTT-1.0.0';
/** Offers remembered for repeated offers; the oldest is forgotten first. */
const REMEMBERED_OFFERS = 16;

interface OfferState {
  readonly offer: OtaOfferMessage;
  last: OtaReportMessage;
}

export class SimulatedOta {
  #version: string;
  readonly #offers = new Map<string, OfferState>();
  #busy: string | undefined;
  #stats = { offers: 0, refused: 0, downloads: 0, reportErrors: 0 };

  constructor(private readonly link: OtaTerminalLink, private readonly o: SimulatedOtaOptions = {}) {
    this.#version = o.firmwareVersion ?? DEFAULT_SIM_FIRMWARE_VERSION;
  }

  get firmwareVersion(): string {
    return this.#version;
  }

  stats(): SimulatedOtaStats {
    return { ...this.#stats };
  }

  /** One message from the terminal's offer topic. */
  handle(payload: Buffer): void {
    this.#stats.offers += 1;
    const parsed = parseOtaOffer(this.link.terminalId, payload);
    if (!parsed.ok) {
      this.#stats.refused += 1;
      return;
    }
    const offer = parsed.offer;
    const known = this.#offers.get(offer.offerId);
    if (known !== undefined) {
      // A repeated offer: the station lost a report, or says "now" for an image held back.
      if (known.last.state === 'verified' && offer.activate === 'now') this.#activate(known);
      else if (this.#busy !== offer.offerId) void this.#report(known, known.last);
      return;
    }
    const state: OfferState = { offer, last: { offerId: offer.offerId, state: 'downloading', progress: 0 } };
    if (this.#busy !== undefined) {
      // Not remembered: the same offer again, once this terminal is free, is taken.
      void this.#report(state, { offerId: offer.offerId, state: 'failed', reason: `busy: offer ${this.#busy} is downloading` });
      return;
    }
    this.#remember(state);
    this.#busy = offer.offerId;
    void this.#install(state).finally(() => { this.#busy = undefined; });
  }

  async #install(s: OfferState): Promise<void> {
    const { offer } = s;
    await this.#report(s, { offerId: offer.offerId, state: 'downloading', progress: 0 });
    const fetched = await this.#fetch(s);
    this.#stats.downloads += typeof fetched === 'string' ? 0 : 1;
    if (typeof fetched === 'string') {
      await this.#report(s, { offerId: offer.offerId, state: 'failed', reason: fetched });
      return;
    }
    await this.#report(s, { offerId: offer.offerId, state: 'downloaded' });
    if (this.o.corruptHash === true) fetched[0] = (fetched[0] ?? 0) ^ 0xff;
    if (createHash('sha256').update(fetched).digest('hex') !== offer.sha256) {
      await this.#report(s, { offerId: offer.offerId, state: 'failed', reason: 'hash-mismatch' });
      return;
    }
    await this.#report(s, { offerId: offer.offerId, state: 'verified' });
    if (offer.activate === 'now') this.#activate(s);
  }

  /** The image, or the failure reason. */
  async #fetch(s: OfferState): Promise<Uint8Array | string> {
    const { offer } = s;
    const max = this.o.maxImageBytes ?? 16 * 1024 * 1024;
    if (offer.size > max) return `too-large: ${offer.size} bytes, this terminal takes ${max}`;
    if (this.o.failDownload === true) return 'download-failed: simulated network failure';
    try {
      const res = await fetch(offer.url, { signal: AbortSignal.timeout(this.o.downloadTimeoutMs ?? 30_000) });
      if (!res.ok || res.body === null) {
        await res.body?.cancel();
        return `download-failed: HTTP ${res.status}`;
      }
      const image = new Uint8Array(offer.size);
      const reader = res.body.getReader();
      let held = 0;
      let quarter = 0;
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        const chunk = next.value as Uint8Array; // undici types the body loosely; it yields bytes
        if (held + chunk.byteLength > offer.size) {
          await reader.cancel();
          return `size-mismatch: more than the offered ${offer.size} bytes`;
        }
        image.set(chunk, held);
        held += chunk.byteLength;
        // Progress at each quarter: enough to watch, bounded to three reports.
        const q = Math.floor((held * 4) / offer.size);
        if (q > quarter && q < 4) {
          quarter = q;
          await this.#report(s, { offerId: offer.offerId, state: 'downloading', progress: q * 25 });
        }
      }
      return held === offer.size ? image : `size-mismatch: ${held} of ${offer.size} bytes`;
    } catch (err) {
      return `download-failed: ${err instanceof Error ? err.name : 'error'}`;
    }
  }

  #activate(s: OfferState): void {
    this.#version = s.offer.version;
    void this.#report(s, { offerId: s.offer.offerId, state: 'activated', version: s.offer.version });
    this.link.activated(s.offer.version);
  }

  async #report(s: OfferState, report: OtaReportMessage): Promise<void> {
    s.last = report;
    try {
      await this.link.publish(otaReportTopic(this.link.prefix, this.link.terminalId), encodeOtaReport(this.link.terminalId, report));
    } catch {
      this.#stats.reportErrors += 1;
    }
  }

  #remember(s: OfferState): void {
    this.#offers.set(s.offer.offerId, s);
    if (this.#offers.size > REMEMBERED_OFFERS) {
      const oldest = this.#offers.keys().next();
      if (oldest.done !== true) this.#offers.delete(oldest.value);
    }
  }
}
