/**
 * GET, SET and ACTION through the server engine against the in-test object model: normal,
 * with-list, block transfer in both directions (reassembled here and compared with the
 * original), wrong block numbers, access rights, conformance, invoke-id echo and model faults.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { decodeData, encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import { invokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import { profileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import { conformance } from '../../../../protocols/dlms/acse/conformance.js';
import { ByteWriter } from '../../../../protocols/dlms/bytes.js';
import type { ServerAssociation } from '../../../../protocols/dlms/server/engine.js';
import {
  BROKEN, BROKEN_METHOD, CLOCK, DISCONNECT, ECHO, ENERGY, MANAGEMENT, PROFILE, PUBLIC, UNKNOWN, aarq, associate, bigProfile,
  call, invoke, newServer, one,
} from './harness.js';

const energy = (v: number): DlmsData => ({ type: 'double-long-unsigned', value: v });

/** Pulls every block of a long GET that started with `first`, checking numbering and size. */
function pullBlocks(engine: ServerAssociation, first: Apdu, pdu: number): { raw: Uint8Array; blocks: number } {
  const parts: Uint8Array[] = [];
  let answer = first;
  for (let expected = 1; ; expected++) {
    if (answer.type !== 'get-response-with-datablock' || !answer.block.ok) return expect.fail(`unexpected ${JSON.stringify(answer)}`);
    expect(answer.blockNumber).toBe(expected);
    expect(answer.invoke).toEqual(invoke);
    parts.push(answer.block.rawData);
    if (answer.lastBlock) break;
    const bytes = engine.receive(new ByteWriter().u8(0xc0).u8(2).u8(0xc5).u32(expected).toBytes(), MANAGEMENT);
    expect(bytes).toHaveLength(1);
    expect(bytes[0]!.length).toBeLessThanOrEqual(pdu);
    answer = decodeApdu(bytes[0]!);
  }
  const raw = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (raw.set(p, at), at + p.length), 0);
  return { raw, blocks: parts.length };
}

