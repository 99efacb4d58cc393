/**
 * The simulated MQTT terminal's side of the OTA convention (docs/mqtt-ota.md): takes an
 * offer, downloads the image over HTTP (bounded in size and time; a broken transfer resumes
 * from the bytes it holds with a Range request, a bounded number of times), checks its SHA-256,
 * reports every step, and switches to the new version on `activate: "now"`, either in the
 * offer itself or in a repeated offer of the same id. Only what a vendor's terminal would do;
 * the options make it fail the ways tests need.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeOtaReport, otaReportTopic, parseOtaOffer, type OtaOfferMessage, type OtaReportMessage } from '../../protocols/mqtt/ota.js';

export interface SimulatedOtaOptions {
  /** The firmware the terminal runs at start. Default `SIM-MQTT-1.0.0`. */
  readonly firmwareVersion?: string;
  /** Largest image it accepts. Default 16 MiB. */
  readonly maxImageBytes?: number;
  /** Longest download, connections and resumes included. Default 30 s. */
  readonly downloadTimeoutMs?: number;
  /** Times a broken transfer is resumed (or, before its first byte, tried again). Default 3. */
  readonly maxResumes?: number;
  /** Wait before the first resume, doubled before each next one. Default 1 s. */
  readonly resumeDelayMs?: number;
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
  /** Transfers taken up again after a broken one. */
  readonly resumes: number;
  /** Reports that could not be published. */
  readonly reportErrors: number;
}

export const DEFAULT_SIM_FIRMWARE_VERSION = 'SIM-MQTT-1.0.0';
/** Offers remembered for repeated offers; the oldest is forgotten first. */
const REMEMBERED_OFFERS = 16;
const DEFAULT_MAX_RESUMES = 3;
const DEFAULT_RESUME_DELAY_MS = 1_000;

/** Bytes of the image received so far, and the last progress quarter reported. */
interface Transfer {
  readonly image: Uint8Array;
  held: number;
  quarter: number;
}

/** How one GET ended: the image is whole, it broke off (resumable), or the download failed for good. */
type TransferEnd = { readonly kind: 'complete' } | { readonly kind: 'broken'; readonly why: string } | { readonly kind: 'failed'; readonly reason: string };

interface OfferState {
  readonly offer: OtaOfferMessage;
  last: OtaReportMessage;
}

export class SimulatedOta {
  #version: string;
  readonly #offers = new Map<string, OfferState>();
  #busy: string | undefined;
  #stats = { offers: 0, refused: 0, downloads: 0, resumes: 0, reportErrors: 0 };

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
    const signal = AbortSignal.timeout(this.o.downloadTimeoutMs ?? 30_000);
    const transfer: Transfer = { image: new Uint8Array(offer.size), held: 0, quarter: 0 };
    const maxResumes = this.o.maxResumes ?? DEFAULT_MAX_RESUMES;
    for (let resumes = 0; ; resumes += 1) {
      const end = await this.#transfer(s, transfer, signal);
      if (end.kind === 'complete') return transfer.image;
      if (end.kind === 'failed') return end.reason;
      if (resumes >= maxResumes || signal.aborted) return `download-failed: ${end.why}`;
      try {
        // Unref'd like the download's timeout: a stopped terminal's pending resume holds no process open.
        await sleep((this.o.resumeDelayMs ?? DEFAULT_RESUME_DELAY_MS) * 2 ** resumes, undefined, { signal, ref: false });
      } catch {
        return 'download-failed: TimeoutError';
      }
      this.#stats.resumes += 1;
    }
  }

  /**
   * One GET: from the start, or for the rest of the image once some of it arrived (RFC 9110
   * §14.2 Range, with If-Range on the offer's SHA-256, the route's ETag, so a changed image comes whole).
   */
  async #transfer(s: OfferState, t: Transfer, signal: AbortSignal): Promise<TransferEnd> {
    const { offer } = s;
    const headers: Record<string, string> = t.held === 0 ? {} : { range: `bytes=${t.held}-`, 'if-range': `"${offer.sha256}"` };
    try {
      const res = await fetch(offer.url, { signal, headers });
      if (res.status === 200) t.held = 0;
      else if (res.status !== 206 || res.headers.get('content-range') !== `bytes ${t.held}-${offer.size - 1}/${offer.size}`) {
        await res.body?.cancel();
        return { kind: 'failed', reason: `download-failed: HTTP ${res.status}${res.status === 206 ? ' with another range than asked' : ''}` };
      }
      if (res.body === null) return { kind: 'failed', reason: `download-failed: HTTP ${res.status} without a body` };
      const reader = res.body.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        const chunk = next.value as Uint8Array; // undici types the body loosely; it yields bytes
        if (t.held + chunk.byteLength > offer.size) {
          await reader.cancel();
          return { kind: 'failed', reason: `size-mismatch: more than the offered ${offer.size} bytes` };
        }
        t.image.set(chunk, t.held);
        t.held += chunk.byteLength;
        // Progress at each quarter: enough to watch, bounded to three reports.
        const q = Math.floor((t.held * 4) / offer.size);
        if (q > t.quarter && q < 4) {
          t.quarter = q;
          await this.#report(s, { offerId: offer.offerId, state: 'downloading', progress: q * 25 });
        }
      }
      return t.held === offer.size ? { kind: 'complete' } : { kind: 'failed', reason: `size-mismatch: ${t.held} of ${offer.size} bytes` };
    } catch (err) {
      return { kind: 'broken', why: err instanceof Error ? err.name : 'error' };
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
