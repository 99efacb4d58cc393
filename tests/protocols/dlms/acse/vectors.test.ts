/**
 * ACSE vectors. The LLS AARQ is worked out by hand from the Green Book ACSE ASN.1 (BER)
 * and cross-checked against the same bytes published as the Green Book (ed. 10, p. 444)
 * example in the dlms-cosem project (u9n/dlms-cosem tests/test_asce/test_aarq.py,
 * test_parse_no_ciphering_low_security). The AARE vectors come from
 * tests/test_asce/test_aare.py of the same project, except the authentication-failure
 * one, which is by hand.
 */
import { describe, expect, it } from 'vitest';
import { decodeAarq, encodeAarq } from '../../../../protocols/dlms/acse/aarq.js';
import { associationOutcome, decodeAare, encodeAare } from '../../../../protocols/dlms/acse/aare.js';
import { decodeRlre, decodeRlrq, encodeRlre, encodeRlrq } from '../../../../protocols/dlms/acse/release.js';
import { APPLICATION_CONTEXT, MECHANISM, applicationContextName, mechanismName } from '../../../../protocols/dlms/acse/names.js';
import { conformance, conformanceFeatures } from '../../../../protocols/dlms/acse/conformance.js';
import { AssociationRejected, diagnosticName, userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { decodeApdu, encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { ascii, hex } from '../apdu/helpers.js';

const LN = APPLICATION_CONTEXT['logical-name'];

/** 0x007E1F: the conformance the Green Book example proposes. */
const GREEN_BOOK_PROPOSAL = conformance(
  'priority-mgmt-supported', 'attribute0-supported-with-get', 'block-transfer-with-get-or-read',
  'block-transfer-with-set-or-write', 'block-transfer-with-action', 'multiple-references',
  'get', 'set', 'selective-access', 'event-notification', 'action',
);

describe('AARQ', () => {
  const llsBytes = hex(
    '60 36',                       // AARQ [APPLICATION 0] constructed, length 54
    'A1 09 06 07 60 85 74 05 08 01 01', // application-context-name [1]: OID 2.16.756.5.8.1.1 (LN, no ciphering):
                                   //   60 = 2*40+16, 85 74 = 756 in base 128, then 5 8 1 1
    '8A 02 07 80',                 // sender-acse-requirements [10] BIT STRING: 7 unused bits, bit 0 (authentication) set
    '8B 07 60 85 74 05 08 02 01',  // mechanism-name [11] IMPLICIT OID 2.16.756.5.8.2.1 (low-level security)
    'AC 0A 80 08 31 32 33 34 35 36 37 38', // calling-authentication-value [12]: charstring [0] "12345678"
    'BE 10 04 0E',                 // user-information [30] EXPLICIT OCTET STRING of 14
    '01',                          //   xDLMS initiateRequest
    '00',                          //   dedicated-key absent
    '00',                          //   response-allowed: DEFAULT (TRUE)
    '00',                          //   proposed-quality-of-service absent
    '06',                          //   proposed-dlms-version-number 6
    '5F 1F 04 00 00 7E 1F',        //   proposed-conformance [APPLICATION 31] BIT STRING, 0 unused, 0x007E1F
    '04 B0',                       //   client-max-receive-pdu-size 1200
  );
  const lls = {
    applicationContext: LN,
    authenticationRequired: true,
    mechanismName: MECHANISM.low,
    callingAuthenticationValue: ascii('12345678'),
    userInformation: {
      type: 'initiate-request' as const, responseAllowed: true, proposedDlmsVersion: 6,
      proposedConformance: GREEN_BOOK_PROPOSAL, clientMaxReceivePduSize: 1200,
    },
  };

  it('encodes the LLS AARQ with password 12345678 to the hand-made bytes', () => {
    expect(encodeAarq(lls)).toEqual(llsBytes);
  });

  it('matches the published Green Book example byte for byte (dlms-cosem test_aarq.py)', () => {
    // b"`6\xa1\t\x06\x07`\x85t\x05\x08\x01\x01\x8a\x02\x07\x80\x8b\x07`\x85t\x05\x08\x02\x01\xac\n\x80\x0812345678\xbe\x10\x04\x0e\x01\x00\x00\x00\x06_\x1f\x04\x00\x00~\x1f\x04\xb0"
    const published = Uint8Array.from(
      '`6\xa1\t\x06\x07`\x85t\x05\x08\x01\x01\x8a\x02\x07\x80\x8b\x07`\x85t\x05\x08\x02\x01\xac\n\x80\x0812345678\xbe\x10\x04\x0e\x01\x00\x00\x00\x06_\x1f\x04\x00\x00~\x1f\x04\xb0',
      (c) => c.charCodeAt(0),
    );
    expect(published).toEqual(llsBytes);
    expect(decodeAarq(published)).toEqual({ type: 'aarq', ...lls });
    expect(applicationContextName(LN)).toBe('logical-name');
    expect(mechanismName(MECHANISM.low)).toBe('low');
  });

  it('decodes the published no-security AARQ (Green Book example, dlms-cosem test_aarq.py)', () => {
    const aarq = decodeAarq(hex('60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0'));
    expect(aarq).toEqual({
      type: 'aarq', applicationContext: LN, authenticationRequired: false,
      userInformation: lls.userInformation,
    });
  });

  it('decodes the published ciphered LLS AARQ up to its glo-initiate-request (dlms-cosem test_aarq.py)', () => {
    const bytes = hex(
      '6066a109060760857405080103a60a04084D4D4D0000BC614E8a0207808b0760857405080201ac0a80083132333435363738',
      'be34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855',
    );
    const aarq = decodeAarq(bytes);
    expect(applicationContextName(aarq.applicationContext)).toBe('logical-name-ciphered');
    expect(aarq.callingApTitle).toEqual(hex('4D4D4D0000BC614E'));
    expect(aarq.callingAuthenticationValue).toEqual(ascii('12345678'));
    expect(aarq.userInformation).toMatchObject({ type: 'other', tag: 0x21 });
    expect(encodeAarq(aarq)).toEqual(bytes);
  });

  it('recognises the HLS mechanism names and the SN and ciphered contexts by name', () => {
    expect(mechanismName('2.16.756.5.8.2.5')).toBe('high-gmac');
    expect(mechanismName('2.16.756.5.8.2.7')).toBe('high-ecdsa');
    expect(mechanismName('2.16.756.5.8.2.9')).toBeUndefined();
    expect(applicationContextName('2.16.756.5.8.1.2')).toBe('short-name');
    expect(applicationContextName('2.16.756.5.8.1.4')).toBe('short-name-ciphered');
  });
});

describe('AARE', () => {
  const accepted = hex(
    '61 29',                       // AARE [APPLICATION 1], length 41
    'A1 09 06 07 60 85 74 05 08 01 01', // application-context-name LN
    'A2 03 02 01 00',              // result [2] INTEGER 0 accepted
    'A3 05 A1 03 02 01 00',        // result-source-diagnostic [3]: acse-service-user [1] INTEGER 0 null
    'BE 10 04 0E',                 // user-information, OCTET STRING of 14
    '08',                          //   initiateResponse
    '00',                          //   negotiated-quality-of-service absent
    '06',                          //   negotiated-dlms-version-number 6
    '5F 1F 04 00 00 50 1F',        //   negotiated-conformance 0x00501F
    '01 F4',                       //   server-max-receive-pdu-size 500
    '00 07',                       //   vaa-name 0x0007 (LN)
  );

  it('decodes the published accepted AARE (dlms-cosem test_aare.py) and encodes it back', () => {
    const aare = decodeAare(accepted);
    expect(aare).toEqual({
      type: 'aare', applicationContext: LN, result: 'accepted', diagnostic: userDiagnostic('null'),
      authenticationRequired: false,
      userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x00501f, serverMaxReceivePduSize: 500, vaaName: 7 },
    });
    expect(conformanceFeatures(0x00501f)).toEqual([
      'priority-mgmt-supported', 'block-transfer-with-get-or-read', 'get', 'set', 'selective-access', 'event-notification', 'action',
    ]);
    expect(encodeAare(aare)).toEqual(accepted);
    expect(associationOutcome(aare).ok).toBe(true);
  });

  it('turns a rejection for authentication-failure into AssociationRejected', () => {
    const rejected = hex(
      '61 17',                       // AARE, length 23
      'A1 09 06 07 60 85 74 05 08 01 01', // application-context-name LN
      'A2 03 02 01 01',              // result 1 rejected-permanent
      'A3 05 A1 03 02 01 0D',        // acse-service-user 13 authentication-failure
    );
    const aare = decodeAare(rejected);
    expect(aare).toEqual({
      type: 'aare', applicationContext: LN, result: 'rejected-permanent',
      diagnostic: { source: 'acse-service-user', value: 13 }, authenticationRequired: false,
    });
    expect(encodeAare(aare)).toEqual(rejected);
    const outcome = associationOutcome(aare, 'T1');
    if (outcome.ok) return expect.fail('expected a rejection');
    expect(outcome.error).toBeInstanceOf(AssociationRejected);
    expect(outcome.error).toMatchObject({
      code: 'DLMS_ASSOCIATION_REJECTED', result: 'rejected-permanent', diagnosticName: 'authentication-failure', terminalId: 'T1',
    });
    expect(outcome.error.message).toBe('association rejected-permanent: acse-service-user authentication-failure');
  });

  it('names the initiate error of the published dlms-version-too-low AARE (dlms-cosem test_aare.py)', () => {
    const bytes = hex('611FA109060760857405080101A203020101A305A103020101BE0604040E010601');
    const aare = decodeAare(bytes);
    expect(aare.userInformation).toEqual({ type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 1 });
    expect(encodeAare(aare)).toEqual(bytes);
    const outcome = associationOutcome(aare);
    if (outcome.ok) return expect.fail('expected a rejection');
    expect(outcome.error.message).toBe('association rejected-permanent: acse-service-user no-reason-given; initiate refused (initiate: dlms-version-too-low)');
  });

  it('decodes the published HLS-GMAC AARE with its challenge (dlms-cosem test_aare.py)', () => {
    const bytes = hex('6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007');
    const aare = decodeAare(bytes);
    expect(aare).toMatchObject({
      result: 'accepted', authenticationRequired: true, mechanismName: MECHANISM['high-gmac'],
      respondingAuthenticationValue: ascii('P6wRJ21F'),
    });
    expect(diagnosticName(aare.diagnostic)).toBe('authentication-required');
    expect(encodeAare(aare)).toEqual(bytes);
  });

  it('treats an accepted AARE carrying a refused initiate as a rejection', () => {
    const aare = decodeAare(encodeAare({
      applicationContext: LN, result: 'accepted', diagnostic: userDiagnostic('null'), authenticationRequired: false,
      userInformation: { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 3 },
    }));
    const outcome = associationOutcome(aare);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.initiateError?.value).toBe(3);
  });
});

