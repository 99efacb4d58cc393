/**
 * COSEM-OPEN and COSEM-RELEASE on the server engine: AARQ accepted or rejected per client
 * policy and per InitiateRequest, the AARE byte for byte against the published Green Book
 * example (as reproduced in dlms-cosem tests/test_asce/test_aare.py), requests before the
 * association, and release.
 */
import { describe, expect, it } from 'vitest';
import { encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { conformance } from '../../../../protocols/dlms/acse/conformance.js';
import { diagnosticName, userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { ServerConfigError } from '../../../../protocols/dlms/server/options.js';
import { hex, toHex } from '../apdu/helpers.js';
import { CLOCK, MANAGEMENT, PASSWORD, PUBLIC, aarq, associate, call, invoke, newServer, one } from './harness.js';

/** The Green Book LLS AARQ (password "12345678", conformance 0x007E1F, PDU 1200), as in tests/protocols/dlms/acse. */
const GREEN_BOOK_LLS_AARQ = hex(
  '60 36 A1 09 06 07 60 85 74 05 08 01 01 8A 02 07 80 8B 07 60 85 74 05 08 02 01',
  'AC 0A 80 08 31 32 33 34 35 36 37 38 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0',
);
/** The same proposal without authentication (Green Book / dlms-cosem test_aarq.py). */
const GREEN_BOOK_NONE_AARQ = hex('60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0');

/** The published accepted AARE (dlms-cosem test_aare.py), byte groups as in tests/protocols/dlms/acse/vectors.test.ts. */
const PUBLISHED_AARE = hex(
  '61 29',                              // AARE, length 41
  'A1 09 06 07 60 85 74 05 08 01 01',   // application-context-name LN, no ciphering
  'A2 03 02 01 00',                     // result accepted
  'A3 05 A1 03 02 01 00',               // acse-service-user null
  'BE 10 04 0E',                        // user-information: OCTET STRING of 14
  '08 00 06',                           //   InitiateResponse, no QoS, dlms version 6
  '5F 1F 04 00 00 50 1F',               //   negotiated conformance 0x00501F
  '01 F4',                              //   server-max-receive-pdu-size 500
  '00 07',                              //   vaa-name 0x0007
);

/** 0x00501F: what the published AARE negotiates, offered here so the intersection with 0x007E1F is exactly it. */
const PUBLISHED_OFFER = conformance(
  'priority-mgmt-supported', 'block-transfer-with-get-or-read', 'get', 'set', 'selective-access', 'event-notification', 'action',
);

describe('AARQ accepted', () => {
  it('answers the Green Book LLS AARQ with the published AARE byte for byte', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: 500, conformance: PUBLISHED_OFFER });
    const out = engine.receive(GREEN_BOOK_LLS_AARQ, MANAGEMENT);
    expect(out.map(toHex)).toEqual([toHex(PUBLISHED_AARE)]);
    expect(engine.state).toBe('associated');
    expect(engine.association).toMatchObject({ clientSap: MANAGEMENT, authenticated: 'low', readOnly: false, conformance: 0x00501f, maxResponseSize: 500 });
  });

  it('answers the Green Book AARQ without authentication from the public client with the same AARE', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: 500, conformance: PUBLISHED_OFFER });
    expect(engine.receive(GREEN_BOOK_NONE_AARQ, PUBLIC).map(toHex)).toEqual([toHex(PUBLISHED_AARE)]);
    expect(engine.association).toMatchObject({ authenticated: 'none', readOnly: true });
  });

  it('accepts the "none" mechanism named explicitly for a public client', () => {
    const { engine } = newServer();
    expect(one(engine, aarq({ mechanism: MECHANISM.none }), PUBLIC)).toMatchObject({ type: 'aare', result: 'accepted' });
  });

  it('negotiates the intersection of the proposal and the offer, with dlms version 6 for a newer client', () => {
    const { engine } = newServer({ serverMaxReceivePduSize: 777 });
    const aare = one(engine, aarq({ password: PASSWORD, version: 7, conformance: conformance('get', 'action', 'data-notification') }), MANAGEMENT);
    expect(aare).toMatchObject({
      type: 'aare', result: 'accepted', diagnostic: userDiagnostic('null'),
      userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: conformance('get', 'action'), serverMaxReceivePduSize: 777, vaaName: 7 },
    });
  });
});