describe('GET', () => {
  it('reads a small value with GET normal and echoes invoke-id and priority', () => {
    const { engine, model } = newServer();
    associate(engine, PUBLIC);
    const low = invokeIdAndPriority(9, true, false);
    expect(one(engine, { type: 'get-request-normal', invoke: low, attribute: ENERGY }, PUBLIC))
      .toEqual({ type: 'get-response-normal', invoke: low, result: { ok: true, data: energy(123_456) } });
    expect(model.calls.at(-1)?.ctx).toEqual({ clientSap: PUBLIC, authenticated: 'none', now: 1_700_000_000_000 });
  });

  it('answers an unknown object with the model\'s data-access-result', () => {
    const { engine } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, { type: 'get-request-normal', invoke, attribute: UNKNOWN }, PUBLIC))
      .toMatchObject({ result: { ok: false, result: 'object-undefined' } });
  });

  it('sends 500 profile rows in blocks within a 256-byte client PDU, and they reassemble to the original', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT, 256);
    const first = call(engine, { type: 'get-request-normal', invoke, attribute: PROFILE }, MANAGEMENT);
    const { raw, blocks } = pullBlocks(engine, first[0]!, 256);
    expect(decodeData(raw)).toEqual(bigProfile());
    expect(blocks).toBe(Math.ceil(encodeData(bigProfile()).length / 245));
    // The transfer is over: another Next is refused.
    expect(one(engine, { type: 'get-request-next', invoke, blockNumber: blocks }, MANAGEMENT))
      .toMatchObject({ type: 'get-response-with-datablock', lastBlock: true, block: { ok: false, result: 'no-long-get-in-progress' } });
  });

  it('passes selective access to the model', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    const access = profileSelectiveAccess({ kind: 'entry', fromEntry: 1, toEntry: 10, fromSelectedValue: 1, toSelectedValue: 0 });
    call(engine, { type: 'get-request-normal', invoke, attribute: PROFILE, access }, MANAGEMENT);
    expect(model.calls.at(-1)?.access).toEqual(access);
  });

  it('aborts the long GET with data-block-number-invalid when the client names the wrong block', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT, 256);
    const first = one(engine, { type: 'get-request-normal', invoke, attribute: PROFILE }, MANAGEMENT);
    expect(first).toMatchObject({ type: 'get-response-with-datablock', blockNumber: 1, lastBlock: false });
    expect(one(engine, { type: 'get-request-next', invoke, blockNumber: 3 }, MANAGEMENT)).toEqual({
      type: 'get-response-with-datablock', invoke, lastBlock: true, blockNumber: 3, block: { ok: false, result: 'data-block-number-invalid' },
    });
    expect(one(engine, { type: 'get-request-next', invoke, blockNumber: 1 }, MANAGEMENT))
      .toMatchObject({ block: { ok: false, result: 'no-long-get-in-progress' } });
  });

  it('abandons a long GET when the client sends a new request', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT, 256);
    one(engine, { type: 'get-request-normal', invoke, attribute: PROFILE }, MANAGEMENT);
    one(engine, { type: 'get-request-normal', invoke, attribute: ENERGY }, MANAGEMENT);
    expect(one(engine, { type: 'get-request-next', invoke, blockNumber: 1 }, MANAGEMENT))
      .toMatchObject({ block: { ok: false, result: 'no-long-get-in-progress' } });
  });

  it('answers a too-long value with other-reason when block transfer was not negotiated', () => {
    const { engine } = newServer();
    one(engine, aarq({ conformance: conformance('get'), pdu: 256 }), PUBLIC);
    expect(one(engine, { type: 'get-request-normal', invoke, attribute: PROFILE }, PUBLIC))
      .toMatchObject({ type: 'get-response-normal', result: { ok: false, result: 'other-reason' } });
  });

  it('reads each item of a with-list GET separately', () => {
    const { engine } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, { type: 'get-request-with-list', invoke, attributes: [{ attribute: ENERGY }, { attribute: UNKNOWN }, { attribute: CLOCK }] }, PUBLIC))
      .toMatchObject({
        type: 'get-response-with-list', invoke,
        results: [{ ok: true, data: energy(123_456) }, { ok: false, result: 'object-undefined' }, { ok: true, data: { type: 'octet-string' } }],
      });
  });

  it('sends a with-list answer too long for the PDU as blocks of the encoded result list', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT, 256);
    const first = one(engine, { type: 'get-request-with-list', invoke, attributes: [{ attribute: ENERGY }, { attribute: PROFILE }] }, MANAGEMENT);
    const { raw } = pullBlocks(engine, first, 256);
    const expected = new ByteWriter().length(2).u8(0).bytes(encodeData(energy(123_456))).u8(0).bytes(encodeData(bigProfile())).toBytes();
    expect(raw).toEqual(expected);
  });

  it('refuses with-list with exception-response when multiple-references was not negotiated', () => {
    const { engine } = newServer();
    one(engine, aarq({ conformance: conformance('get') }), PUBLIC);
    expect(one(engine, { type: 'get-request-with-list', invoke, attributes: [{ attribute: ENERGY }] }, PUBLIC))
      .toEqual({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'service-not-supported' });
  });

  it('turns a throwing model into hardware-fault and reports it through onError', () => {
    const { engine, errors } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, { type: 'get-request-normal', invoke, attribute: BROKEN }, PUBLIC))
      .toMatchObject({ result: { ok: false, result: 'hardware-fault' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ where: 'model.get' });
    expect(engine.stats.faults).toBe(1);
  });

  it('turns a model value that cannot be encoded into hardware-fault', () => {
    const { engine, model, errors } = newServer();
    associate(engine, PUBLIC);
    model.values.set('3/1.0.1.8.0.255/2', { type: 'unsigned', value: 300 });
    expect(one(engine, { type: 'get-request-normal', invoke, attribute: ENERGY }, PUBLIC))
      .toMatchObject({ result: { ok: false, result: 'hardware-fault' } });
    expect(errors[0]?.error).toBeInstanceOf(Error);
  });
});

