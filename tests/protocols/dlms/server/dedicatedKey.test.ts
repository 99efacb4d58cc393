/**
 * The server engine and the dedicated key, APDU by APDU (sans-IO): a key is taken only from an
 * encrypted glo-initiate-request (16 octets), ded-ciphered requests get ded-ciphered answers
 * under that key while glo- requests keep glo- answers, and the key dies with the association.
 * Client ↔ simulator over real sockets: tests/simulators/dlms/dedicatedKey.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Aarq } from '../../../../protocols/dlms/acse/aarq.js';
import { MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { decodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { decipherApdu } from '../../../../protocols/dlms/security/ciphering.js';
import { hex, ln } from '../apdu/helpers.js';
import { AK, EK, SERVER_TITLE, reasonOf } from '../security/helpers.js';
import { CIPHERED, HLS, cipheredAarq, cipheredRlrq, cipheredServer, initiate, request } from './cipheredHarness.js';
import { CLOCK, PUBLIC, aarq, call, invoke } from './harness.js';

const DEDICATED = hex('A0A1A2A3A4A5A6A7A8A9AAABACADAEAF');

const getClock: Apdu = { type: 'get-request-normal', invoke, attribute: CLOCK };

function accepted(answer: Apdu | undefined): void {
  expect(answer).toMatchObject({ type: 'aare', result: 'accepted' });
}

function refusedWithDecipheringError(answer: Apdu | undefined): void {
  expect(answer).toMatchObject({
    type: 'aare', result: 'rejected-permanent',
    userInformation: { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'application-reference', value: 6 },
  });
}

describe('server with a dedicated key', () => {
  it('answers a ded-get-request with a ded-get-response under the dedicated key, and a glo- one with glo-', () => {
    const { engine } = cipheredServer();
    const [aare] = call(engine, cipheredAarq(DEDICATED), CIPHERED);
    accepted(aare);
    // The InitiateResponse has no ded- form: it stays a glo-initiate-response [40].
    expect(aare?.type === 'aare' ? aare.userInformation : undefined).toMatchObject({ type: 'other', tag: 0x28 });

    const [ded] = engine.receive(request(getClock, 'ded', DEDICATED), CIPHERED);
    expect(ded?.[0]).toBe(0xd4);
    const opened = decipherApdu(ded ?? Uint8Array.of(), { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED });
    expect(decodeApdu(opened.plaintext)).toMatchObject({ type: 'get-response-normal', result: { ok: true } });
    // The global EK does not open it.
    expect(reasonOf(() => decipherApdu(ded ?? Uint8Array.of(), { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: EK }))).toBe('tag-mismatch');

    const [glo] = engine.receive(request(getClock, 'glo', EK), CIPHERED);
    expect(glo?.[0]).toBe(0xcc);
    expect(decodeApdu(decipherApdu(glo ?? Uint8Array.of(), { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK }).plaintext)).toMatchObject({ type: 'get-response-normal' });
  });

  it('refuses a plain InitiateRequest that carries a dedicated key, as a policy violation', () => {
    const { engine, events } = cipheredServer();
    const plain: Aarq = { ...aarq(), userInformation: initiate(DEDICATED) };
    const [aare] = call(engine, plain, PUBLIC);
    refusedWithDecipheringError(aare);
    expect(engine.state).toBe('idle');
    expect(events.map((e) => e.kind)).toEqual(['policy-violation']);
    expect(engine.stats.securityFailures).toBe(1);
  });

  it('refuses a dedicated key in an InitiateRequest ciphered for authentication only (the key would travel in clear)', () => {
    const { engine, events } = cipheredServer('auth');
    refusedWithDecipheringError(call(engine, cipheredAarq(DEDICATED, 'auth'), CIPHERED)[0]);
    expect(events.map((e) => e.kind)).toEqual(['policy-violation']);
  });

  it('refuses a dedicated key that is not 16 octets', () => {
    const { engine, events } = cipheredServer();
    refusedWithDecipheringError(call(engine, cipheredAarq(DEDICATED.subarray(0, 8)), CIPHERED)[0]);
    expect(events.map((e) => e.kind)).toEqual(['bad-parameter']);
  });

  it('answers a failed HLS pass 3 sent ded-ciphered with a ded-ciphered read-write-denied under the key', () => {
    const { engine } = cipheredServer();
    const hlsAarq: Aarq = {
      ...cipheredAarq(DEDICATED), authenticationRequired: true, mechanismName: MECHANISM['high-gmac'], callingAuthenticationValue: hex('0102030405060708'),
    };
    accepted(call(engine, hlsAarq, HLS)[0]);
    const pass3: Apdu = {
      type: 'action-request-normal', invoke, method: { classId: 15, instanceId: ln('0.0.40.0.0.255'), methodId: 1 },
      parameters: { type: 'octet-string', value: new Uint8Array(17) },
    };
    const [answer] = engine.receive(request(pass3, 'ded', DEDICATED), HLS);
    expect(answer?.[0]).toBe(0xd7);
    const opened = decipherApdu(answer ?? Uint8Array.of(), { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED });
    expect(decodeApdu(opened.plaintext)).toMatchObject({ type: 'action-response-normal', response: { result: 'read-write-denied' } });
    expect(engine.state).toBe('idle');
  });

  it('refuses a ded- request on an association without a dedicated key, and the key of an ended association', () => {
    const { engine } = cipheredServer();
    accepted(call(engine, cipheredAarq(DEDICATED), CIPHERED)[0]);
    expect(call(engine, cipheredRlrq(), CIPHERED)[0]).toMatchObject({ type: 'rlre' });
    accepted(call(engine, cipheredAarq(undefined), CIPHERED)[0]);
    const [answer] = call(engine, request(getClock, 'ded', DEDICATED), CIPHERED);
    expect(answer).toMatchObject({ type: 'exception-response', serviceError: 'deciphering-error' });
  });
});
