/**
 * COSEM-OPEN with HLS-GMAC and a ciphered context, byte for byte (Green Book §9.2.7.4 HLS
 * passes, §9.2.7.2.2 glo-ciphered InitiateRequest/Response; BER of the AARQ/AARE per
 * IEC 62056-5-3 §8). Framing bytes are worked out by hand below; the GCM ciphertext and tags
 * are derived with node:crypto in the test, independently of protocols/dlms/security.
 */
import { describe, expect, it } from 'vitest';
import { decodeAare } from '../../../../protocols/dlms/acse/aare.js';
import { encodeAarq } from '../../../../protocols/dlms/acse/aarq.js';
import { userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { decodeRlre, decodeRlrq } from '../../../../protocols/dlms/acse/release.js';
import { encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { buildAarq, buildRlrq, readAssociationResponse } from '../../../../protocols/dlms/client/association.js';
import { DlmsClient } from '../../../../protocols/dlms/client/client.js';
import { ClientCipher } from '../../../../protocols/dlms/client/secureChannel.js';
import { checkRlre, openInitiate } from '../../../../protocols/dlms/client/secureAssociation.js';
import { computeHlsResponse } from '../../../../protocols/dlms/security/hlsGmac.js';
import { MemorySecurityCounters } from '../../../../protocols/dlms/security/memoryCounters.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';
import type { ClientSecurity, SecurityEvent } from '../../../../protocols/dlms/security/settings.js';
import { hex, toHex } from '../apdu/helpers.js';
import { AK, CLIENT_TITLE, EK, SERVER_TITLE, gcm } from '../security/helpers.js';
import { ScriptedServer } from './scriptedServer.js';

/** Green Book HLS example: CtoS "K56iVagY", StoC "P6wRJ21F", f(StoC) with client IC 1. */
const CTOS = hex('4B35366956616759');
const STOC = hex('503677524A323146');
const F_STOC = hex('10', '00000001', '1A52FE7DD3E72748973C1E28');

function security(protection: ClientSecurity['protection'], events: SecurityEvent[], firstCounter = 1): ClientSecurity {
  return {
    protection, systemTitle: CLIENT_TITLE, keys: { ek: EK, ak: AK }, counters: new MemorySecurityCounters(firstCounter),
    expectedServerSystemTitle: SERVER_TITLE, onEvent: (e) => { events.push(e); },
  };
}

// InitiateRequest (Green Book example): 01 tag, 00 no dedicated-key, 00 response-allowed DEFAULT,
// 00 no QoS, 06 DLMS version, 5F1F 04 00 007E1F conformance, 04B0 client-max-receive-pdu-size 1200.
const INITIATE_REQUEST = hex('01 00 00 00 06', '5F1F0400 007E1F', '04B0');
// InitiateResponse: 08 tag, 00 no QoS, 06 version, 5F1F 04 00 00501F conformance, 01F4 server max PDU 500, 0007 vaa-name.
const INITIATE_RESPONSE = hex('08 00 06', '5F1F0400 00501F', '01F4', '0007');

describe('AARQ with HLS-GMAC in the LN-ciphered context', () => {
  it('is encoded byte for byte, the InitiateRequest glo-ciphered with our system title and counter', () => {
    const ic = 0x01234567;
    const aarq = buildAarq({
      auth: { mechanism: 'high-gmac' }, conformance: 0x007e1f, maxReceivePduSize: 1200, callingApTitle: CLIENT_TITLE, challenge: CTOS,
      cipherInitiate: (plain) => {
        expect(toHex(plain)).toBe(toHex(INITIATE_REQUEST));
        const { ciphertext, tag } = gcm(CLIENT_TITLE, ic, plain);
        // glo-initiate-request [33] = 0x21, length 0x1F (SC 1 + IC 4 + 14 + tag 12 = 31), SC 0x30 (suite 0, A+E), IC.
        return Uint8Array.from([0x21, 0x1f, 0x30, 0x01, 0x23, 0x45, 0x67, ...ciphertext, ...tag]);
      },
    });
    const { ciphertext, tag } = gcm(CLIENT_TITLE, ic, INITIATE_REQUEST);
    const expected = hex(
      '60 55', // AARQ [APPLICATION 0], 85 octets of content
      'A1 09 06 07 60857405080103', // application-context-name: OID 2.16.756.5.8.1.3, LN with ciphering
      'A6 0A 04 08 4D4D4D0000000001', // calling-AP-title: OCTET STRING, our system title
      '8A 02 07 80', // sender-acse-requirements: BIT STRING, 7 unused bits, authentication
      '8B 07 60857405080205', // mechanism-name [11] IMPLICIT OID 2.16.756.5.8.2.5 (HLS-GMAC)
      'AC 0A 80 08 4B35366956616759', // calling-authentication-value: charstring [0], CtoS
      'BE 23 04 21', // user-information [30]: OCTET STRING of 33 octets
      '21 1F 30 01234567', // glo-initiate-request, length 31, SC, IC
    );
    expect(toHex(encodeAarq(aarq))).toBe(toHex(Uint8Array.from([...expected, ...ciphertext, ...tag])));
  });
});

describe('AARE with HLS-GMAC in the LN-ciphered context', () => {
  const serverIc = 0x00000100;
  const { ciphertext, tag } = gcm(SERVER_TITLE, serverIc, INITIATE_RESPONSE);
  const aareBytes = Uint8Array.from([...hex(
    '61 61', // AARE [APPLICATION 1], 97 octets
    'A1 09 06 07 60857405080103', // application-context-name LN with ciphering
    'A2 03 02 01 00', // result: accepted
    'A3 05 A1 03 02 01 0E', // result-source-diagnostic: acse-service-user authentication-required (14)
    'A4 0A 04 08 4D4D4D0000BC614E', // responding-AP-title: the meter's system title
    '88 02 07 80', // responder-acse-requirements: authentication
    '89 07 60857405080205', // mechanism-name: HLS-GMAC
    'AA 0A 80 08 503677524A323146', // responding-authentication-value: StoC
    'BE 23 04 21', // user-information: OCTET STRING of 33 octets
    '28 1F 30 00000100', // glo-initiate-response [40], length 31, SC 0x30, the meter's IC
  ), ...ciphertext, ...tag]);

  it('decodes into the meter system title, StoC and the deciphered InitiateResponse', () => {
    const aare = decodeAare(aareBytes);
    expect(aare).toMatchObject({
      applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'], result: 'accepted', diagnostic: userDiagnostic('authentication-required'),
      respondingApTitle: SERVER_TITLE, authenticationRequired: true, mechanismName: MECHANISM['high-gmac'], respondingAuthenticationValue: STOC,
    });
    const events: SecurityEvent[] = [];
    const cipher = new ClientCipher(security('auth-enc', events));
    cipher.learnServerTitle(aare.respondingApTitle);
    const negotiated = readAssociationResponse(aare, undefined, (u) => openInitiate(cipher, u));
    expect(negotiated).toMatchObject({ conformance: 0x00501f, serverMaxReceivePduSize: 500, dlmsVersion: 6 });
    expect(events).toEqual([]);
  });

  it('refuses a tampered InitiateResponse and one replaying an old meter counter, reporting each', () => {
    const tampered = Uint8Array.from(aareBytes);
    tampered[tampered.length - 1]! ^= 0x80;
    const events: SecurityEvent[] = [];
    const cipher = new ClientCipher(security('auth-enc', events));
    cipher.learnServerTitle(SERVER_TITLE);
    expect(() => readAssociationResponse(decodeAare(tampered), undefined, (u) => openInitiate(cipher, u))).toThrow(DlmsSecurityError);
    const replaying = new ClientCipher({ ...security('auth-enc', events), counters: new MemorySecurityCounters(1, serverIc) });
    replaying.learnServerTitle(SERVER_TITLE);
    expect(() => readAssociationResponse(decodeAare(aareBytes), undefined, (u) => openInitiate(replaying, u))).toThrow(/replay/);
    expect(events.map((e) => e.kind)).toEqual(['tag-mismatch', 'replay']);
  });
});

describe('HLS passes 3 and 4 (no APDU protection, so the ACTION is visible in clear)', () => {
  /** A meter answering the AARQ with the Green Book StoC, then the ACTION with `fCtoS(ctos)`. */
  function meter(fCtoS: (ctos: Uint8Array) => Uint8Array): ScriptedServer {
    let ctos: Uint8Array = new Uint8Array(0);
    return new ScriptedServer([
      (req) => {
        if (req.type === 'aarq') ctos = req.callingAuthenticationValue ?? ctos;
        return {
          type: 'aare', applicationContext: APPLICATION_CONTEXT['logical-name'], result: 'accepted', diagnostic: userDiagnostic('authentication-required'),
          respondingApTitle: SERVER_TITLE, authenticationRequired: true, mechanismName: MECHANISM['high-gmac'], respondingAuthenticationValue: STOC,
          userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x00501f, serverMaxReceivePduSize: 500, vaaName: 7 },
        };
      },
      () => ({
        type: 'action-response-normal', invoke: { invokeId: 1, confirmed: true, highPriority: true },
        response: { result: 'success', returnParameters: { ok: true, data: { type: 'octet-string', value: fCtoS(ctos) } } },
      }),
    ]);
  }

  it('sends f(StoC) of the Green Book example through reply_to_HLS_authentication and accepts a valid f(CtoS)', async () => {
    const server = meter((ctos) => computeHlsResponse({ systemTitle: SERVER_TITLE, invocationCounter: 0x01234567, ek: EK, ak: AK, challenge: ctos }));
    const events: SecurityEvent[] = [];
    const client = new DlmsClient(server, { auth: { mechanism: 'high-gmac' }, security: security('none', events) });
    await client.associate();
    expect(client.state).toBe('associated');
    expect(toHex(server.rawRequests[1] ?? new Uint8Array(0))).toBe(toHex(hex(
      'C3 01 C1', // action-request, normal, invoke-id 1 (confirmed, high priority)
      '000F 0000280000FF 01', // class 15 (Association LN), 0.0.40.0.0.255, method 1 reply_to_HLS_authentication
      '01 09 11', // parameters present: octet-string of 17 octets
      toHex(F_STOC), // f(StoC) = SC 10 ‖ IC 00000001 ‖ GMAC, as in the Green Book
    )));
    expect(events).toEqual([]);
  });

  it('fails closed when the meter f(CtoS) does not verify: hls-failed, an event, the transport closed', async () => {
    const server = meter(() => hex('10', '01234567', 'FE1466AFB3DBCD4F9389E2B7')); // f() of another CtoS
    const events: SecurityEvent[] = [];
    const client = new DlmsClient(server, { auth: { mechanism: 'high-gmac' }, security: security('none', events) });
    const e: unknown = await client.associate().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DlmsSecurityError);
    expect((e as DlmsSecurityError).reason).toBe('hls-failed');
    expect(events.map((x) => x.kind)).toEqual(['hls-failed']);
    expect(client.state).toBe('closed');
    expect(server.closeCalls).toBe(1);
  });
});

