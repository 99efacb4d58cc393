/**
 * The server engine's COSEM-RELEASE, APDU by APDU (sans-IO). On a ciphered association the
 * release is protected (Green Book §9.3.3.2): the RLRQ must carry the client's InitiateRequest
 * glo-ciphered, the RLRE carries the negotiated InitiateResponse glo-ciphered (checked byte for
 * byte, the GCM part from node:crypto), and a plain or forged RLRQ gets the ExceptionResponse a
 * conforming meter sends while the association stays. Over TCP: tests/simulators/dlms/security.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { hex, toHex } from '../apdu/helpers.js';
import { SERVER_TITLE, gcm } from '../security/helpers.js';
import { CIPHERED, cipheredAarq, cipheredRlrq, cipheredServer, nextClientCounter } from './cipheredHarness.js';
import { CLOCK, call, invoke, one } from './harness.js';

const getClock = { type: 'get-request-normal', invoke, attribute: CLOCK } as const;
const FIRST_SERVER_IC = 0x01234567;

function associated(): ReturnType<typeof cipheredServer> {
  const server = cipheredServer('auth-enc', FIRST_SERVER_IC);
  expect(one(server.engine, cipheredAarq(undefined), CIPHERED)).toMatchObject({ type: 'aare', result: 'accepted' });
  return server;
}

describe('release of a ciphered association', () => {
  it('answers a ciphered RLRQ with an RLRE carrying the glo-ciphered InitiateResponse, byte for byte', () => {
    const { engine, events } = associated();
    const [rlre] = engine.receive(encodeApdu(cipheredRlrq()), CIPHERED);
    // InitiateResponse: 08 tag, 00 no QoS, 06 version, conformance 001A1D (get, set, action,
    // selective-access, multiple-references, block transfer with GET and with SET: what the
    // client proposed and the server offers), 0400 server-max-receive-pdu-size 1024, 0007 vaa-name.
    const plain = hex('08 00 06', '5F1F0400 001A1D', '0400', '0007');
    // The AARE took the server's first counter; the RLRE takes the next.
    const { ciphertext, tag } = gcm(SERVER_TITLE, FIRST_SERVER_IC + 1, plain);
    expect(toHex(rlre ?? new Uint8Array(0))).toBe(toHex(Uint8Array.from([...hex(
      '63 28', // RLRE [APPLICATION 3], 40 octets
      '80 01 00', // reason [0] IMPLICIT INTEGER: normal
      'BE 23 04 21', // user-information [30]: OCTET STRING of 33 octets
      '28 1F 30 01234568', // glo-initiate-response [40], length 31, SC 0x30 (A+E), IC
    ), ...ciphertext, ...tag])));
    expect(engine.association).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('refuses a plain RLRQ with deciphering-error, reports it, and keeps the association', () => {
    const { engine, events } = associated();
    expect(engine.receive(encodeApdu({ type: 'rlrq', reason: 'normal' }), CIPHERED).map(toHex)).toEqual([
      // exception-response: state-error service-not-allowed (1), service-error deciphering-error (5)
      toHex(hex('D8 01 05')),
    ]);
    expect(events).toMatchObject([{ kind: 'policy-violation', systemTitle: '4D4D4D0000000001' }]);
    expect(engine.stats).toMatchObject({ securityFailures: 1, refused: 1 });
    expect(engine.state).toBe('associated');
    expect(decodeApdu(engine.receive(encodeApdu(cipheredRlrq()), CIPHERED)[0] ?? new Uint8Array(0))).toMatchObject({ type: 'rlre', reason: 'normal' });
  });

  it('refuses an RLRQ that does not decipher, or replays a counter, and keeps the association', () => {
    const { engine, events } = associated();
    const wrongKeys = cipheredRlrq('auth-enc');
    if (wrongKeys.userInformation?.type !== 'other') throw new Error('no ciphered user-information');
    const tampered = Uint8Array.from(wrongKeys.userInformation.bytes);
    tampered[tampered.length - 1]! ^= 0x01;
    const forged = { ...wrongKeys, userInformation: { ...wrongKeys.userInformation, bytes: tampered } };
    expect(call(engine, forged, CIPHERED)).toEqual([{ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'deciphering-error' }]);
    const used = nextClientCounter();
    expect(call(engine, cipheredRlrq('auth-enc', used), CIPHERED)[0]).toMatchObject({ type: 'rlre' });
    expect(one(engine, cipheredAarq(undefined), CIPHERED)).toMatchObject({ type: 'aare', result: 'accepted' });
    expect(call(engine, cipheredRlrq('auth-enc', used), CIPHERED)[0]).toMatchObject({
      type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'invocation-counter-error',
    });
    expect(events.map((e) => e.kind)).toEqual(['tag-mismatch', 'replay']);
    expect(engine.state).toBe('associated');
    expect(call(engine, getClock, CIPHERED)[0]).toMatchObject({ type: 'exception-response', serviceError: 'deciphering-error' });
  });

  it('answers an RLRQ with the plain RLRE when no association is open', () => {
    const { engine } = cipheredServer();
    expect(engine.receive(encodeApdu({ type: 'rlrq', reason: 'normal' }), CIPHERED).map(toHex)).toEqual(['63 03 80 01 00']);
  });
});
