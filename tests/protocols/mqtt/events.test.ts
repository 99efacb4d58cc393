import { describe, expect, it } from 'vitest';
import { encodeEvents, parseEvents } from '../../../protocols/mqtt/events.js';

const now = Date.UTC(2024, 5, 1, 12);
const options = { maxPayloadBytes: 4096, maxEventsPerMessage: 3, receivedAt: now };
const parse = (value: unknown) => parseEvents('T1', Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), options);

describe('events payload', () => {
  it('parses events with optional timestamps (epoch ms or RFC 3339) and detail', () => {
    const parsed = parse({ events: [
      { meter: '1', code: 'cover-open', ts: '2024-06-01T11:59:00Z' },
      { meter: '7', code: 'relay-disconnected', ts: now - 5, detail: 'button' },
      { meter: '7', code: 'vendor.code_42' },
    ] });
    expect(parsed).toEqual({ ok: true, events: [
      { terminalId: 'T1', address: '1', code: 'cover-open', ts: now - 60_000 },
      { terminalId: 'T1', address: '7', code: 'relay-disconnected', ts: now - 5, detail: 'button' },
      { terminalId: 'T1', address: '7', code: 'vendor.code_42' },
    ] });
  });

  it('round-trips what encodeEvents writes', () => {
    const payload = encodeEvents({ events: [{ meter: '3', code: 'power-down', ts: now }] });
    expect(parseEvents('T1', payload, options)).toEqual({ ok: true, events: [{ terminalId: 'T1', address: '3', code: 'power-down', ts: now }] });
  });

  it.each([
    ['not JSON', '{events', 'INVALID_JSON'],
    ['an array at the top', [], 'INVALID_SHAPE'],
    ['a version other than 1', { v: 2, events: [] }, 'UNSUPPORTED_VERSION'],
    ['an unknown top-level key', { events: [], extra: 1 }, 'INVALID_SHAPE'],
    ['events not an array', { events: {} }, 'INVALID_SHAPE'],
    ['an event without meter', { events: [{ code: 'power-up' }] }, 'INVALID_SHAPE'],
    ['a code with spaces', { events: [{ meter: '1', code: 'Power Up' }] }, 'INVALID_SHAPE'],
    ['a typo in a key', { events: [{ meter: '1', code: 'power-up', tss: now }] }, 'INVALID_SHAPE'],
    ['epoch seconds', { events: [{ meter: '1', code: 'power-up', ts: 1_717_243_200 }] }, 'BAD_TIMESTAMP'],
    ['a detail that is not text', { events: [{ meter: '1', code: 'power-up', detail: 5 }] }, 'INVALID_SHAPE'],
    ['too many events', { events: Array.from({ length: 4 }, () => ({ meter: '1', code: 'power-up' })) }, 'TOO_MANY_EVENTS'],
  ])('refuses %s', (_what, value, code) => {
    const parsed = parse(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe(code);
  });

  it('names the JSON path of the first problem', () => {
    const parsed = parse({ events: [{ meter: '1', code: 'power-up' }, { meter: '', code: 'power-up' }] });
    expect(parsed.ok ? '' : parsed.error.message).toMatch(/at \$\.events\[1\]\.meter$/);
  });
});