describe('SET', () => {
  it('writes a value with SET normal', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'set-request-normal', invoke, attribute: ENERGY, value: energy(7) }, MANAGEMENT))
      .toEqual({ type: 'set-response-normal', invoke, result: 'success' });
    expect(model.values.get('3/1.0.1.8.0.255/2')).toEqual(energy(7));
  });

  it('refuses SET and ACTION from the read-only public client with read-write-denied', () => {
    const { engine, model } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, { type: 'set-request-normal', invoke, attribute: ENERGY, value: energy(7) }, PUBLIC))
      .toMatchObject({ result: 'read-write-denied' });
    expect(one(engine, { type: 'action-request-normal', invoke, method: DISCONNECT }, PUBLIC))
      .toMatchObject({ response: { result: 'read-write-denied' } });
    expect(one(engine, { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: { lastBlock: false, blockNumber: 1, rawData: Uint8Array.of(6) } }, PUBLIC))
      .toMatchObject({ type: 'set-response-last-datablock', result: 'read-write-denied', blockNumber: 1 });
    expect(model.relay).toBe(true);
    expect(model.values.get('3/1.0.1.8.0.255/2')).toEqual(energy(123_456));
  });

  it('reassembles a value sent with-first-datablock and with-datablock, acknowledging each block', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    const value = encodeData(energy(0x01020304));
    const block = (n: number, last: boolean, rawData: Uint8Array) => ({ lastBlock: last, blockNumber: n, rawData });
    expect(one(engine, { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: block(1, false, value.subarray(0, 2)) }, MANAGEMENT))
      .toEqual({ type: 'set-response-datablock', invoke, blockNumber: 1 });
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: block(2, false, value.subarray(2, 4)) }, MANAGEMENT))
      .toEqual({ type: 'set-response-datablock', invoke, blockNumber: 2 });
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: block(3, true, value.subarray(4)) }, MANAGEMENT))
      .toEqual({ type: 'set-response-last-datablock', invoke, result: 'success', blockNumber: 3 });
    expect(model.values.get('3/1.0.1.8.0.255/2')).toEqual(energy(0x01020304));
  });

  it('aborts a long SET on a wrong block number and when none is in progress', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    one(engine, { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: { lastBlock: false, blockNumber: 1, rawData: Uint8Array.of(6, 0) } }, MANAGEMENT);
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: { lastBlock: true, blockNumber: 5, rawData: Uint8Array.of(0, 0, 1) } }, MANAGEMENT))
      .toMatchObject({ type: 'set-response-last-datablock', result: 'data-block-number-invalid', blockNumber: 5 });
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: { lastBlock: true, blockNumber: 2, rawData: Uint8Array.of(0, 0, 1) } }, MANAGEMENT))
      .toMatchObject({ result: 'no-long-set-in-progress' });
  });

  it('aborts a long SET that grows beyond the limit with long-set-aborted', () => {
    const { engine } = newServer({ limits: { maxBlockTransferBytes: 4 } });
    associate(engine, MANAGEMENT);
    one(engine, { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: { lastBlock: false, blockNumber: 1, rawData: Uint8Array.of(6, 0, 0) } }, MANAGEMENT);
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: { lastBlock: true, blockNumber: 2, rawData: Uint8Array.of(0, 1) } }, MANAGEMENT))
      .toMatchObject({ result: 'long-set-aborted', blockNumber: 2 });
  });

  it('answers reassembled octets that are not a value with other-reason', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: { lastBlock: true, blockNumber: 1, rawData: Uint8Array.of(6, 0) } }, MANAGEMENT))
      .toMatchObject({ type: 'set-response-last-datablock', result: 'other-reason' });
  });

  it('writes each item of a with-list SET, and of a with-list SET sent in blocks', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'set-request-with-list', invoke, attributes: [{ attribute: ENERGY }, { attribute: UNKNOWN }], values: [energy(1), energy(2)] }, MANAGEMENT))
      .toEqual({ type: 'set-response-with-list', invoke, results: ['success', 'object-undefined'] });
    const list = new ByteWriter().length(2).bytes(encodeData(energy(9))).bytes(encodeData({ type: 'boolean', value: true })).toBytes();
    expect(one(engine, { type: 'set-request-with-list-and-first-datablock', invoke, attributes: [{ attribute: ENERGY }, { attribute: CLOCK }], block: { lastBlock: false, blockNumber: 1, rawData: list.subarray(0, 4) } }, MANAGEMENT))
      .toEqual({ type: 'set-response-datablock', invoke, blockNumber: 1 });
    expect(one(engine, { type: 'set-request-with-datablock', invoke, block: { lastBlock: true, blockNumber: 2, rawData: list.subarray(4) } }, MANAGEMENT))
      .toEqual({ type: 'set-response-last-datablock-with-list', invoke, results: ['success', 'type-unmatched'], blockNumber: 2 });
    expect(model.values.get('3/1.0.1.8.0.255/2')).toEqual(energy(9));
  });

  it('executes an unconfirmed SET without answering', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    expect(call(engine, { type: 'set-request-normal', invoke: invokeIdAndPriority(2, false), attribute: ENERGY, value: energy(3) }, MANAGEMENT)).toEqual([]);
    expect(model.values.get('3/1.0.1.8.0.255/2')).toEqual(energy(3));
  });
});

