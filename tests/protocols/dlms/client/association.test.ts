import { describe, expect, it } from 'vitest';
import { AssociationRejected, userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { conformance } from '../../../../protocols/dlms/acse/conformance.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { DlmsClient } from '../../../../protocols/dlms/client/client.js';
import { AssociationUnavailable, UnexpectedResponse } from '../../../../protocols/dlms/client/errors.js';
import { hex, toHex } from '../apdu/helpers.js';
import { ScriptedServer, aareAccepted, answerData, connect } from './scriptedServer.js';

describe('DlmsClient association', () => {
  it('sends the LN AARQ with the LLS password and records what the server granted', async () => {
    const granted = conformance('get', 'set', 'action', 'block-transfer-with-get-or-read');
    const server = new ScriptedServer([() => aareAccepted(granted, 512)]);
    const client = new DlmsClient(server, { auth: { mechanism: 'low', password: '12345678' } });

    const negotiated = await client.associate();

    // Green Book §9.4.2.2 / §9.5 AARQ-apdu, worked by hand:
    expect(toHex(server.rawRequests[0]!)).toBe(toHex(hex(
      '60 36', //                                  AARQ [APPLICATION 0], 54 octets
      'A1 09 06 07 60 85 74 05 08 01 01', //       application-context-name: LN, no ciphering (2.16.756.5.8.1.1)
      '8A 02 07 80', //                            sender-acse-requirements: authentication (bit 0)
      '8B 07 60 85 74 05 08 02 01', //             mechanism-name: LLS (2.16.756.5.8.2.1)
      'AC 0A 80 08 31 32 33 34 35 36 37 38', //    calling-authentication-value: charstring "12345678"
      'BE 10 04 0E', //                            user-information: OCTET STRING of 14
      '01 00 00 00', //                            InitiateRequest: no dedicated-key, response-allowed default, no QoS
      '06', //                                     dlms-version 6
      '5F 1F 04 00 00 1A 1D', //                   conformance: block-transfer get/set, multiple-refs, get, set, selective-access, action
      'FF FF', //                                  client-max-receive-pdu-size 65535
    )));
    expect(negotiated.serverMaxReceivePduSize).toBe(512);
    expect(negotiated.features).toEqual(['block-transfer-with-get-or-read', 'get', 'set', 'action']);
    expect(client.state).toBe('associated');
  });

  it('leaves out the authentication fields without security', async () => {
    const server = new ScriptedServer([() => aareAccepted()]);
    await new DlmsClient(server).associate();
    const aarq = server.requests[0];
    expect(aarq?.type === 'aarq' && aarq.mechanismName).toBe(undefined);
    expect(aarq?.type === 'aarq' && aarq.authenticationRequired).toBe(false);
    expect(aarq?.type === 'aarq' && aarq.applicationContext).toBe(APPLICATION_CONTEXT['logical-name']);
    expect(MECHANISM.low).toBe('2.16.756.5.8.2.1');
  });

  it('throws AssociationRejected with the diagnostic name and stays idle so it may retry', async () => {
    const server = new ScriptedServer([
      () => ({
        type: 'aare', applicationContext: APPLICATION_CONTEXT['logical-name'], result: 'rejected-permanent',
        diagnostic: userDiagnostic('authentication-failure'), authenticationRequired: false,
      }),
      () => aareAccepted(),
    ]);
    const client = new DlmsClient(server, { auth: { mechanism: 'low', password: 'wrong' } });

    const error = await client.associate().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AssociationRejected);
    expect((error as AssociationRejected).diagnosticName).toBe('authentication-failure');
    expect((error as AssociationRejected).code).toBe('DLMS_ASSOCIATION_REJECTED');
    expect(client.state).toBe('idle');
    await client.associate();
    expect(client.state).toBe('associated');
  });

  it('treats a refused InitiateRequest inside an accepted AARE as a rejection', async () => {
    const server = new ScriptedServer([() => ({
      type: 'aare', applicationContext: APPLICATION_CONTEXT['logical-name'], result: 'accepted', diagnostic: userDiagnostic('null'),
      authenticationRequired: false,
      userInformation: { type: 'confirmed-service-error', service: 'initiateError', errorClass: 'initiate', value: 1 },
    })]);
    const error = await new DlmsClient(server).associate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssociationRejected);
    expect((error as AssociationRejected).message).toContain('dlms-version-too-low');
  });

  it('breaks the association when the answer to an AARQ is not an AARE', async () => {
    const server = new ScriptedServer([() => ({ type: 'rlre', reason: 'normal' })]);
    const client = new DlmsClient(server);
    await expect(client.associate()).rejects.toBeInstanceOf(UnexpectedResponse);
    expect(client.state).toBe('broken');
  });

  it('refuses services before associating, and associating twice', async () => {
    const client = new DlmsClient(new ScriptedServer());
    const e = await client.get({ classId: 1, obis: '0.0.96.1.0.255', attribute: 2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AssociationUnavailable);
    expect((e as AssociationUnavailable).state).toBe('idle');

    const { client: associated } = await connect([answerData({ type: 'null-data' })]);
    await expect(associated.associate()).rejects.toBeInstanceOf(AssociationUnavailable);
  });
});
