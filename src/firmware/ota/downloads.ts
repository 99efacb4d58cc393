/**
 * The download side of MQTT OTA (docs/mqtt-ota.md, "URL"): each offer gets its own random
 * token, the capability to GET one image from `GET /api/v1/firmware/ota/:token` until it
 * expires or the station has the offer's final report. A token serves any number of GETs in
 * that time, whole or one byte range each (byteRange.ts), so a terminal resumes a broken
 * download where it stopped; every GET holds a download slot while it is sent. Tokens, live
 * downloads and their lifetime are bounded (`firmware.ota.*`); the images come from a port, so
 * this registry neither stores nor knows where images live. It counts what it serves (`stats()`).
 */
import { randomBytes } from 'node:crypto';
import { selectBytes, type ByteSelection, type RangeRequest } from './byteRange.js';
import { OtaDownloadsBusy, OtaRangeNotSatisfiable, OtaTokensExhausted, OtaTokenUnknown } from './errors.js';

/** What a download sends: the image and its SHA-256 (lower-case hex), as the campaigns store them. */
export interface OtaImage {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

/** Reads an image by id (the campaigns' image store). */
export type OtaImageSource = (imageId: string) => Promise<OtaImage>;

export interface OtaDownloadsOptions {
  readonly source: OtaImageSource;
  /** Base of the offer URLs, e.g. `https://station.example`: a function, as a port of 0 is known only once the API listens. */
  readonly baseUrl: () => string;
  /** How long a granted URL works (`firmware.ota.tokenTtlMs`). */
  readonly tokenTtlMs: number;
  /** Unexpired tokens at most (`firmware.ota.maxTokens`). */
  readonly maxTokens: number;
  /** Images being sent at once, at most (`firmware.ota.maxConcurrentDownloads`): each holds its image in memory. */
  readonly maxConcurrentDownloads: number;
  /** Retry-After of a busy answer, seconds. Default 30. */
  readonly busyRetryAfterSec?: number;
  /** Station clock, ms epoch. Default `Date.now`. */
  readonly clock?: () => number;
}

/** A granted download: put `url` in the offer. */
export interface OtaGrant {
  readonly token: string;
  readonly url: string;
  /** ms epoch. */
  readonly expiresAt: number;
}

/** A response being sent: the whole image or one range of it. */
export interface OtaDownload {
  readonly sha256: string;
  /** The whole image's length in bytes. */
  readonly size: number;
  readonly selection: Exclude<ByteSelection, { kind: 'unsatisfiable' }>;
  /** The bytes to send: the image, or the selected range of it. */
  readonly body: Uint8Array;
  /** Ends the response (idempotent): frees its slot and counts `sent` bytes of `body`; all of them is a completed download. */
  readonly release: (sent: number) => void;
}

/** Why a GET got no image bytes. */
export type OtaRefusal = 'unknown_token' | 'busy' | 'range_not_satisfiable' | 'image_unavailable';

/** Responses by what they send: `whole` (200) or `range` (206). */
export interface OtaResponseCounts { readonly whole: number; readonly range: number }

export interface OtaDownloadStats {
  /** Responses that began sending image bytes. */
  readonly started: OtaResponseCounts;
  /** Of those, the ones sent to their last byte. */
  readonly completed: OtaResponseCounts;
  readonly refused: Readonly<Record<OtaRefusal, number>>;
  /** Image bytes handed to responses. */
  readonly bytesServed: number;
}

/** Where the route is served, under the station's base URL. */
export const OTA_DOWNLOAD_PATH = '/api/v1/firmware/ota/';

/** 32 random bytes, base64url (RFC 4648 §5): 43 characters, safe in a URL path. */
const TOKEN_BYTES = 32;

interface Entry {
  readonly offerId: string;
  readonly imageId: string;
  readonly expiresAt: number;
}

export class OtaDownloads {
  /** Insertion order is expiry order: every grant lives `tokenTtlMs`, and a re-grant moves to the end. */
  readonly #byToken = new Map<string, Entry>();
  readonly #tokenOfOffer = new Map<string, string>();
  readonly #clock: () => number;
  #active = 0;
  readonly #started = { whole: 0, range: 0 };
  readonly #completed = { whole: 0, range: 0 };
  readonly #refused: Record<OtaRefusal, number> = { unknown_token: 0, busy: 0, range_not_satisfiable: 0, image_unavailable: 0 };
  #bytesServed = 0;

