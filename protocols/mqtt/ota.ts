/**
 * The MQTT OTA convention (docs/mqtt-ota.md): the station offers a firmware image on
 * `<prefix>/<terminalId>/ota/offer`, the terminal downloads it over HTTP(S) by the offer's
 * URL, checks its SHA-256, and reports each step on `<prefix>/<terminalId>/ota/report`. The
 * image itself never crosses the broker. Pure encoders and strict parsers, used by the
 * station's channel (src/firmware/ota) and the simulated terminal (simulators/mqtt/ota.ts).
 */
import { PayloadError, TopicError } from './errors.js';
import { checkKeys, decodeJson, isObject } from './payload.js';
import { isTerminalId, TERMINAL_ID_PATTERN } from './topics.js';

export const OTA_STATES = ['downloading', 'downloaded', 'verified', 'failed', 'activated'] as const;
export type OtaState = (typeof OTA_STATES)[number];

/** Station → terminal: what to fetch, how to check it, when to switch to it. */
export interface OtaOfferMessage {
  /** Correlation id: every report about this offer carries it back. */
  readonly offerId: string;
  /** Where to GET the image; a capability that expires (docs/mqtt-ota.md, "URL"). */
  readonly url: string;
  /** SHA-256 of the whole image, 64 lower-case hex digits. */
  readonly sha256: string;
  /** The image's length in bytes. */
  readonly size: number;
  /** The firmware version the terminal reports once the image is active. */
  readonly version: string;
  /** `now`: activate once verified; `later`: hold the verified image until an offer with the same id says `now`. */
  readonly activate: 'now' | 'later';
}

/** Terminal → station: one step of one offer. */
export interface OtaReportMessage {
  readonly offerId: string;
  readonly state: OtaState;
  /** Required with `activated`: the version now running. */
  readonly version?: string;
  /** Required with `failed`: `<code>` or `<code>: <detail>` (docs/mqtt-ota.md, "Failure reasons"). */
  readonly reason?: string;
  /** Only with `downloading`: percent of the image received, 0–100. */
  readonly progress?: number;
}

export type OtaTopicParse =
  | { readonly ok: true; readonly terminalId: string; readonly kind: 'offer' | 'report' }
  | { readonly ok: false; readonly error: TopicError };

export type OtaOfferParse = { readonly ok: true; readonly offer: OtaOfferMessage } | { readonly ok: false; readonly error: PayloadError };
export type OtaReportParse = { readonly ok: true; readonly report: OtaReportMessage } | { readonly ok: false; readonly error: PayloadError };

/** Offers and reports are a few hundred bytes; anything near this is not one. */
export const OTA_MAX_PAYLOAD_BYTES = 4096;
export const OFFER_ID_PATTERN = TERMINAL_ID_PATTERN;
export const MAX_URL_LENGTH = 2048;
/** IC 18 sizes an image as double-long-unsigned (Blue Book 4.4.6); the same ceiling here. */
export const MAX_IMAGE_SIZE = 0xffff_ffff;
export const MAX_REASON_LENGTH = 256;
/** Printable ASCII, 1–64 characters, no leading or trailing space. */
export const VERSION_PATTERN = /^[!-~](?:[ -~]{0,62}[!-~])?$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** No control characters (Unicode general category Cc): a reason is one line of text. */
const PRINTABLE = /^\P{Cc}+$/u;

export function otaOfferTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/ota/offer`;
}

export function otaReportTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/ota/report`;
}

/** The filter the station subscribes to for every terminal's reports. */
export function otaReportFilter(prefix: string): string {
  return `${prefix}/+/ota/report`;
}

/** Splits `<prefix>/<terminalId>/ota/<offer|report>`. */
export function parseOtaTopic(prefix: string, topic: string): OtaTopicParse {
  const head = `${prefix}/`;
  const levels = topic.startsWith(head) ? topic.slice(head.length).split('/') : [];
  const [terminalId, ota, kind] = levels;
  if (levels.length !== 3 || terminalId === undefined || ota !== 'ota' || kind === undefined) {
    return topicFail('FOREIGN_TOPIC', topic, `topic is not ${prefix}/<terminalId>/ota/<offer|report>`);
  }
  if (!isTerminalId(terminalId)) return topicFail('INVALID_TERMINAL_ID', topic, `terminal id must match ${TERMINAL_ID_PATTERN.source}`);
  if (kind !== 'offer' && kind !== 'report') return topicFail('UNKNOWN_KIND', topic, `OTA topic kind "${kind.slice(0, 32)}" is not offer or report`);
  return { ok: true, terminalId, kind };
}

