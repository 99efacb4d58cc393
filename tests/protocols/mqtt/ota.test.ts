import { describe, expect, it } from 'vitest';
import {
  encodeOtaOffer, encodeOtaReport, OTA_MAX_PAYLOAD_BYTES, otaOfferTopic, otaReportFilter, otaReportTopic, parseOtaOffer, parseOtaReport, parseOtaTopic,
  type OtaOfferMessage,
} from '../../../protocols/mqtt/ota.js';
import { PayloadError } from '../../../protocols/mqtt/errors.js';
import { encodeStatus, parseStatus } from '../../../protocols/mqtt/status.js';

const prefix = 'gridhead/v1';
const offer: OtaOfferMessage = {
  offerId: 'c7-T1-1', url: 'https://headend.example.net/api/v1/firmware/ota/abc', sha256: 'a'.repeat(64), size: 1024, version: 'TRM-2.4.1', activate: 'now',
};
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('OTA topics', () => {
  it('names the offer and report topics under the terminal, and the filter of every report', () => {
    expect(otaOfferTopic(prefix, 'T1')).toBe('gridhead/v1/T1/ota/offer');
    expect(otaReportTopic(prefix, 'T1')).toBe('gridhead/v1/T1/ota/report');
    expect(otaReportFilter(prefix)).toBe('gridhead/v1/+/ota/report');
    expect(parseOtaTopic(prefix, 'gridhead/v1/T-0042/ota/report')).toEqual({ ok: true, terminalId: 'T-0042', kind: 'report' });
    expect(parseOtaTopic(prefix, 'gridhead/v1/T-0042/ota/offer')).toEqual({ ok: true, terminalId: 'T-0042', kind: 'offer' });
  });

  it.each([
    ['another prefix', 'other/v1/T1/ota/report', 'FOREIGN_TOPIC'],
    ['telemetry', 'gridhead/v1/T1/telemetry', 'FOREIGN_TOPIC'],
    ['a level too many', 'gridhead/v1/T1/ota/report/x', 'FOREIGN_TOPIC'],
    ['a level other than ota', 'gridhead/v1/T1/fw/report', 'FOREIGN_TOPIC'],
    ['a bad terminal id', 'gridhead/v1/-T1/ota/report', 'INVALID_TERMINAL_ID'],
    ['an unknown kind', 'gridhead/v1/T1/ota/status', 'UNKNOWN_KIND'],
  ])('refuses %s', (_what, topic, code) => {
    const parsed = parseOtaTopic(prefix, topic);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe(code);
  });
});

describe('OTA offer', () => {
  it('round-trips what encodeOtaOffer writes', () => {
    expect(parseOtaOffer('T1', encodeOtaOffer('T1', offer))).toEqual({ ok: true, offer });
    expect(parseOtaOffer('T1', encodeOtaOffer('T1', { ...offer, activate: 'later', url: 'http://10.0.0.1:8080/x' }))).toMatchObject({ ok: true, offer: { activate: 'later' } });
  });

  it.each([
    ['a URL that is not http', { ...offer, url: 'ftp://host/image' }, '$.url'],
    ['a relative URL', { ...offer, url: '/api/v1/firmware/ota/abc' }, '$.url'],
    ['an over-long URL', { ...offer, url: `https://h/${'a'.repeat(2048)}` }, '$.url'],
    ['an upper-case hash', { ...offer, sha256: 'A'.repeat(64) }, '$.sha256'],
    ['a short hash', { ...offer, sha256: 'a'.repeat(63) }, '$.sha256'],
    ['a size of 0', { ...offer, size: 0 }, '$.size'],
    ['a fractional size', { ...offer, size: 1.5 }, '$.size'],
    ['a size beyond 32 bits', { ...offer, size: 2 ** 32 }, '$.size'],
    ['a version with a control character', { ...offer, version: 'v1\n' }, '$.version'],
    ['an activation other than now or later', { ...offer, activate: 'tonight' }, '$.activate'],
    ['an offer id with a slash', { ...offer, offerId: 'a/b' }, '$.offerId'],
    ['an extra key', { ...offer, signature: 'x' }, '$.signature'],
  ])('refuses %s, and never encodes it', (_what, value, path) => {
    const parsed = parseOtaOffer('T1', bytes(value));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect([parsed.error.code, parsed.error.path]).toEqual(['INVALID_SHAPE', path]);
    expect(() => encodeOtaOffer('T1', value as OtaOfferMessage)).toThrow(PayloadError);
  });
});

