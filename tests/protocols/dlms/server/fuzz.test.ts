/**
 * Generated input for the server engine: 20,000 random and mutated APDUs (seeded, so a failure
 * reproduces) into receive(), interleaved with valid association, request and block-transfer
 * traffic so every state is reached. receive() must never throw, every answer must decode as
 * an APDU, xDLMS answers must fit the client's max receive PDU size, and nothing the client
 * sends may count as an engine fault.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { ACSE_SAMPLES, XDLMS_SAMPLES } from '../apdu/samples.js';
import { mutate, prng, toHex } from '../apdu/helpers.js';
import { encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import { CLOCK, DISCONNECT, ECHO, ENERGY, MANAGEMENT, PASSWORD, PROFILE, PUBLIC, aarq, invoke, newServer } from './harness.js';

const CLIENT_PDU = 256;

const value = encodeData({ type: 'double-long-unsigned', value: 77 });
const SEED_APDUS: readonly Apdu[] = [
  ...XDLMS_SAMPLES, ...ACSE_SAMPLES,
  aarq({ password: PASSWORD, pdu: CLIENT_PDU }), aarq({ pdu: CLIENT_PDU }),
  { type: 'rlrq', reason: 'normal' },
  { type: 'get-request-normal', invoke, attribute: PROFILE },
  { type: 'get-request-normal', invoke, attribute: ENERGY },
  { type: 'get-request-next', invoke, blockNumber: 1 },
  { type: 'get-request-with-list', invoke, attributes: [{ attribute: CLOCK }, { attribute: PROFILE }] },
  { type: 'set-request-normal', invoke, attribute: ENERGY, value: { type: 'double-long-unsigned', value: 5 } },
  { type: 'set-request-with-first-datablock', invoke, attribute: ENERGY, block: { lastBlock: false, blockNumber: 1, rawData: value.subarray(0, 2) } },
  { type: 'set-request-with-datablock', invoke, block: { lastBlock: true, blockNumber: 2, rawData: value.subarray(2) } },
  { type: 'action-request-normal', invoke, method: DISCONNECT },
  { type: 'action-request-normal', invoke, method: ECHO, parameters: { type: 'octet-string', value: new Uint8Array(40) } },
];
const SEEDS: readonly Uint8Array[] = SEED_APDUS.map((a) => encodeApdu(a));

const ACSE_TAGS = new Set([0x60, 0x61, 0x62, 0x63]);

describe('server engine under generated input', () => {
  it('answers 20,000 random and mutated APDUs with well-formed APDUs and never throws', () => {
    const rnd = prng(0x5e7e);
    const { engine, errors } = newServer();
    const answered = new Map<string, number>();
    let lastBlock = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = rnd();
      const sap = rnd() < 0.9 ? MANAGEMENT : PUBLIC;
      let input: Uint8Array;
      if (engine.state === 'idle' && r < 0.3) input = encodeApdu(aarq({ password: sap === PUBLIC ? undefined : PASSWORD, pdu: CLIENT_PDU }));
      else if (r < 0.4) input = encodeApdu({ type: 'get-request-next', invoke, blockNumber: lastBlock });
      else if (r < 0.55) input = SEEDS[Math.floor(rnd() * SEEDS.length)]!;
      else input = mutate(SEEDS[Math.floor(rnd() * SEEDS.length)]!, rnd);

      const out = engine.receive(input, sap);
      for (const bytes of out) {
        let apdu: Apdu;
        try {
          apdu = decodeApdu(bytes);
        } catch (e) {
          return expect.fail(`answer ${toHex(bytes)} to ${toHex(input)} does not decode: ${String(e)}`);
        }
        answered.set(apdu.type, (answered.get(apdu.type) ?? 0) + 1);
        if (apdu.type === 'get-response-with-datablock') lastBlock = apdu.blockNumber;
        if (!ACSE_TAGS.has(bytes[0]!) && engine.association !== undefined) {
          expect(bytes.length, `answer to ${toHex(input)}`).toBeLessThanOrEqual(engine.association.maxResponseSize);
        }
      }
    }
    expect(errors.filter((e) => e.where === 'engine')).toEqual([]);
    // Every kind of answer was reached, so the run exercised more than the error paths.
    for (const type of ['aare', 'rlre', 'exception-response', 'get-response-normal', 'get-response-with-datablock', 'get-response-with-list',
      'set-response-normal', 'set-response-datablock', 'action-response-normal']) {
      expect(answered.get(type) ?? 0, type).toBeGreaterThan(0);
    }
  });
});