describe('protected release in the LN-ciphered context (Green Book §9.3.3.2)', () => {
  /** The RLRE a conforming meter sends: reason normal, the negotiated InitiateResponse glo-ciphered with its counter. */
  function rlreBytes(serverIc: number): Uint8Array {
    const { ciphertext, tag } = gcm(SERVER_TITLE, serverIc, INITIATE_RESPONSE);
    const ic = Buffer.alloc(4);
    ic.writeUInt32BE(serverIc);
    return Uint8Array.from([...hex(
      '63 28', // RLRE [APPLICATION 3], 40 octets
      '80 01 00', // reason [0] IMPLICIT INTEGER: normal
      'BE 23 04 21', // user-information [30]: OCTET STRING of 33 octets
      '28 1F 30', // glo-initiate-response [40], length 31 (SC 1 + IC 4 + 14 + tag 12), SC 0x30 (A+E)
    ), ...ic, ...ciphertext, ...tag]);
  }

  function cipherWithServerTitle(events: SecurityEvent[], lastServerIc?: number): ClientCipher {
    const cipher = new ClientCipher({ ...security('auth-enc', events), counters: new MemorySecurityCounters(1, lastServerIc) });
    cipher.learnServerTitle(SERVER_TITLE);
    return cipher;
  }

  it('sends the RLRQ with the proposed xDLMS context as a glo-initiate-request, byte for byte', () => {
    const ic = 0x01234567;
    const rlrq = buildRlrq({
      conformance: 0x007e1f, maxReceivePduSize: 1200,
      cipherInitiate: (plain) => {
        expect(toHex(plain)).toBe(toHex(INITIATE_REQUEST));
        const { ciphertext, tag } = gcm(CLIENT_TITLE, ic, plain);
        return Uint8Array.from([0x21, 0x1f, 0x30, 0x01, 0x23, 0x45, 0x67, ...ciphertext, ...tag]);
      },
    });
    const { ciphertext, tag } = gcm(CLIENT_TITLE, ic, INITIATE_REQUEST);
    const expected = Uint8Array.from([...hex(
      '62 28', // RLRQ [APPLICATION 2], 40 octets
      '80 01 00', // reason [0] IMPLICIT INTEGER: normal
      'BE 23 04 21', // user-information [30]: OCTET STRING of 33 octets
      '21 1F 30 01234567', // glo-initiate-request [33], length 31, SC 0x30, our IC
    ), ...ciphertext, ...tag]);
    expect(toHex(encodeApdu(rlrq))).toBe(toHex(expected));
    expect(decodeRlrq(expected)).toEqual({ type: 'rlrq', reason: 'normal', userInformation: { type: 'other', tag: 0x21, bytes: expected.subarray(10) } });
    // Without ciphering the RLRQ stays the plain 62 03 80 01 00.
    expect(toHex(encodeApdu(buildRlrq({ conformance: 0x007e1f, maxReceivePduSize: 1200 })))).toBe('62 03 80 01 00');
  });

  it('accepts the RLRE whose InitiateResponse deciphers, and refuses a tampered, replayed or plain one', () => {
    const events: SecurityEvent[] = [];
    checkRlre(cipherWithServerTitle(events), decodeRlre(rlreBytes(0x200)));
    expect(events).toEqual([]);

    const tampered = rlreBytes(0x200);
    tampered[tampered.length - 1]! ^= 0x01;
    expect(() => { checkRlre(cipherWithServerTitle(events), decodeRlre(tampered)); }).toThrow(DlmsSecurityError);
    expect(() => { checkRlre(cipherWithServerTitle(events, 0x200), decodeRlre(rlreBytes(0x200))); }).toThrow(/replay/);
    const plain = { type: 'rlre', reason: 'normal', userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x00501f, serverMaxReceivePduSize: 500, vaaName: 7 } } as const;
    expect(() => { checkRlre(cipherWithServerTitle(events), plain); }).toThrow(/plain initiate-response/);
    expect(events.map((e) => e.kind)).toEqual(['tag-mismatch', 'replay', 'policy-violation']);
  });

  it('tolerates an RLRE without user-information and counts it', () => {
    const events: SecurityEvent[] = [];
    const cipher = cipherWithServerTitle(events);
    checkRlre(cipher, decodeRlre(hex('63 03 80 01 00')));
    expect(cipher.plainReleaseResponses).toBe(1);
    expect(events).toEqual([]);
  });

  it('releases a ciphered association with the next invocation counter and the meter\'s ciphered RLRE', async () => {
    const serverIc = 0x300;
    const server = new ScriptedServer([
      () => {
        const { ciphertext, tag } = gcm(SERVER_TITLE, serverIc, INITIATE_RESPONSE);
        return {
          type: 'aare', applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'], result: 'accepted', diagnostic: userDiagnostic('null'),
          respondingApTitle: SERVER_TITLE, authenticationRequired: false,
          userInformation: { type: 'other', tag: 0x28, bytes: Uint8Array.from([0x1f, 0x30, 0, 0, 0x03, 0x00, ...ciphertext, ...tag]) },
        };
      },
      () => rlreBytes(serverIc + 1),
    ]);
    const events: SecurityEvent[] = [];
    const counters = new MemorySecurityCounters(41);
    const client = new DlmsClient(server, { auth: { mechanism: 'none' }, security: { ...security('auth-enc', events), counters } });
    await client.associate();
    expect(await client.release()).toEqual({ ok: true });
    // The AARQ's InitiateRequest took counter 41; the RLRQ's takes 42, and the next one is 43.
    const rlrq = server.rawRequests[1] ?? new Uint8Array(0);
    expect(toHex(rlrq.subarray(0, 16))).toBe(toHex(hex('62 28 80 01 00 BE 23 04 21', '21 1F 30 0000002A')));
    expect(counters.nextOutgoing()).toBe(43);
    expect(counters.lastIncoming()).toBe(serverIc + 1);
    expect(client.plainReleaseResponses).toBe(0);
    expect(events).toEqual([]);
  });

  it('reports a release the meter refuses with an exception-response as not confirmed', async () => {
    const server = new ScriptedServer([
      () => ({ type: 'aare', applicationContext: APPLICATION_CONTEXT['logical-name'], result: 'accepted', diagnostic: userDiagnostic('null'), authenticationRequired: false,
        userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x00501f, serverMaxReceivePduSize: 500, vaaName: 7 } }),
      () => ({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'deciphering-error' }),
    ]);
    const client = new DlmsClient(server, { auth: { mechanism: 'none' } });
    await client.associate();
    const outcome = await client.release();
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatchObject({ code: 'DLMS_SERVICE_REJECTED', reason: 'service-not-allowed / deciphering-error' });
    expect(client.state).toBe('closed');
  });
});