/** The wire form of an offer; throws PayloadError for one a terminal would refuse, so the station never sends it. */
export function encodeOtaOffer(terminalId: string, offer: OtaOfferMessage): Buffer {
  const clean = readOffer(terminalId, offer);
  return Buffer.from(JSON.stringify(clean));
}

export function parseOtaOffer(terminalId: string, payload: Uint8Array): OtaOfferParse {
  return attempt(() => ({ ok: true as const, offer: readOffer(terminalId, decodeJson(terminalId, payload, OTA_MAX_PAYLOAD_BYTES)) }));
}

/** The wire form of a report; throws PayloadError for one the station would refuse. */
export function encodeOtaReport(terminalId: string, report: OtaReportMessage): Buffer {
  return Buffer.from(JSON.stringify(readReport(terminalId, report)));
}

export function parseOtaReport(terminalId: string, payload: Uint8Array): OtaReportParse {
  return attempt(() => ({ ok: true as const, report: readReport(terminalId, decodeJson(terminalId, payload, OTA_MAX_PAYLOAD_BYTES)) }));
}

function readOffer(terminalId: string, v: unknown): OtaOfferMessage {
  const shape = shaper(terminalId);
  if (!isObject(v)) return shape('offer must be a JSON object', '$');
  checkKeys(terminalId, v, ['offerId', 'url', 'sha256', 'size', 'version', 'activate'], '$');
  const offerId = readOfferId(terminalId, v.offerId);
  const { url, sha256, size, version, activate } = v;
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH || !isHttpUrl(url)) {
    return shape(`"url" must be an absolute http or https URL of at most ${MAX_URL_LENGTH} characters`, '$.url');
  }
  if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) return shape('"sha256" must be 64 lower-case hex digits', '$.sha256');
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_IMAGE_SIZE) {
    return shape(`"size" must be an integer of 1..${MAX_IMAGE_SIZE} bytes`, '$.size');
  }
  if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) return shape('"version" must be 1..64 printable ASCII characters', '$.version');
  if (activate !== 'now' && activate !== 'later') return shape('"activate" must be "now" or "later"', '$.activate');
  return { offerId, url, sha256, size, version, activate };
}

function readReport(terminalId: string, v: unknown): OtaReportMessage {
  const shape = shaper(terminalId);
  if (!isObject(v)) return shape('report must be a JSON object', '$');
  checkKeys(terminalId, v, ['offerId', 'state', 'version', 'reason', 'progress'], '$');
  const offerId = readOfferId(terminalId, v.offerId);
  const { state, version, reason, progress } = v;
  if (typeof state !== 'string' || !(OTA_STATES as readonly string[]).includes(state)) {
    return shape(`"state" must be one of ${OTA_STATES.join(', ')}`, '$.state');
  }
  if (version !== undefined && (typeof version !== 'string' || !VERSION_PATTERN.test(version))) {
    return shape('"version" must be 1..64 printable ASCII characters', '$.version');
  }
  if (state === 'activated' && version === undefined) return shape('"activated" must say the version now running', '$.version');
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH || !PRINTABLE.test(reason))) {
    return shape(`"reason" must be 1..${MAX_REASON_LENGTH} characters without control characters`, '$.reason');
  }
  if (state === 'failed' && reason === undefined) return shape('"failed" must give a reason', '$.reason');
  if (progress !== undefined) {
    if (state !== 'downloading') return shape('"progress" belongs to "downloading" only', '$.progress');
    if (typeof progress !== 'number' || !Number.isFinite(progress) || progress < 0 || progress > 100) return shape('"progress" must be a number of 0..100 (percent)', '$.progress');
  }
  return {
    offerId, state: state as OtaState,
    ...(version === undefined ? {} : { version }),
    ...(reason === undefined ? {} : { reason }),
    ...(progress === undefined ? {} : { progress }),
  };
}

function readOfferId(terminalId: string, offerId: unknown): string {
  if (typeof offerId !== 'string' || !OFFER_ID_PATTERN.test(offerId)) return shaper(terminalId)(`"offerId" must match ${OFFER_ID_PATTERN.source}`, '$.offerId');
  return offerId;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function shaper(terminalId: string): (message: string, path: string) => never {
  return (message, path) => {
    throw new PayloadError('INVALID_SHAPE', terminalId, message, path);
  };
}

function attempt<T>(read: () => T): T | { readonly ok: false; readonly error: PayloadError } {
  try {
    return read();
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, error: err };
    throw err;
  }
}

function topicFail(code: TopicError['code'], topic: string, message: string): OtaTopicParse {
  return { ok: false, error: new TopicError(code, topic, message) };
}
