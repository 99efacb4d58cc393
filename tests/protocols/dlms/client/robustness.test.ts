import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../../protocols/adapter.js';
import { encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { encodeData } from '../../../../protocols/dlms/axdr/codec.js';
import { invokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import { mutate, prng } from '../apdu/helpers.js';
import { connect } from './scriptedServer.js';

const REF = { classId: 7, obis: '1.0.99.1.0.255', attribute: 2 };
const ITERATIONS = 10_000;

/** Valid replies to the first GET (invoke-id 1) and to a GET-Request-Next, to be mutated. */
function seeds(): Uint8Array[] {
  const invoke = invokeIdAndPriority(1);
  const raw = encodeData({ type: 'array', value: Array.from({ length: 12 }, (_, i) => ({ type: 'structure', value: [{ type: 'long-unsigned', value: i }, { type: 'boolean', value: true }] })) });
  const replies: Apdu[] = [
    { type: 'get-response-normal', invoke, result: { ok: true, data: { type: 'visible-string', value: 'meter' } } },
    { type: 'get-response-normal', invoke, result: { ok: false, result: 'object-unavailable' } },
    { type: 'get-response-with-datablock', invoke, lastBlock: false, blockNumber: 1, block: { ok: true, rawData: raw.subarray(0, 20) } },
    { type: 'get-response-with-datablock', invoke, lastBlock: true, blockNumber: 2, block: { ok: true, rawData: raw.subarray(20) } },
    { type: 'get-response-with-list', invoke, results: [{ ok: true, data: { type: 'unsigned', value: 3 } }] },
    { type: 'exception-response', stateError: 'service-unknown', serviceError: 'pdu-too-long' },
    { type: 'confirmed-service-error', service: 'read', errorClass: 'definition', value: 1 },
  ];
  return replies.map(encodeApdu);
}

describe('DlmsClient against a peer sending garbage', () => {
  it(`answers ${ITERATIONS} mutated replies with a result or a typed error, never a crash or a hang`, async () => {
    const rnd = prng(0x5eed);
    const pool = seeds();
    const pick = (): Uint8Array => mutate(pool[Math.floor(rnd() * pool.length)]!, rnd);
    let results = 0;
    let typedErrors = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const { client } = await connect([pick], { maxBlocks: 6, maxLongGetBytes: 4096 }, undefined, pick);
      try {
        const r = await client.get(REF);
        expect(typeof r.ok).toBe('boolean');
        results++;
      } catch (e) {
        if (!(e instanceof ProtocolError)) expect.fail(`untyped ${String(e)} at iteration ${i}`);
        typedErrors++;
      }
      await client.close();
    }
    expect(results + typedErrors).toBe(ITERATIONS);
    expect(typedErrors).toBeGreaterThan(0);
    expect(results).toBeGreaterThan(0);
  });
});
