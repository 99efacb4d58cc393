import { describe, expect, it } from 'vitest';
import { conformance } from '../../../../protocols/dlms/acse/conformance.js';
import type { Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { profileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import { encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { encodeCosemDateTime, epochMsToCosemDateTime } from '../../../../protocols/dlms/axdr/dateTime.js';
import { NotNegotiated, TransferLimitExceeded, UnexpectedResponse } from '../../../../protocols/dlms/client/errors.js';
import { hex, ln, toHex } from '../apdu/helpers.js';
import { aareAccepted, answerData, connect, invokeOf, type Step } from './scriptedServer.js';

const ENERGY = { classId: 3, obis: '1.0.1.8.0.255', attribute: 2 };
const LONG_VALUE: DlmsData = { type: 'array', value: Array.from({ length: 40 }, (_, i) => ({ type: 'long-unsigned', value: i * 1000 })) };

/** Answers a GET with `raw` cut into `n` datablocks, acknowledging each GET-Request-Next. */
function blocks(raw: Uint8Array, n: number, numbering: (i: number) => number = (i) => i + 1): Step[] {
  const size = Math.ceil(raw.length / n);
  return Array.from({ length: n }, (_, i): Step => (req) => ({
    type: 'get-response-with-datablock',
    invoke: invokeOf(req),
    lastBlock: i === n - 1,
    blockNumber: numbering(i),
    block: { ok: true, rawData: raw.subarray(i * size, (i + 1) * size) },
  }));
}

describe('DlmsClient GET', () => {
  it('sends GET-Request-Normal and returns the value', async () => {
    const { client, server } = await connect([answerData({ type: 'double-long-unsigned', value: 123456 })]);

    const result = await client.get(ENERGY);

    expect(result).toEqual({ ok: true, value: { type: 'double-long-unsigned', value: 123456 } });
    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex(
      'C0 01', //              get-request, normal
      'C1', //                 invoke-id 1, confirmed, high priority
      '00 03', //              class-id 3 (Register)
      '01 00 01 08 00 FF', //  logical name 1.0.1.8.0.255
      '02', //                 attribute 2 (value)
      '00', //                 no selective access
    )));
  });

  it('returns a refused attribute as its data-access-result name', async () => {
    const { client } = await connect([(req) => ({ type: 'get-response-normal', invoke: invokeOf(req), result: { ok: false, result: 'object-undefined' } })]);
    expect(await client.get(ENERGY)).toEqual({ ok: false, error: 'object-undefined' });
    expect(client.state).toBe('associated');
  });

  it('fetches a long value in three blocks, acknowledging each with GET-Request-Next', async () => {
    const raw = encodeData(LONG_VALUE);
    const { client, server } = await connect(blocks(raw, 3));

    expect(await client.get(ENERGY)).toEqual({ ok: true, value: LONG_VALUE });

    const [first, next1, next2] = server.requests.slice(1);
    expect(next1).toEqual({ type: 'get-request-next', invoke: invokeOf(first!), blockNumber: 1 });
    expect(next2).toEqual({ type: 'get-request-next', invoke: invokeOf(first!), blockNumber: 2 });
    // Green Book §9.4.6.4: GET-Request-Next names the last block received.
    expect(toHex(server.rawRequests[2]!)).toBe(toHex(hex('C0 02 C1 00 00 00 01')));
  });

  it('refuses a block out of sequence and breaks the association', async () => {
    const raw = encodeData(LONG_VALUE);
    const { client } = await connect(blocks(raw, 3, (i) => (i === 1 ? 3 : i + 1)));

    const e = await client.get(ENERGY).catch((x: unknown) => x);

    expect(e).toBeInstanceOf(UnexpectedResponse);
    expect((e as UnexpectedResponse).reason).toBe('block-number');
    expect(client.state).toBe('broken');
  });

  it('stops a long GET once it collects more octets than allowed', async () => {
    const raw = encodeData(LONG_VALUE);
    const { client } = await connect(blocks(raw, 3), { maxLongGetBytes: raw.length - 1 });
    const e = await client.get(ENERGY).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransferLimitExceeded);
    expect((e as TransferLimitExceeded).limit).toBe('maxLongGetBytes');
  });

  it('stops a long GET that takes more blocks than allowed', async () => {
    const { client, server } = await connect(blocks(encodeData(LONG_VALUE), 3), { maxBlocks: 2 });
    const e = await client.get(ENERGY).catch((x: unknown) => x);
    expect((e as TransferLimitExceeded).limit).toBe('maxBlocks');
    expect(server.requests).toHaveLength(4);
  });

  it('returns the result a server ends a long GET with', async () => {
    const raw = encodeData(LONG_VALUE);
    const { client } = await connect([
      ...blocks(raw, 3).slice(0, 1),
      (req) => ({ type: 'get-response-with-datablock', invoke: invokeOf(req), lastBlock: true, blockNumber: 2, block: { ok: false, result: 'long-get-aborted' } }),
    ]);
    expect(await client.get(ENERGY)).toEqual({ ok: false, error: 'long-get-aborted' });
  });

  it('encodes a profile range read exactly as IEC 62056-6-2 defines range_descriptor', async () => {
    const { client, server } = await connect([answerData({ type: 'array', value: [] })]);
    const bound = (iso: string): DlmsData => ({ type: 'octet-string', value: encodeCosemDateTime({ ...epochMsToCosemDateTime(Date.parse(iso), 0), clockStatus: undefined }) });
    const access = profileSelectiveAccess({
      kind: 'range',
      restrictingObject: { classId: 8, logicalName: ln('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
      from: bound('2024-01-01T00:00:00Z'),
      to: bound('2024-01-01T01:00:00Z'),
      selectedValues: [],
    });

    await client.get({ classId: 7, obis: '1.0.99.1.0.255', attribute: 2 }, access);

    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex(
      'C0 01 C1', //                        get-request-normal, invoke-id 1, high priority
      '00 07 01 00 63 01 00 FF 02', //      Profile Generic 1.0.99.1.0.255, attribute 2 (buffer)
      '01 01', //                           access-selection present, selector 1 (range_descriptor)
      '02 04', //                           structure of 4
      '02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00', // restricting_object: {8, 0.0.1.0.0.255, 2, 0}
      '09 0C 07 E8 01 01 01 00 00 00 00 00 00 FF', //        from: 2024-01-01 Mon 00:00:00.00, deviation 0, status n/s
      '09 0C 07 E8 01 01 01 01 00 00 00 00 00 FF', //        to:   2024-01-01 Mon 01:00:00.00
      '01 00', //                                            selected_values: empty array (all columns)
    )));
  });

  it('refuses selective access the association did not negotiate', async () => {
    const { client, server } = await connect([], {}, aareAccepted(conformance('get')));
    const access = profileSelectiveAccess({ kind: 'entry', fromEntry: 1, toEntry: 0, fromSelectedValue: 1, toSelectedValue: 0 });
    await expect(client.get(ENERGY, access)).rejects.toBeInstanceOf(NotNegotiated);
    expect(server.requests).toHaveLength(1);
    expect(client.state).toBe('associated');
  });
});