describe('AARQ rejected', () => {
  const rejectedFor = (sap: number, req: Parameters<typeof aarq>[0]): string => {
    const { engine } = newServer();
    const aare = one(engine, aarq(req), sap);
    if (aare.type !== 'aare') return expect.fail(`expected an AARE, got ${aare.type}`);
    expect(aare.result).toBe('rejected-permanent');
    expect(aare.diagnostic.source).toBe('acse-service-user');
    expect(engine.state).toBe('idle');
    return diagnosticName(aare.diagnostic);
  };

  it('refuses a wrong password with authentication-failure (13)', () => {
    expect(rejectedFor(MANAGEMENT, { password: 'wrong' })).toBe('authentication-failure');
    expect(rejectedFor(17, { password: PASSWORD })).toBe('authentication-failure');
  });

  it('refuses LLS without a password with authentication-failure (13)', () => {
    expect(rejectedFor(MANAGEMENT, { mechanism: MECHANISM.low })).toBe('authentication-failure');
  });

  it('refuses a missing mechanism for an LLS client with authentication-mechanism-name-required (12)', () => {
    expect(rejectedFor(MANAGEMENT, {})).toBe('authentication-mechanism-name-required');
  });

  it('refuses a mechanism the client policy does not use with authentication-mechanism-name-not-recognised (11)', () => {
    expect(rejectedFor(MANAGEMENT, { mechanism: MECHANISM['high-gmac'], password: PASSWORD })).toBe('authentication-mechanism-name-not-recognised');
    expect(rejectedFor(PUBLIC, { password: PASSWORD })).toBe('authentication-mechanism-name-not-recognised');
  });

  it('refuses a client SAP without a policy with no-reason-given', () => {
    expect(rejectedFor(99, {})).toBe('no-reason-given');
  });

  it('refuses another application context with application-context-name-not-supported (2)', () => {
    const { engine } = newServer();
    const aare = one(engine, { ...aarq(), applicationContext: '2.16.756.5.8.1.3' }, PUBLIC);
    expect(aare).toMatchObject({ type: 'aare', result: 'rejected-permanent', diagnostic: userDiagnostic('application-context-name-not-supported') });
  });

  it('refuses dlms version 5 with the published dlms-version-too-low AARE byte for byte (dlms-cosem test_aare.py)', () => {
    const { engine } = newServer();
    const out = engine.receive(encodeApdu(aarq({ version: 5 })), PUBLIC);
    expect(out.map(toHex)).toEqual([toHex(hex(
      '61 1F',                             // AARE, length 31
      'A1 09 06 07 60 85 74 05 08 01 01',  // application-context-name LN
      'A2 03 02 01 01',                    // result rejected-permanent
      'A3 05 A1 03 02 01 01',              // acse-service-user no-reason-given
      'BE 06 04 04',                       // user-information: OCTET STRING of 4
      '0E 01 06 01',                       //   ConfirmedServiceError initiateError, initiate, dlms-version-too-low
    ))]);
  });

  it('refuses a client PDU below the minimum with pdu-size-too-short', () => {
    const { engine } = newServer();
    expect(one(engine, aarq({ pdu: 63 }), PUBLIC)).toMatchObject({
      result: 'rejected-permanent', userInformation: { type: 'confirmed-service-error', errorClass: 'initiate', value: 3 },
    });
  });

  it('refuses a proposal with no common GET, SET or ACTION with incompatible-conformance', () => {
    const { engine } = newServer({ conformance: conformance('get') });
    expect(one(engine, aarq({ conformance: conformance('set', 'action') }), PUBLIC)).toMatchObject({
      result: 'rejected-permanent', userInformation: { type: 'confirmed-service-error', errorClass: 'initiate', value: 2 },
    });
  });

  it('refuses AARQ-tagged garbage with an AARE and stays idle', () => {
    const { engine } = newServer();
    expect(one(engine, hex('60 05 A1 03 06 01'), PUBLIC)).toMatchObject({ type: 'aare', result: 'rejected-permanent' });
    expect(engine.state).toBe('idle');
    expect(engine.stats.malformed).toBe(1);
  });

  it('refuses a second AARQ while associated as rejected-transient and keeps the association', () => {
    const { engine } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, aarq({ password: PASSWORD }), MANAGEMENT)).toMatchObject({ type: 'aare', result: 'rejected-transient' });
    expect(engine.association?.clientSap).toBe(PUBLIC);
  });

  it('associates silently when the InitiateRequest does not allow a response', () => {
    const { engine } = newServer();
    const req = aarq();
    const silent = { ...req, userInformation: { ...req.userInformation, responseAllowed: false } } as typeof req;
    expect(call(engine, silent, PUBLIC)).toEqual([]);
    expect(engine.state).toBe('associated');
  });

  it('refuses a configuration offering a service it does not implement', () => {
    expect(() => newServer({ conformance: conformance('get', 'block-transfer-with-action') })).toThrow(ServerConfigError);
    expect(() => newServer({ clientPolicies: { 1: { mechanism: 'low' } } })).toThrow(/without a password/);
  });
});

describe('requests outside an association', () => {
  const get = { type: 'get-request-normal', invoke, attribute: CLOCK } as const;

  it('answers a GET before the AARQ with exception-response service-not-allowed / operation-not-possible', () => {
    const { engine, model } = newServer();
    expect(one(engine, get, PUBLIC)).toEqual({ type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'operation-not-possible' });
    expect(model.calls).toEqual([]);
  });

  it('answers a GET from another client SAP than the associated one the same way', () => {
    const { engine } = newServer();
    associate(engine, PUBLIC);
    expect(one(engine, get, MANAGEMENT)).toMatchObject({ type: 'exception-response', serviceError: 'operation-not-possible' });
    expect(one(engine, get, PUBLIC)).toMatchObject({ type: 'get-response-normal' });
  });

  it('releases with RLRE normal, after which requests are refused again', () => {
    const { engine } = newServer();
    associate(engine, MANAGEMENT);
    expect(engine.receive(encodeApdu({ type: 'rlrq', reason: 'normal' }), MANAGEMENT).map(toHex)).toEqual(['63 03 80 01 00']);
    expect(engine.state).toBe('idle');
    expect(one(engine, get, MANAGEMENT)).toMatchObject({ type: 'exception-response', stateError: 'service-not-allowed' });
    associate(engine, MANAGEMENT);
  });

  it('answers an RLRQ when idle with RLRE normal', () => {
    const { engine } = newServer();
    expect(one(engine, { type: 'rlrq' }, PUBLIC)).toEqual({ type: 'rlre', reason: 'normal' });
  });
});
