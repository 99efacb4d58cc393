/**
 * The server engine with an HLS-GMAC client policy, driven APDU by APDU (sans-IO): the
 * association stays pending until HLS pass 3 verifies, a failed pass 3 ends it, and the AARQ's
 * security fields are checked (context, calling-AP-title, challenge). Ciphered traffic over real
 * sockets is covered by tests/simulators/dlms/security.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Aarq } from '../../../../protocols/dlms/acse/aarq.js';
import { userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import type { Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { computeHlsResponse, verifyHlsResponse } from '../../../../protocols/dlms/security/hlsGmac.js';
import { MemorySecurityCounters } from '../../../../protocols/dlms/security/memoryCounters.js';
import type { ApduProtection, SecurityEvent } from '../../../../protocols/dlms/security/settings.js';
import { ln } from '../apdu/helpers.js';
import { AK, CLIENT_TITLE, EK, SERVER_TITLE } from '../security/helpers.js';
import { CLOCK, aarq, call, newServer } from './harness.js';

const HLS = 48;
const CTOS = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
const invoke = { invokeId: 3, confirmed: true, highPriority: true };

function hlsServer(protection: ApduProtection = 'none', clientSystemTitle?: Uint8Array) {
  const events: SecurityEvent[] = [];
  const server = newServer({
    clientPolicies: {
      [HLS]: {
        mechanism: 'high-gmac',
        security: { protection, systemTitle: SERVER_TITLE, keys: { ek: EK, ak: AK }, counters: new MemorySecurityCounters(), ...(clientSystemTitle ? { clientSystemTitle } : {}) },
      },
    },
    onSecurityEvent: (e) => { events.push(e); },
  });
  return { ...server, events };
}

function hlsAarq(overrides: Partial<Aarq> = {}): Aarq {
  return { ...aarq(), authenticationRequired: true, mechanismName: MECHANISM['high-gmac'], callingApTitle: CLIENT_TITLE, callingAuthenticationValue: CTOS, ...overrides };
}

function replyToHls(parameter: Uint8Array): Apdu {
  return {
    type: 'action-request-normal', invoke, method: { classId: 15, instanceId: ln('0.0.40.0.0.255'), methodId: 1 },
    parameters: { type: 'octet-string', value: parameter },
  };
}

const getClock: Apdu = { type: 'get-request-normal', invoke, attribute: CLOCK };

describe('server HLS-GMAC association', () => {
  it('answers the AARQ with its system title and StoC, serves nothing but pass 3, then verifies f(StoC) and returns f(CtoS)', () => {
    const { engine, events } = hlsServer();
    const [aare] = call(engine, hlsAarq(), HLS);
    expect(aare).toMatchObject({
      type: 'aare', result: 'accepted', diagnostic: userDiagnostic('authentication-required'), respondingApTitle: SERVER_TITLE,
      authenticationRequired: true, mechanismName: MECHANISM['high-gmac'],
    });
    const stoc = aare?.type === 'aare' ? aare.respondingAuthenticationValue : undefined;
    expect(stoc?.length).toBe(16);
    expect(engine.state).toBe('idle');
    // Green Book §9.2.7.4: the association is not usable before the client proved itself.
    expect(call(engine, getClock, HLS)).toEqual([{ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'operation-not-possible' }]);

    const fStoC = computeHlsResponse({ systemTitle: CLIENT_TITLE, invocationCounter: 7, ek: EK, ak: AK, challenge: stoc ?? new Uint8Array(8) });
    const [reply] = call(engine, replyToHls(fStoC), HLS);
    expect(reply).toMatchObject({ type: 'action-response-normal', response: { result: 'success', returnParameters: { ok: true } } });
    const fCtoS = reply?.type === 'action-response-normal' && reply.response.returnParameters?.ok === true ? reply.response.returnParameters.data : undefined;
    expect(fCtoS?.type).toBe('octet-string');
    if (fCtoS?.type === 'octet-string') verifyHlsResponse({ peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, challenge: CTOS, response: fCtoS.value });
    expect(engine.state).toBe('associated');
    expect(engine.association?.authenticated).toBe('high');
    expect(call(engine, getClock, HLS)[0]).toMatchObject({ type: 'get-response-normal', result: { ok: true } });
    expect(events).toEqual([]);
  });

  it('ends the association when f(StoC) does not verify, counting and reporting it', () => {
    const { engine, events } = hlsServer();
    call(engine, hlsAarq(), HLS);
    const wrong = computeHlsResponse({ systemTitle: CLIENT_TITLE, invocationCounter: 7, ek: EK, ak: AK, challenge: CTOS });
    expect(call(engine, replyToHls(wrong), HLS)).toMatchObject([{ type: 'action-response-normal', response: { result: 'read-write-denied' } }]);
    expect(engine.association).toBeUndefined();
    expect(engine.stats.securityFailures).toBe(1);
    expect(events).toMatchObject([{ kind: 'hls-failed', systemTitle: '4D4D4D0000000001' }]);
    expect(call(engine, getClock, HLS)[0]).toMatchObject({ type: 'exception-response', serviceError: 'operation-not-possible' });
  });

  it('checks the AARQ security fields: context, calling-AP-title, mechanism and challenge', () => {
    const diagnostic = (a: Aarq, protection: ApduProtection = 'none', expected?: Uint8Array): unknown => {
      const [aare] = call(hlsServer(protection, expected).engine, a, HLS);
      return aare?.type === 'aare' ? { result: aare.result, diagnostic: aare.diagnostic } : aare;
    };
    const rejected = (name: Parameters<typeof userDiagnostic>[0]) => ({ result: 'rejected-permanent', diagnostic: userDiagnostic(name) });
    // A ciphered policy needs the ciphered context (and a plain policy the plain one).
    expect(diagnostic(hlsAarq(), 'auth-enc')).toEqual(rejected('application-context-name-not-supported'));
    expect(diagnostic(hlsAarq({ applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'] }))).toEqual(rejected('application-context-name-not-supported'));
    // calling-AP-title: missing, of the wrong size, or not the expected client.
    const { callingApTitle: _omitted, ...untitled } = hlsAarq();
    expect(diagnostic({ ...untitled, type: 'aarq' })).toEqual(rejected('calling-AP-title-not-recognized'));
    expect(diagnostic(hlsAarq({ callingApTitle: CLIENT_TITLE.subarray(0, 7) }))).toEqual(rejected('calling-AP-title-not-recognized'));
    expect(diagnostic(hlsAarq(), 'none', SERVER_TITLE)).toEqual(rejected('calling-AP-title-not-recognized'));
    expect(diagnostic(hlsAarq(), 'none', CLIENT_TITLE)).toEqual({ result: 'accepted', diagnostic: userDiagnostic('authentication-required') });
    // Mechanism and challenge.
    expect(diagnostic(hlsAarq({ mechanismName: MECHANISM.low }))).toEqual(rejected('authentication-mechanism-name-not-recognised'));
    expect(diagnostic(hlsAarq({ callingAuthenticationValue: CTOS.subarray(0, 7) }))).toEqual(rejected('authentication-failure'));
  });

  it('refuses a ciphered context whose InitiateRequest is plain, with initiateError deciphering-error', () => {
    const { engine, events } = hlsServer('auth-enc');
    const [aare] = call(engine, hlsAarq({ applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'] }), HLS);
    expect(aare).toMatchObject({
      type: 'aare', result: 'rejected-permanent',
      userInformation: { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'application-reference', value: 6 },
    });
    expect(events.map((e) => e.kind)).toEqual(['policy-violation']);
  });
});
