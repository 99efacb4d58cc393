/**
 * `firmware.ota`: the MQTT OTA convention's station side (docs/mqtt-ota.md), read by
 * src/firmware/ota. Where offered images are downloaded from, how long an offer's URL works,
 * and how much is in flight at once.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';

export const FirmwareOtaConfig = Type.Object(
  {
    /**
     * The station's URL as terminals reach it (scheme, host, port, path prefix of a reverse
     * proxy), e.g. `https://headend.example.net`. Offer URLs are `<baseUrl>/api/v1/firmware/ota/<token>`.
     * Absent: the HTTP API's listen address, which terminals reach only when `http.host` is an
     * address they can route to (not 0.0.0.0, not 127.0.0.1 outside tests).
     */
    baseUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 1024 })),
    /** How long an offer's download URL works; a terminal that starts later is offered again. */
    tokenTtlMs: Type.Integer({ minimum: 60_000, maximum: 7 * 86_400_000, default: 6 * 3_600_000 }),
    /** Unexpired download tokens at most; one more offer is refused until some expire or end. */
    maxTokens: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100_000 }),
    /** Images being sent at once; each holds its image in memory, a further terminal gets 503 with Retry-After. */
    maxConcurrentDownloads: Type.Integer({ minimum: 1, maximum: 10_000, default: 16 }),
    /** Retry-After of that 503, seconds. */
    busyRetryAfterSec: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
    /** Longest wait for the broker to acknowledge an offer. */
    publishTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    /** Offers awaiting the broker's acknowledgement at once, at most. */
    maxPendingOffers: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
  },
  { ...strict, default: {} },
);

export type FirmwareOtaConfig = Static<typeof FirmwareOtaConfig>;

/** Where offer URLs start: `baseUrl`, else the URL the HTTP API listens on (known once it listens). */
export function otaBaseUrl(ota: Pick<FirmwareOtaConfig, 'baseUrl'>, apiListenUrl: string): string {
  return ota.baseUrl ?? apiListenUrl;
}
