/**
 * No response longer than the smaller of the client's client-max-receive-pdu-size and our own
 * server-max-receive-pdu-size (AssociationContext.maxResponseSize): a client offering 0xFFFF
 * still gets answers no longer than the size we announced, as clients size their buffer by
 * it. Over TCP against the simulated meter: tests/simulators/dlms/responseSize.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import type { CosemMethodDescriptor } from '../../../../protocols/dlms/apdu/descriptors.js';
import { encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import { ByteWriter } from '../../../../protocols/dlms/bytes.js';
import { decipherApdu } from '../../../../protocols/dlms/security/ciphering.js';
import type { AccessContext, ModelActionOutcome } from '../../../../protocols/dlms/server/objectModel.js';
import { AK, EK, SERVER_TITLE } from '../security/helpers.js';
import { CIPHERED, cipheredAarq, cipheredServer, request } from './cipheredHarness.js';
import { ECHO, ENERGY, FakeModel, MANAGEMENT, PROFILE, PUBLIC, aarq, associate, bigProfile, invoke, newServer, one } from './harness.js';

const SERVER_MAX = 256;
const OFFERED_BY_CLIENT = 0xffff;

/** A model whose ECHO method returns 600 octets whatever it is given. */
class LongReturnModel extends FakeModel {
  override action(ref: CosemMethodDescriptor, parameters: Parameters<FakeModel['action']>[1], ctx: AccessContext): ModelActionOutcome {
    const out = super.action(ref, parameters, ctx);
    return ref.methodId === ECHO.methodId ? { result: 'success', returnParameters: { ok: true, data: { type: 'octet-string', value: new Uint8Array(600) } } } : out;
  }
}

/** Every answer of a long GET as sent, pulling the blocks with Get-Request-Next (`next` encodes and sends one). */
function pullAll(first: Uint8Array, send: (next: Apdu) => Uint8Array, open: (b: Uint8Array) => Apdu): Uint8Array[] {
  const answers = [first];
  let answer = open(first);
  while (answer.type === 'get-response-with-datablock' && !answer.lastBlock) {
    const next = send({ type: 'get-request-next', invoke, blockNumber: answer.blockNumber });
    answers.push(next);
    answer = open(next);
  }
  return answers;
}

/** The raw-data of every datablock, joined. */
function reassembled(answers: readonly Apdu[]): Uint8Array {
  return Uint8Array.from(answers.flatMap((a) => (a.type === 'get-response-with-datablock' && a.block.ok ? [...a.block.rawData] : [])));
}

describe('response size with a client offering 0xFFFF to a server announcing 256', () => {
  it('answers with the smaller of the two sizes', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: SERVER_MAX });
    one(engine, aarq({ pdu: OFFERED_BY_CLIENT }), PUBLIC);
    expect(engine.association?.maxResponseSize).toBe(SERVER_MAX);
  });

  it('sends a GET-with-list answer in blocks of at most 256 octets, which reassemble to the full result list', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: SERVER_MAX });
    associate(engine, PUBLIC, OFFERED_BY_CLIENT);
    const send = (a: Apdu): Uint8Array => engine.receive(encodeApdu(a), PUBLIC)[0] ?? new Uint8Array(0);
    const answers = pullAll(send({ type: 'get-request-with-list', invoke, attributes: [{ attribute: ENERGY }, { attribute: PROFILE }] }), send, decodeApdu);
    expect(answers.length).toBeGreaterThan(10);
    for (const a of answers) expect(a.length).toBeLessThanOrEqual(SERVER_MAX);
    const expected = new ByteWriter().length(2).u8(0).bytes(encodeData({ type: 'double-long-unsigned', value: 123_456 }))
      .u8(0).bytes(encodeData(bigProfile())).toBytes();
    expect(reassembled(answers.map((a) => decodeApdu(a)))).toEqual(expected);
  });

  it('keeps an ACTION answer within 256 octets: return parameters too long become other-reason', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: SERVER_MAX, model: new LongReturnModel() });
    associate(engine, MANAGEMENT, OFFERED_BY_CLIENT);
    const [answer] = engine.receive(encodeApdu({ type: 'action-request-normal', invoke, method: ECHO }), MANAGEMENT);
    expect(answer?.length).toBeLessThanOrEqual(SERVER_MAX);
    expect(decodeApdu(answer ?? new Uint8Array(0))).toEqual({
      type: 'action-response-normal', invoke, response: { result: 'success', returnParameters: { ok: false, result: 'other-reason' } },
    });
  });

  it('fits ciphered answers, glo- tag, length, security header and GCM tag included, within 256 octets', () => {
    const { engine } = cipheredServer('auth-enc', 1, { serverMaxReceivePduSize: SERVER_MAX });
    // cipheredAarq offers 1024; the answers are still bounded by our 256.
    expect(decodeApdu(engine.receive(encodeApdu(cipheredAarq(undefined)), CIPHERED)[0] ?? new Uint8Array(0))).toMatchObject({ type: 'aare', result: 'accepted' });
    const send = (a: Apdu): Uint8Array => engine.receive(request(a, 'glo', EK), CIPHERED)[0] ?? new Uint8Array(0);
    const open = (b: Uint8Array): Apdu => decodeApdu(decipherApdu(b, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK }).plaintext);
    const answers = pullAll(send({ type: 'get-request-normal', invoke, attribute: PROFILE }), send, open);
    expect(answers.length).toBeGreaterThan(10);
    for (const a of answers) expect(a.length).toBeLessThanOrEqual(SERVER_MAX);
    expect(reassembled(answers.map(open))).toEqual(encodeData(bigProfile()));
  });
});
