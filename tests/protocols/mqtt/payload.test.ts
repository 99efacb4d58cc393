import { describe, expect, it } from 'vitest';
import { deadLetterRecord, DEAD_LETTER_PAYLOAD_BYTES } from '../../../protocols/mqtt/deadLetter.js';
import type { PayloadErrorCode } from '../../../protocols/mqtt/errors.js';
import { encodeTelemetry, parseTelemetry, type TelemetryParseOptions } from '../../../protocols/mqtt/payload.js';
import { encodeStatus, parseStatus } from '../../../protocols/mqtt/status.js';
import { parseRfc3339 } from '../../../protocols/mqtt/timestamp.js';
import { isQuantity } from '../../../src/domain/quantity.js';

const receivedAt = Date.UTC(2024, 5, 1, 12, 0, 0);
const options: TelemetryParseOptions = { acceptQuantity: isQuantity, maxReadingsPerMessage: 10, maxPayloadBytes: 4096, receivedAt };

function parse(payload: unknown, opts: Partial<TelemetryParseOptions> = {}) {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(JSON.stringify(payload));
  return parseTelemetry('T1', bytes, { ...options, ...opts });
}

function expectError(result: ReturnType<typeof parse>, code: PayloadErrorCode, path?: string) {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(result.error.terminalId).toBe('T1');
  if (path !== undefined) expect(result.error.path).toBe(path);
}