describe('ACTION', () => {
  it('invokes a method without parameters', () => {
    const { engine, model } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'action-request-normal', invoke, method: DISCONNECT }, MANAGEMENT))
      .toEqual({ type: 'action-response-normal', invoke, response: { result: 'success' } });
    expect(model.relay).toBe(false);
  });

  it('passes parameters and returns the return parameters', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    const parameters: DlmsData = { type: 'long-unsigned', value: 4242 };
    expect(one(engine, { type: 'action-request-normal', invoke, method: ECHO, parameters }, MANAGEMENT))
      .toEqual({ type: 'action-response-normal', invoke, response: { result: 'success', returnParameters: { ok: true, data: parameters } } });
  });

  it('answers each method of a with-list ACTION, a throwing one with hardware-fault', () => {
    const { engine, errors } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'action-request-with-list', invoke, methods: [ECHO, BROKEN_METHOD], parameters: [{ type: 'boolean', value: true }, { type: 'null-data' }] }, MANAGEMENT))
      .toEqual({
        type: 'action-response-with-list', invoke,
        responses: [{ result: 'success', returnParameters: { ok: true, data: { type: 'boolean', value: true } } }, { result: 'hardware-fault' }],
      });
    expect(errors.map((e) => e.where)).toEqual(['model.action']);
  });

  it('replaces return parameters too long for the client PDU with other-reason, keeping the result', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT, 64);
    const parameters: DlmsData = { type: 'octet-string', value: new Uint8Array(100) };
    expect(one(engine, { type: 'action-request-normal', invoke, method: ECHO, parameters }, MANAGEMENT))
      .toEqual({ type: 'action-response-normal', invoke, response: { result: 'success', returnParameters: { ok: false, result: 'other-reason' } } });
  });

  it('refuses the pblock variants, which are not offered', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'action-request-with-first-pblock', invoke, method: ECHO, block: { lastBlock: true, blockNumber: 1, rawData: Uint8Array.of(0) } }, MANAGEMENT))
      .toEqual({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'service-not-supported' });
  });
});

describe('bad input', () => {
  it('answers garbage and unsupported APDUs with exception-response, never throwing', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    const exceptionFor = (bytes: number[]) => one(engine, Uint8Array.from(bytes), MANAGEMENT);
    expect(exceptionFor([0x99, 1, 2])).toEqual({ type: 'exception-response', stateError: 'service-unknown', serviceError: 'service-not-supported' });
    expect(exceptionFor([0xc8, 0x10, 0x30])).toMatchObject({ stateError: 'service-unknown' }); // glo-get-request
    expect(exceptionFor([0xc0, 0x01, 0xc1, 0x00])).toEqual({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'other-reason' });
    expect(exceptionFor([0xc4, 0x01, 0xc1, 0x00, 0x00])).toMatchObject({ stateError: 'service-unknown' }); // a get-response
    expect(engine.receive(new Uint8Array(0), MANAGEMENT)).toHaveLength(1);
    expect(engine.stats.malformed).toBe(4);
    expect(engine.state).toBe('associated');
  });

  it('answers a request longer than the server max receive PDU size with pdu-too-long', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: 128 });
    associate(engine, MANAGEMENT);
    expect(one(engine, { type: 'set-request-normal', invoke, attribute: ENERGY, value: { type: 'octet-string', value: new Uint8Array(200) } }, MANAGEMENT))
      .toMatchObject({ type: 'exception-response', serviceError: 'pdu-too-long' });
  });

  it('answers even when the onError callback itself throws', () => {
    const { engine } = newServer({ onError: () => { throw new Error('logger down'); } });
    associate(engine, PUBLIC);
    expect(one(engine, { type: 'get-request-normal', invoke, attribute: BROKEN }, PUBLIC)).toMatchObject({ result: { ok: false, result: 'hardware-fault' } });
  });
});