describe('an exception-response instead of an AARE', () => {
  // ExceptionResponse [216] (Green Book §9.5): state-error, service-error.
  const DECIPHERING_ERROR = hex('D8', '01', '05'); // service-not-allowed, deciphering-error
  const COUNTER_ERROR = hex('D8', '01', '06', '000003E8'); // service-not-allowed, invocation-counter-error, expects 1000
  const NOT_POSSIBLE = hex('D8', '01', '01'); // service-not-allowed, operation-not-possible

  async function refusal(answer: Uint8Array, protection: ClientSecurity['protection'] | undefined): Promise<{ e: unknown; events: SecurityEvent[]; client: DlmsClient }> {
    const events: SecurityEvent[] = [];
    const client = new DlmsClient(new ScriptedServer([() => answer]), protection === undefined
      ? {}
      : { auth: { mechanism: 'high-gmac' }, security: security(protection, events) });
    return { e: await client.associate().catch((err: unknown) => err), events, client };
  }

  it('is a security failure naming both fields when the meter could not decipher the AARQ', async () => {
    const { e, events, client } = await refusal(DECIPHERING_ERROR, 'auth-enc');
    expect(e).toBeInstanceOf(DlmsSecurityError);
    expect((e as DlmsSecurityError).reason).toBe('tag-mismatch');
    expect((e as Error).message).toBe('security: tag-mismatch: the meter could not decipher our request (service-not-allowed / deciphering-error): wrong keys, system title or security policy');
    expect(events.map((x) => x.kind)).toEqual(['tag-mismatch']);
    expect(client.state).toBe('closed');
  });

  it('is a replay refusal with the counter the meter expects', async () => {
    const { e } = await refusal(COUNTER_ERROR, 'auth');
    expect((e as DlmsSecurityError).reason).toBe('replay');
    expect((e as Error).message).toContain('(service-not-allowed / invocation-counter-error; it expects at least 1000)');
  });

  it('is a policy refusal on a secured AARQ, and the meter refusing the service on a plain one', async () => {
    const secured = await refusal(NOT_POSSIBLE, 'auth-enc');
    expect((secured.e as DlmsSecurityError).reason).toBe('policy-violation');
    expect((secured.e as Error).message).toContain('(service-not-allowed / operation-not-possible)');
    const plain = await refusal(NOT_POSSIBLE, undefined);
    expect(plain.e).toMatchObject({ code: 'DLMS_SERVICE_REJECTED', reason: 'service-not-allowed / operation-not-possible' });
    // A plain deciphering-error still names keys: the meter expected a ciphered AARQ.
    expect(((await refusal(DECIPHERING_ERROR, undefined)).e as DlmsSecurityError).code).toBe('DLMS_SECURITY');
  });
});