describe('parseTelemetry', () => {
  it('turns plain and detailed values into readings with the message timestamp', () => {
    const result = parse({
      v: 1,
      ts: receivedAt - 60_000,
      meters: [{ address: '3', values: { 'power.active': 1.5, 'voltage.l1': { value: 230.1, unit: 'V', quality: 'suspect' } } }],
    });
    expect(result).toEqual({
      ok: true,
      readings: [
        { terminalId: 'T1', address: '3', quantity: 'power.active', value: 1.5, ts: receivedAt - 60_000 },
        { terminalId: 'T1', address: '3', quantity: 'voltage.l1', value: 230.1, unit: 'V', quality: 'suspect', ts: receivedAt - 60_000 },
      ],
    });
  });

  it('lets a meter timestamp override the message one, and a value timestamp override both', () => {
    const result = parse({
      v: 1,
      ts: '2024-06-01T11:00:00Z',
      meters: [
        { address: 'a', values: { frequency: 50 } },
        { address: 'b', ts: '2024-06-01T13:30:00+02:00', values: { frequency: 49.9, 'power.factor': { value: 0.95, ts: 1717239600123 } } },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.readings.map((r) => r.ts)).toEqual([Date.UTC(2024, 5, 1, 11), Date.UTC(2024, 5, 1, 11, 30), 1717239600123]);
  });

  it('passes a unit through unconverted (ingest converts W to kW)', () => {
    const result = parse({ v: 1, ts: receivedAt, meters: [{ address: '1', values: { 'power.active': { value: 1500, unit: 'W' } } }] });
    expect(result.ok && result.readings[0]?.unit).toBe('W');
  });

  it('accepts an empty meter list as a heartbeat with no readings', () => {
    expect(parse({ v: 1, ts: receivedAt, meters: [] })).toEqual({ ok: true, readings: [] });
  });

  it('round-trips what encodeTelemetry produces', () => {
    const bytes = encodeTelemetry({ ts: receivedAt, meters: [{ address: '9', values: { 'energy.active.import': 1234.5 } }] });
    expect(JSON.parse(bytes.toString())).toMatchObject({ v: 1 });
    expect(parseTelemetry('T1', bytes, options)).toEqual({
      ok: true,
      readings: [{ terminalId: 'T1', address: '9', quantity: 'energy.active.import', value: 1234.5, ts: receivedAt }],
    });
  });

  it('refuses a payload above maxPayloadBytes as TOO_LARGE before parsing it', () => {
    expectError(parse('{'.repeat(5000)), 'TOO_LARGE');
  });

  it('refuses text that is not JSON as INVALID_JSON', () => {
    expectError(parse('power=1.5'), 'INVALID_JSON');
  });

  it('refuses bytes that are not UTF-8 as INVALID_JSON', () => {
    expectError(parseTelemetry('T1', Buffer.from([0x7b, 0xff, 0x7d]), options), 'INVALID_JSON');
  });

  it('refuses another version as UNSUPPORTED_VERSION', () => {
    expectError(parse({ v: 2, ts: receivedAt, meters: [] }), 'UNSUPPORTED_VERSION', '$.v');
  });

  it.each([
    ['a JSON array', [], '$'],
    ['a missing ts', { v: 1, meters: [] }, '$.ts'],
    ['meters not an array', { v: 1, ts: receivedAt, meters: {} }, '$.meters'],
    ['a meter without address', { v: 1, ts: receivedAt, meters: [{ values: {} }] }, '$.meters[0].address'],
    ['a numeric address', { v: 1, ts: receivedAt, meters: [{ address: 7, values: {} }] }, '$.meters[0].address'],
    ['values as an array', { v: 1, ts: receivedAt, meters: [{ address: '1', values: [] }] }, '$.meters[0].values'],
    ['a string value', { v: 1, ts: receivedAt, meters: [{ address: '1', values: { frequency: '50' } }] }, '$.meters[0].values.frequency'],
    ['a bad quality', { v: 1, ts: receivedAt, meters: [{ address: '1', values: { frequency: { value: 50, quality: 'ok' } } }] }, '$.meters[0].values.frequency.quality'],
    ['a unit too long', { v: 1, ts: receivedAt, meters: [{ address: '1', values: { frequency: { value: 50, unit: 'x'.repeat(17) } } }] }, '$.meters[0].values.frequency.unit'],
    ['an unknown key', { v: 1, ts: receivedAt, meters: [{ address: '1', valuse: {} }] }, '$.meters[0].valuse'],
  ])('refuses %s as INVALID_SHAPE at the path of the problem', (_name, payload, path) => {
    expectError(parse(payload), 'INVALID_SHAPE', path);
  });

  it('names a dotted quantity in brackets in the path', () => {
    expectError(
      parse({ v: 1, ts: receivedAt, meters: [{ address: '1', values: { 'power.active': true } }] }),
      'INVALID_SHAPE',
      '$.meters[0].values["power.active"]',
    );
  });

  it('refuses a quantity outside the catalogue as UNKNOWN_QUANTITY', () => {
    expectError(parse({ v: 1, ts: receivedAt, meters: [{ address: '1', values: { 'power.apparent': 3 } }] }), 'UNKNOWN_QUANTITY', '$.meters[0].values["power.apparent"]');
  });

  it('refuses more readings than maxReadingsPerMessage as TOO_MANY_READINGS', () => {
    const values = Object.fromEntries(['voltage.l1', 'voltage.l2', 'voltage.l3'].map((q) => [q, 230]));
    const meters = [1, 2, 3, 4].map((a) => ({ address: String(a), values }));
    expectError(parse({ v: 1, ts: receivedAt, meters }), 'TOO_MANY_READINGS');
    expect(parse({ v: 1, ts: receivedAt, meters }, { maxReadingsPerMessage: 12 }).ok).toBe(true);
  });

  it.each([
    ['epoch seconds', 1717243200, '$.ts'],
    ['a local time without offset', '2024-06-01T12:00:00', '$.ts'],
    ['an impossible date', '2024-02-30T12:00:00Z', '$.ts'],
    ['a boolean', true, '$.ts'],
    ['a time two days ahead', receivedAt + 2 * 86_400_000, '$.ts'],
  ])('refuses %s as BAD_TIMESTAMP', (_name, ts, path) => {
    expectError(parse({ v: 1, ts, meters: [] }), 'BAD_TIMESTAMP', path);
  });

  it('refuses a bad meter timestamp at its path', () => {
    expectError(parse({ v: 1, ts: receivedAt, meters: [{ address: '1', ts: 'yesterday', values: {} }] }), 'BAD_TIMESTAMP', '$.meters[0].ts');
  });

  it('refuses null (a serialised NaN) and overflowing numbers as NON_FINITE_VALUE', () => {
    expectError(parse({ v: 1, ts: receivedAt, meters: [{ address: '1', values: { frequency: NaN } }] }), 'NON_FINITE_VALUE', '$.meters[0].values.frequency');
    expectError(parse(`{"v":1,"ts":${receivedAt},"meters":[{"address":"1","values":{"frequency":{"value":1e999}}}]}`), 'NON_FINITE_VALUE', '$.meters[0].values.frequency.value');
  });

  it('rejects the whole message when one value of many is bad', () => {
    const result = parse({ v: 1, ts: receivedAt, meters: [{ address: '1', values: { frequency: 50, 'voltage.l1': 230, 'voltage.l2': null } }] });
    expect(result.ok).toBe(false);
  });
});

describe('parseRfc3339', () => {
  it('reads offsets, fractions and the space separator', () => {
    expect(parseRfc3339('2024-06-01T12:00:00.123456Z')).toBe(Date.UTC(2024, 5, 1, 12, 0, 0, 123));
    expect(parseRfc3339('2024-06-01 14:00:00+02:00')).toBe(Date.UTC(2024, 5, 1, 12));
    expect(parseRfc3339('2024-06-01T07:30:00-04:30')).toBe(Date.UTC(2024, 5, 1, 12));
    expect(parseRfc3339('2024-06-01T12:00Z')).toBeNull();
  });
});

describe('parseStatus', () => {
  const statusOptions = { maxPayloadBytes: 1024, receivedAt };

  it('reads birth with a device timestamp and a last will without one', () => {
    expect(parseStatus('T1', encodeStatus(true, receivedAt - 5), statusOptions)).toEqual({ ok: true, status: { online: true, ts: receivedAt - 5 } });
    expect(parseStatus('T1', encodeStatus(false), statusOptions)).toEqual({ ok: true, status: { online: false, ts: receivedAt } });
  });

  it('treats an empty payload (a cleared retained status) as no status', () => {
    expect(parseStatus('T1', Buffer.alloc(0), statusOptions)).toEqual({ ok: true, status: null });
  });

  it('refuses a status without a boolean online flag', () => {
    const result = parseStatus('T1', Buffer.from('{"online":"yes"}'), statusOptions);
    expect(result.ok || result.error.code).toBe('INVALID_SHAPE');
  });
});

describe('deadLetterRecord', () => {
  it('keeps the first 4096 bytes of the payload and flags the truncation', () => {
    const payload = Buffer.alloc(DEAD_LETTER_PAYLOAD_BYTES + 10, 0x41);
    const record = deadLetterRecord({ topic: 't', terminalId: null, code: 'TOO_LARGE', reason: 'r', receivedAt, payload });
    expect(record.truncated).toBe(true);
    expect(Buffer.from(record.payloadBase64, 'base64').length).toBe(DEAD_LETTER_PAYLOAD_BYTES);
    expect(record.receivedAt).toBe('2024-06-01T12:00:00.000Z');
  });

  it('keeps a small payload whole', () => {
    const record = deadLetterRecord({ topic: 't', terminalId: 'T1', code: 'INVALID_JSON', reason: 'r', receivedAt, payload: Buffer.from('garbage') });
    expect(record).toMatchObject({ terminalId: 'T1', truncated: false, payloadBase64: Buffer.from('garbage').toString('base64') });
  });
});