  constructor(private readonly o: OtaDownloadsOptions) {
    this.#clock = o.clock ?? Date.now;
  }

  /** A fresh URL for `offerId`'s image; an earlier grant of the same offer stops working. Throws OtaTokensExhausted. */
  grant(offerId: string, imageId: string): OtaGrant {
    this.#sweep();
    this.revoke(offerId);
    if (this.#byToken.size >= this.o.maxTokens) throw new OtaTokensExhausted(this.o.maxTokens);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const expiresAt = this.#clock() + this.o.tokenTtlMs;
    this.#byToken.set(token, { offerId, imageId, expiresAt });
    this.#tokenOfOffer.set(offerId, token);
    return { token, url: `${this.o.baseUrl().replace(/\/+$/, '')}${OTA_DOWNLOAD_PATH}${token}`, expiresAt };
  }

  /** Ends `offerId`'s URL (the offer is done: verified, failed or abandoned). A download under way finishes. */
  revoke(offerId: string): void {
    const token = this.#tokenOfOffer.get(offerId);
    if (token === undefined) return;
    this.#tokenOfOffer.delete(offerId);
    this.#byToken.delete(token);
  }

  /**
   * The image behind `token`, whole or the range `request` asks for (RFC 9110 §14), holding one
   * download slot until released. The token stays valid: a later GET, e.g. to resume, works
   * until it expires or is revoked. Throws OtaTokenUnknown, OtaDownloadsBusy or OtaRangeNotSatisfiable.
   */
  async open(token: string, request: RangeRequest = {}): Promise<OtaDownload> {
    this.#sweep();
    const entry = this.#byToken.get(token);
    if (entry === undefined) this.#refuse('unknown_token', new OtaTokenUnknown());
    if (this.#active >= this.o.maxConcurrentDownloads) this.#refuse('busy', new OtaDownloadsBusy(this.o.maxConcurrentDownloads, this.o.busyRetryAfterSec ?? 30));
    this.#active += 1;
    let image: OtaImage;
    try {
      image = await this.o.source(entry.imageId);
    } catch (err) {
      this.#active -= 1;
      this.#refuse('image_unavailable', err);
    }
    const size = image.bytes.byteLength;
    const selection = selectBytes(request, size, `"${image.sha256}"`);
    if (selection.kind === 'unsatisfiable') {
      this.#active -= 1;
      this.#refuse('range_not_satisfiable', new OtaRangeNotSatisfiable(size));
    }
    const body = selection.kind === 'whole' ? image.bytes : image.bytes.subarray(selection.start, selection.end + 1);
    this.#started[selection.kind] += 1;
    let released = false;
    const release = (sent: number): void => {
      if (released) return;
      released = true;
      this.#active -= 1;
      this.#bytesServed += Math.min(Math.max(0, sent), body.byteLength);
      if (sent >= body.byteLength) this.#completed[selection.kind] += 1;
    };
    return { sha256: image.sha256, size, selection, body, release };
  }

  /** Unexpired tokens. */
  get live(): number {
    this.#sweep();
    return this.#byToken.size;
  }

  /** Downloads holding a slot. */
  get active(): number {
    return this.#active;
  }

  stats(): OtaDownloadStats {
    return { started: { ...this.#started }, completed: { ...this.#completed }, refused: { ...this.#refused }, bytesServed: this.#bytesServed };
  }

  #refuse(reason: OtaRefusal, err: unknown): never {
    this.#refused[reason] += 1;
    throw err;
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [token, entry] of this.#byToken) {
      if (entry.expiresAt > now) return;
      this.#byToken.delete(token);
      if (this.#tokenOfOffer.get(entry.offerId) === token) this.#tokenOfOffer.delete(entry.offerId);
    }
  }
}