describe('DlmsClient GET-with-list', () => {
  const refs = ['1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.32.7.0.255'].map((obis) => ({ classId: 3, obis, attribute: 2 }));

  it('reads several attributes in one request with a result per item', async () => {
    const { client, server } = await connect([(req) => ({
      type: 'get-response-with-list',
      invoke: invokeOf(req),
      results: [{ ok: true, data: { type: 'unsigned', value: 1 } }, { ok: false, result: 'read-write-denied' }, { ok: true, data: { type: 'unsigned', value: 3 } }],
    })]);

    const results = await client.getList(refs);

    expect(results).toEqual([
      { ok: true, value: { type: 'unsigned', value: 1 } }, { ok: false, error: 'read-write-denied' }, { ok: true, value: { type: 'unsigned', value: 3 } },
    ]);
    expect(toHex(server.rawRequests[1]!).startsWith(toHex(hex('C0 03 C1 03 00 03 01 00 01 08 00 FF 02 00')))).toBe(true);
  });

  it('splits a long list by maxListItems and sends a lone item as a normal GET', async () => {
    const list: Step = (req) => ({
      type: 'get-response-with-list', invoke: invokeOf(req),
      results: req.type === 'get-request-with-list' ? req.attributes.map(() => ({ ok: true, data: { type: 'null-data' } })) : [],
    });
    const { client, server } = await connect([list, list, answerData({ type: 'null-data' })], { maxListItems: 2 });

    const results = await client.getList([...refs, ...refs.slice(0, 2)]);

    expect(results).toHaveLength(5);
    expect(server.requests.slice(1).map((r) => (r.type === 'get-request-with-list' ? r.attributes.length : r.type)))
      .toEqual([2, 2, 'get-request-normal']);
  });

  it('keeps each request within the server max PDU size', async () => {
    const list: Step = (req) => ({
      type: 'get-response-with-list', invoke: invokeOf(req),
      results: req.type === 'get-request-with-list' ? req.attributes.map(() => ({ ok: true, data: { type: 'null-data' } })) : [],
    });
    // 3 head + 1 count + 10 per item: 34 octets hold 3 items, not 4.
    const { client, server } = await connect([list, list], { maxListItems: 32 }, aareAccepted(undefined, 34));
    await client.getList([...refs, ...refs]);
    expect(server.rawRequests.slice(1).map((r) => r.length)).toEqual([34, 34]);
  });

  it('reassembles a with-list answer sent in datablocks', async () => {
    const results = hex('03', '00 11 01', '01 04', '00 12 00 02');
    const { client } = await connect(blocks(results, 2));
    expect(await client.getList(refs)).toEqual([
      { ok: true, value: { type: 'unsigned', value: 1 } }, { ok: false, error: 'object-undefined' }, { ok: true, value: { type: 'long-unsigned', value: 2 } },
    ]);
  });

  it('breaks the association when the server answers with the wrong number of results', async () => {
    const { client } = await connect([(req) => ({ type: 'get-response-with-list', invoke: invokeOf(req), results: [{ ok: false, result: 'other-reason' }] })]);
    const e = await client.getList(refs).catch((x: unknown) => x);
    expect((e as UnexpectedResponse).reason).toBe('list-length');
    expect(client.state).toBe('broken');
  });

  it('falls back to one GET per item without multiple-references', async () => {
    const { client, server } = await connect([1, 2, 3].map((v) => answerData({ type: 'unsigned', value: v })), {},
      aareAccepted(conformance('get', 'set', 'action')));
    const results = await client.getList(refs);
    expect(results.map((r) => r.ok && r.value)).toEqual([1, 2, 3].map((value) => ({ type: 'unsigned', value })));
    expect(server.requests.slice(1).every((r) => r.type === 'get-request-normal')).toBe(true);
  });
});

