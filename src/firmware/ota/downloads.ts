/**
 * The download side of MQTT OTA (docs/mqtt-ota.md, "URL"): each offer gets its own random
 * token, the capability to GET one image from `GET /api/v1/firmware/ota/:token` until it
 * expires. Tokens, live downloads and their lifetime are bounded (`firmware.ota.*`); the
 * images come from a port, so this registry neither stores nor knows where images live.
 */
import { randomBytes } from 'node:crypto';
import { OtaDownloadsBusy, OtaTokensExhausted, OtaTokenUnknown } from './errors.js';

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

/** An image being sent; `release` frees its slot once the response is over (idempotent). */
export interface OtaDownload extends OtaImage {
  readonly release: () => void;
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

  /** The image behind `token`, holding one download slot until released. Throws OtaTokenUnknown or OtaDownloadsBusy. */
  async open(token: string): Promise<OtaDownload> {
    this.#sweep();
    const entry = this.#byToken.get(token);
    if (entry === undefined) throw new OtaTokenUnknown();
    if (this.#active >= this.o.maxConcurrentDownloads) throw new OtaDownloadsBusy(this.o.maxConcurrentDownloads, this.o.busyRetryAfterSec ?? 30);
    this.#active += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#active -= 1;
    };
    try {
      const image = await this.o.source(entry.imageId);
      return { bytes: image.bytes, sha256: image.sha256, release };
    } catch (err) {
      release();
      throw err;
    }
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

  #sweep(): void {
    const now = this.#clock();
    for (const [token, entry] of this.#byToken) {
      if (entry.expiresAt > now) return;
      this.#byToken.delete(token);
      if (this.#tokenOfOffer.get(entry.offerId) === token) this.#tokenOfOffer.delete(entry.offerId);
    }
  }
}
