import { describe, expect, it } from 'vitest';
import {
  FeedMessageError, MAX_ROW_BYTES, decodeFeed, encodeFeed, feedFilter, feedTopic, maxFeedBytes, parseFeedTopic, type FeedDecode,
} from '../../../../src/cluster/feed/codec.js';
import { meterId, terminalId, type Reading } from '../../../../src/domain/index.js';

const limits = { maxReadings: 10 };

function reading(over: Partial<Reading> = {}): Reading {
  return {
    meterId: meterId('M-1'), quantity: 'power.active', value: 12.5, unit: 'kW', ts: 1_700_000_000_000, quality: 'good',
    source: { protocol: 'mqtt', terminalId: terminalId('T-1'), mode: 'push' }, ...over,
  };
}

function errorOf(d: FeedDecode): FeedMessageError {
  if (d.ok) throw new Error('decoded, expected an error');
  return d.error;
}

function raw(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc));
}

describe('cluster feed codec', () => {
  it('round-trips readings with their source, quality and the catalogue unit', () => {
    const readings = [
      reading(),
      reading({ meterId: meterId('M-2'), quantity: 'energy.active.import', value: 1234.5, unit: 'kWh', quality: 'suspect', source: { protocol: 'dlms', terminalId: terminalId('T-2'), mode: 'poll' } }),
    ];
    expect(decodeFeed(encodeFeed('node-a', readings), limits)).toEqual({ ok: true, message: { node: 'node-a', readings } });
  });

  it('puts each area on its own topic under the prefix, readings outside every area on _none, and parses them back', () => {
    expect(feedTopic('gridhead/v1', 'TA-7')).toBe('gridhead/v1/_cluster/readings/TA-7');
    expect(feedTopic('gridhead/v1', null)).toBe('gridhead/v1/_cluster/readings/_none');
    expect(feedFilter('gridhead/v1')).toBe('gridhead/v1/_cluster/readings/#');
    expect(parseFeedTopic('gridhead/v1', feedTopic('gridhead/v1', 'TA-7'))).toEqual({ ok: true, area: 'TA-7' });
    expect(parseFeedTopic('gridhead/v1', feedTopic('gridhead/v1', null))).toEqual({ ok: true, area: null });
  });

  it.each([
    ['another root', 'gridhead/v1/T-1/telemetry'],
    ['no area level', 'gridhead/v1/_cluster/readings/'],
    ['a level below the area', 'gridhead/v1/_cluster/readings/TA-7/x'],
  ])('refuses a topic with %s as FOREIGN_TOPIC', (_what, topic) => {
    const parsed = parseFeedTopic('gridhead/v1', topic);
    expect(parsed.ok ? undefined : parsed.error.code).toBe('FOREIGN_TOPIC');
  });

  it.each<[string, Uint8Array, string, string | undefined]>([
    ['not JSON', Buffer.from('{"v":1,'), 'INVALID_JSON', undefined],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'INVALID_JSON', undefined],
    ['an array', raw([1]), 'INVALID_SHAPE', ''],
    ['another version', raw({ v: 2, node: 'n', readings: [] }), 'UNSUPPORTED_VERSION', 'v'],
    ['no node', raw({ v: 1, readings: [] }), 'INVALID_SHAPE', 'node'],
    ['a node id with a slash', raw({ v: 1, node: 'a/b', readings: [] }), 'INVALID_SHAPE', 'node'],
    ['readings not an array', raw({ v: 1, node: 'n', readings: {} }), 'INVALID_SHAPE', 'readings'],
    ['a short row', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', 1, 1, 'good', 'mqtt']] }), 'INVALID_SHAPE', 'readings[0]'],
    ['an unknown quantity', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.apparent', 1, 1, 'good', 'mqtt', 'push']] }), 'UNKNOWN_QUANTITY', 'readings[0][2]'],
    ['a value that is not a number', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', '1', 1, 'good', 'mqtt', 'push']] }), 'INVALID_SHAPE', 'readings[0][3]'],
    ['a fractional time', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', 1, 1.5, 'good', 'mqtt', 'push']] }), 'INVALID_SHAPE', 'readings[0][4]'],
    ['an unknown quality', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', 1, 1, 'fine', 'mqtt', 'push']] }), 'INVALID_SHAPE', 'readings[0][5]'],
    ['an unknown protocol', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', 1, 1, 'good', 'iec104', 'push']] }), 'INVALID_SHAPE', 'readings[0][6]'],
    ['an unknown mode', raw({ v: 1, node: 'n', readings: [['M-1', 'T-1', 'power.active', 1, 1, 'good', 'mqtt', 'pull']] }), 'INVALID_SHAPE', 'readings[0][7]'],
  ])('refuses %s whole, with a typed error naming the place', (_what, payload, code, path) => {
    const err = errorOf(decodeFeed(payload, limits));
    expect(err).toBeInstanceOf(FeedMessageError);
    expect(err.code).toBe(code);
    expect(err.path).toBe(path);
  });

  it('refuses more readings than the limit, and a payload larger than the limit allows before parsing it', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => reading({ ts: i }));
    expect(errorOf(decodeFeed(encodeFeed('n', eleven), limits)).code).toBe('TOO_MANY_READINGS');
    expect(errorOf(decodeFeed(Buffer.alloc(maxFeedBytes(limits) + 1, 0x20), limits)).code).toBe('TOO_LARGE');
  });

  it('keeps a row of the longest ids and quantity name within the bytes per row the size limit allows', () => {
    const id = 'x'.repeat(64);
    const longest = reading({ meterId: meterId(id), quantity: 'energy.reactive.import', value: -1.234567890123456e-300, ts: Number.MAX_SAFE_INTEGER, quality: 'suspect', source: { protocol: 'modbus', terminalId: terminalId(id), mode: 'push' } });
    const one = encodeFeed(id, [longest]).length;
    const two = encodeFeed(id, [longest, longest]).length;
    expect(two - one).toBeLessThanOrEqual(MAX_ROW_BYTES);
    const full = Array.from({ length: limits.maxReadings }, () => longest);
    expect(decodeFeed(encodeFeed(id, full), limits).ok).toBe(true);
  });
});