describe('DlmsClient SET and ACTION', () => {
  it('sends SET-Request-Normal', async () => {
    const { client, server } = await connect([(req) => ({ type: 'set-response-normal', invoke: invokeOf(req), result: 'success' })]);
    expect(await client.set({ classId: 71, obis: '0.0.17.0.0.255', attribute: 4 }, { type: 'double-long-unsigned', value: 5000 })).toEqual({ ok: true });
    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex(
      'C1 01 C1', //                      set-request-normal, invoke-id 1
      '00 47 00 00 11 00 00 FF 04', //    Limiter 0.0.17.0.0.255, attribute 4 (threshold_normal)
      '00', //                            no selective access
      '06 00 00 13 88', //                double-long-unsigned 5000
    )));
  });

  it('sends a value larger than the server PDU in numbered blocks', async () => {
    const value: DlmsData = { type: 'octet-string', value: Uint8Array.from({ length: 200 }, (_, i) => i) };
    const ack: Step = (req) => {
      if (req.type !== 'set-request-with-first-datablock' && req.type !== 'set-request-with-datablock') throw new Error(req.type);
      return req.block.lastBlock
        ? { type: 'set-response-last-datablock', invoke: invokeOf(req), result: 'success', blockNumber: req.block.blockNumber }
        : { type: 'set-response-datablock', invoke: invokeOf(req), blockNumber: req.block.blockNumber };
    };
    const { client, server } = await connect([], {}, aareAccepted(undefined, 64), ack);

    expect(await client.set({ classId: 1, obis: '0.0.96.1.0.255', attribute: 2 }, value)).toEqual({ ok: true });

    const sent = server.requests.slice(1);
    expect(sent[0]?.type).toBe('set-request-with-first-datablock');
    expect(sent.slice(1).every((r) => r.type === 'set-request-with-datablock')).toBe(true);
    expect(server.rawRequests.slice(1).every((r) => r.length <= 64)).toBe(true);
    const blocksSent = sent.map((r) => (r.type === 'set-request-with-first-datablock' || r.type === 'set-request-with-datablock' ? r.block : undefined));
    expect(blocksSent.map((b) => b?.blockNumber)).toEqual(sent.map((_, i) => i + 1));
    expect(blocksSent.map((b) => b?.lastBlock)).toEqual(sent.map((_, i) => i === sent.length - 1));
    expect(Buffer.concat(blocksSent.map((b) => b?.rawData ?? new Uint8Array()))).toEqual(Buffer.from(encodeData(value)));
    expect(new Set(sent.map((r) => invokeOf(r).invokeId)).size).toBe(1);
  });

  it('returns the result a server ends a long SET with', async () => {
    const value: DlmsData = { type: 'octet-string', value: new Uint8Array(200) };
    const { client } = await connect([
      (req) => ({ type: 'set-response-datablock', invoke: invokeOf(req), blockNumber: 1 }),
      (req) => ({ type: 'set-response-last-datablock', invoke: invokeOf(req), result: 'long-set-aborted', blockNumber: 2 }),
    ], {}, aareAccepted(undefined, 64));
    expect(await client.set({ classId: 1, obis: '0.0.96.1.0.255', attribute: 2 }, value)).toEqual({ ok: false, error: 'long-set-aborted' });
  });

  it('invokes a method with parameters and reads the result', async () => {
    const { client, server } = await connect([(req): Apdu => ({ type: 'action-response-normal', invoke: invokeOf(req), response: { result: 'success' } })]);
    expect(await client.action({ classId: 70, obis: '0.0.96.3.10.255', method: 1 }, { type: 'integer', value: 0 })).toEqual({ ok: true });
    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex(
      'C3 01 C1', //                      action-request-normal, invoke-id 1
      '00 46 00 00 60 03 0A FF 01', //    Disconnect Control 0.0.96.3.10.255, method 1 (remote_disconnect)
      '01 0F 00', //                      parameters present: integer 0
    )));
  });

  it('returns a refused method as its action-result and return data when sent', async () => {
    const { client } = await connect([
      (req) => ({ type: 'action-response-normal', invoke: invokeOf(req), response: { result: 'temporary-failure' } }),
      (req) => ({ type: 'action-response-normal', invoke: invokeOf(req), response: { result: 'success', returnParameters: { ok: true, data: { type: 'unsigned', value: 7 } } } }),
    ]);
    expect(await client.action({ classId: 70, obis: '0.0.96.3.10.255', method: 2 })).toEqual({ ok: false, error: 'temporary-failure' });
    expect(await client.action({ classId: 70, obis: '0.0.96.3.10.255', method: 2 })).toEqual({ ok: true, value: { type: 'unsigned', value: 7 } });
  });
});