describe('RLRQ / RLRE', () => {
  it('encodes a normal release request and response by hand', () => {
    // 62 = RLRQ [APPLICATION 2], length 3; 80 01 00 = reason [0] IMPLICIT INTEGER normal (0)
    expect(encodeRlrq({ reason: 'normal' })).toEqual(hex('62 03 80 01 00'));
    // 63 = RLRE [APPLICATION 3], same reason field
    expect(encodeRlre({ reason: 'normal' })).toEqual(hex('63 03 80 01 00'));
    expect(decodeRlrq(hex('62 03 80 01 01'))).toEqual({ type: 'rlrq', reason: 'urgent' });
    expect(decodeRlre(hex('63 00'))).toEqual({ type: 'rlre' });
    expect(decodeApdu(hex('63 03 80 01 01'))).toEqual({ type: 'rlre', reason: 'not-finished' });
    expect(encodeApdu({ type: 'rlrq', reason: 'user-defined' })).toEqual(hex('62 03 80 01 1E'));
  });
});

describe('conformance block', () => {
  it('numbers bits from the most significant bit of the first octet (Green Book)', () => {
    expect(GREEN_BOOK_PROPOSAL).toBe(0x007e1f);
    expect(conformance('reserved-zero')).toBe(0x800000);
    expect(conformance('general-protection')).toBe(0x400000);
    expect(conformance('attribute0-supported-with-set')).toBe(0x008000);
    expect(conformance('data-notification')).toBe(0x000080);
    expect(conformance('access')).toBe(0x000040);
    expect(conformance('action')).toBe(0x000001);
    expect(conformanceFeatures(0x001c1d)).toEqual([
      'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write', 'block-transfer-with-action',
      'get', 'set', 'selective-access', 'action',
    ]);
  });
});