describe('OTA report', () => {
  it('parses each state with the fields it allows', () => {
    expect(parseOtaReport('T1', bytes({ offerId: 'o1', state: 'downloading', progress: 25 }))).toEqual({ ok: true, report: { offerId: 'o1', state: 'downloading', progress: 25 } });
    expect(parseOtaReport('T1', bytes({ offerId: 'o1', state: 'verified' }))).toEqual({ ok: true, report: { offerId: 'o1', state: 'verified' } });
    expect(parseOtaReport('T1', bytes({ offerId: 'o1', state: 'failed', reason: 'download-failed: HTTP 404' }))).toEqual({ ok: true, report: { offerId: 'o1', state: 'failed', reason: 'download-failed: HTTP 404' } });
    expect(parseOtaReport('T1', encodeOtaReport('T1', { offerId: 'o1', state: 'activated', version: 'TRM-2.4.1' }))).toEqual({ ok: true, report: { offerId: 'o1', state: 'activated', version: 'TRM-2.4.1' } });
  });

  it.each([
    ['not JSON', '{"offerId":', 'INVALID_JSON', undefined],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'INVALID_JSON', undefined],
    ['an array', [], 'INVALID_SHAPE', '$'],
    ['an unknown state', { offerId: 'o1', state: 'installing' }, 'INVALID_SHAPE', '$.state'],
    ['a state of another case', { offerId: 'o1', state: 'Verified' }, 'INVALID_SHAPE', '$.state'],
    ['no offer id', { state: 'verified' }, 'INVALID_SHAPE', '$.offerId'],
    ['failed without a reason', { offerId: 'o1', state: 'failed' }, 'INVALID_SHAPE', '$.reason'],
    ['activated without the version', { offerId: 'o1', state: 'activated' }, 'INVALID_SHAPE', '$.version'],
    ['progress on another state', { offerId: 'o1', state: 'verified', progress: 100 }, 'INVALID_SHAPE', '$.progress'],
    ['progress above 100', { offerId: 'o1', state: 'downloading', progress: 101 }, 'INVALID_SHAPE', '$.progress'],
    ['a reason with a newline', { offerId: 'o1', state: 'failed', reason: 'a\nb' }, 'INVALID_SHAPE', '$.reason'],
    ['an over-long reason', { offerId: 'o1', state: 'failed', reason: 'x'.repeat(257) }, 'INVALID_SHAPE', '$.reason'],
    ['an extra key', { offerId: 'o1', state: 'verified', ts: 1 }, 'INVALID_SHAPE', '$.ts'],
    ['an oversize payload', { offerId: 'o1', state: 'failed', reason: 'x', pad: ' '.repeat(OTA_MAX_PAYLOAD_BYTES) }, 'TOO_LARGE', undefined],
  ])('refuses %s', (_what, value, code, path) => {
    const parsed = parseOtaReport('T1', Buffer.isBuffer(value) ? value : bytes(value));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect([parsed.error.code, parsed.error.path]).toEqual([code, path]);
  });

  it('refuses to encode a report the station would refuse', () => {
    expect(() => encodeOtaReport('T1', { offerId: 'o1', state: 'failed' })).toThrow(/must give a reason/);
  });
});

describe('status with the firmware version', () => {
  const options = { maxPayloadBytes: 4096, receivedAt: Date.UTC(2024, 5, 1) };
  it('carries firmwareVersion through the birth and refuses a malformed one', () => {
    expect(parseStatus('T1', encodeStatus(true, options.receivedAt, 'TRM-2.4.1'), options)).toEqual({ ok: true, status: { online: true, ts: options.receivedAt, firmwareVersion: 'TRM-2.4.1' } });
    expect(parseStatus('T1', encodeStatus(false), options)).toEqual({ ok: true, status: { online: false, ts: options.receivedAt } });
    const bad = parseStatus('T1', bytes({ online: true, firmwareVersion: 7 }), options);
    expect(bad.ok ? undefined : bad.error.path).toBe('$.firmwareVersion');
  });
});
