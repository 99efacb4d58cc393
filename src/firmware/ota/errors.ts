/**
 * Errors of the OTA image downloads (downloads.ts). Each has a stable `code`; the download
 * route answers with its `status` (problem+json, src/api/problem.ts).
 */
import { DomainError } from '../../domain/errors.js';

/** The token names no download: never issued, revoked, or expired. Deliberately one answer for all three. */
export class OtaTokenUnknown extends DomainError {
  readonly code = 'OTA_TOKEN_UNKNOWN';
  readonly status = 404;
  constructor() {
    super('no firmware download behind this URL (unknown or expired)');
  }
}

/** `firmware.ota.maxConcurrentDownloads` images are being sent; the terminal retries later. */
export class OtaDownloadsBusy extends DomainError {
  readonly code = 'OTA_DOWNLOADS_BUSY';
  readonly status = 503;
  constructor(readonly limit: number, readonly retryAfterSec: number) {
    super(`${limit} firmware downloads are already running; retry in ${retryAfterSec} s`);
  }
}

/** `firmware.ota.maxTokens` downloads are already granted and unexpired; the campaign offers again later. */
export class OtaTokensExhausted extends DomainError {
  readonly code = 'OTA_TOKENS_EXHAUSTED';
  readonly status = 503;
  constructor(readonly limit: number) {
    super(`${limit} firmware download tokens are already live`);
  }
}

/** RFC 9110 §15.5.17: the one range asked for starts past the image's end; the answer names the size (`Content-Range: bytes *\/size`). */
export class OtaRangeNotSatisfiable extends DomainError {
  readonly code = 'OTA_RANGE_NOT_SATISFIABLE';
  readonly status = 416;
  constructor(readonly size: number) {
    super(`the requested range is outside the ${size}-byte image`);
  }
}
