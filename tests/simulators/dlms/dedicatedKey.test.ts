/**
 * Client ↔ simulated meter over real TCP (through a capturing proxy) with a dedicated key on
 * client 48: GET (normal and in blocks), SET (normal and in blocks) and ACTION all travel as
 * ded-* APDUs; the key read back out of the captured glo-initiate-request opens them while the
 * global EK does not; each association draws a new key; a plain InitiateRequest carrying a key
 * is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsAdapter } from '../../../protocols/dlms/adapter.js';
import { decodeApdu, encodeApdu } from '../../../protocols/dlms/apduCodec.js';
import { LN_CLIENT_CONFORMANCE } from '../../../protocols/dlms/acse/conformance.js';
import { readUserInformation } from '../../../protocols/dlms/acse/initiate.js';
import { APPLICATION_CONTEXT } from '../../../protocols/dlms/acse/names.js';
import { ByteReader } from '../../../protocols/dlms/bytes.js';
import { DlmsClient } from '../../../protocols/dlms/client/client.js';
import { readDisconnectState, remoteDisconnect, remoteReconnect } from '../../../protocols/dlms/client/control.js';
import { readObjectList, readRegister } from '../../../protocols/dlms/client/cosem.js';
import { openDlmsTransport } from '../../../protocols/dlms/net/clientTransport.js';
import { decipherApdu } from '../../../protocols/dlms/security/ciphering.js';
import { DlmsSecurityError } from '../../../protocols/dlms/security/securityError.js';
import type { ClientSecurity } from '../../../protocols/dlms/security/settings.js';
import { HLS_CLIENT, PUBLIC_CLIENT } from '../../../simulators/dlms/server.js';
import { CLIENT_TITLE, KEYS, METER_TITLE, clientSecurity, pushObjectList, startProxiedMeter, type ProxiedMeter } from './securityFixture.js';

const PUSH_SETUP = { classId: 40, obis: '0.0.25.9.0.255' };


async function connect(port: number, clientSap: number, security?: ClientSecurity): Promise<DlmsClient> {
  const transport = await openDlmsTransport({ host: '127.0.0.1', port, framing: 'wrapper', clientSap, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
  return new DlmsClient(transport, {
    clientSap, timeoutMs: 5_000, maxReceivePduSize: 512, ...(security === undefined ? {} : { auth: { mechanism: 'high-gmac' }, security }),
  });
}

/** The dedicated key inside the AARQ's glo-initiate-request, opened with the global keys. */
function dedicatedKeyOf(aarqBytes: Uint8Array): Uint8Array | undefined {
  const aarq = decodeApdu(aarqBytes);
  if (aarq.type !== 'aarq' || aarq.userInformation?.type !== 'other') return expect.fail('the AARQ carries no ciphered InitiateRequest');
  const u = aarq.userInformation;
  expect(u.tag).toBe(0x21);
  const plain = decipherApdu(Uint8Array.of(u.tag, ...u.bytes), { peerSystemTitle: CLIENT_TITLE, ek: KEYS.ek, ak: KEYS.ak }).plaintext;
  const init = readUserInformation(new ByteReader(plain, 'acse'));
  return init.type === 'initiate-request' ? init.dedicatedKey : undefined;
}

describe('dedicated key, client ↔ simulated meter over TCP', () => {
  let meter: ProxiedMeter;
  beforeAll(async () => {
    meter = await startProxiedMeter({ seed: 4, serialNumber: '00000004', historyDays: 1, maxPduSize: 512 });
  });
  afterAll(() => meter.stop());

  it('ded-ciphers GET, SET and ACTION (blocks included) under a key only the association knows', async () => {
    const security = clientSecurity('auth-enc', { useDedicatedKey: true });
    const sentBefore = meter.proxy.fromClient.length;
    const receivedBefore = meter.proxy.fromServer.length;
    const client = await connect(meter.proxy.port, HLS_CLIENT, security);
    try {
      await client.associate();
      expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
      // The object list is longer than the 512-octet PDU: GET blocks, each ded-ciphered.
      expect((await readObjectList(client)).length).toBeGreaterThan(20);
      expect(await client.set({ ...PUSH_SETUP, attribute: 6 }, { type: 'unsigned', value: 5 })).toEqual({ ok: true });
      const long = pushObjectList(40);
      expect(await client.set({ ...PUSH_SETUP, attribute: 2 }, long)).toEqual({ ok: true });
      expect(await client.get({ ...PUSH_SETUP, attribute: 2 })).toEqual({ ok: true, value: long });
      await remoteDisconnect(client);
      expect((await readDisconnectState(client)).outputState).toBe(false);
      await remoteReconnect(client);
      expect((await readDisconnectState(client)).outputState).toBe(true);
      expect((await client.release()).ok).toBe(true);
    } finally {
      await client.close();
    }
    expect(security.events).toEqual([]);
    expect(meter.sim.securityEvents).toEqual([]);

    const sent = meter.proxy.fromClient.slice(sentBefore);
    const received = meter.proxy.fromServer.slice(receivedBefore);
    const [aarq] = sent;
    expect(aarq?.[0]).toBe(0x60);
    const key = dedicatedKeyOf(aarq ?? Uint8Array.of());
    expect(key).toHaveLength(16);

    // AARQ, then the HLS pass-3 ACTION and every service as ded-get/set/action-request, then RLRQ.
    const requestTags = sent.slice(1, -1).map((a) => a[0]);
    expect(new Set(requestTags)).toEqual(new Set([0xd0, 0xd1, 0xd3]));
    expect(sent.at(-1)?.[0]).toBe(0x62);
    // AARE (its InitiateResponse glo-ciphered inside), then ded-get/set/action-responses, then RLRE.
    const responseTags = received.slice(1, -1).map((a) => a[0]);
    expect(new Set(responseTags)).toEqual(new Set([0xd4, 0xd5, 0xd7]));
    expect(received.filter((a) => a[0] === 0xd4).length).toBeGreaterThan(3);

    // A captured ded-get-response: the global EK fails authentication, the dedicated key opens it.
    const response = received.find((a) => a[0] === 0xd4) ?? Uint8Array.of();
    const opened = decipherApdu(response, { peerSystemTitle: METER_TITLE, ek: KEYS.ek, ak: KEYS.ak, dedicatedKey: key ?? Uint8Array.of() });
    expect(decodeApdu(opened.plaintext).type).toMatch(/^get-response/);
    let globalError: unknown;
    try {
      decipherApdu(response, { peerSystemTitle: METER_TITLE, ek: KEYS.ek, ak: KEYS.ak, dedicatedKey: KEYS.ek });
    } catch (e) {
      globalError = e;
    }
    expect(globalError).toBeInstanceOf(DlmsSecurityError);
    expect((globalError as DlmsSecurityError).reason).toBe('tag-mismatch');
  });

  it('draws a new dedicated key for every association', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const before = meter.proxy.fromClient.length;
      const client = await connect(meter.proxy.port, HLS_CLIENT, clientSecurity('auth-enc', { useDedicatedKey: true }));
      try {
        await client.associate();
        expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
        expect((await client.release()).ok).toBe(true);
      } finally {
        await client.close();
      }
      const key = dedicatedKeyOf(meter.proxy.fromClient[before] ?? Uint8Array.of());
      keys.push(Buffer.from(key ?? Uint8Array.of()).toString('hex'));
    }
    expect(keys[0]).toHaveLength(32);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('keeps glo- ciphering for a client that does not ask for a dedicated key', async () => {
    const before = meter.proxy.fromClient.length;
    const client = await connect(meter.proxy.port, HLS_CLIENT, clientSecurity('auth-enc'));
    try {
      await client.associate();
      expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
    } finally {
      await client.close();
    }
    expect(dedicatedKeyOf(meter.proxy.fromClient[before] ?? Uint8Array.of())).toBeUndefined();
    expect(meter.proxy.fromClient.slice(before + 1).map((a) => a[0])).toEqual([0xcb, 0xc8]);
  });

  it('passes the endpoint option dedicatedKey of the DlmsAdapter through to the association', async () => {
    const before = meter.proxy.fromClient.length;
    const adapter = new DlmsAdapter({
      catalogue: { 'energy.active.import': { obis: '1.0.1.8.0.255', unit: 'kWh' } }, timeoutMs: 5_000, securityFor: () => clientSecurity('auth-enc'),
    });
    try {
      const session = await adapter.open({
        id: 'T1',
        endpoint: { host: '127.0.0.1', port: meter.proxy.port, framing: 'wrapper', clientSap: HLS_CLIENT, auth: 'high-gmac', security: 'auth-enc', dedicatedKey: true },
      }, new AbortController().signal);
      const [outcome] = await session.read([{ address: '1', quantity: 'energy.active.import' }], new AbortController().signal);
      expect(outcome?.ok).toBe(true);
      await session.close();
    } finally {
      await adapter.close();
    }
    const sent = meter.proxy.fromClient.slice(before);
    expect(dedicatedKeyOf(sent[0] ?? Uint8Array.of())).toHaveLength(16);
    expect(sent.map((a) => a[0])).toContain(0xd0);
  });

  it('refuses a dedicated key with APDU protection that does not encrypt, before anything is sent', () => {
    expect(() => new DlmsClient({ request: () => Promise.reject(new Error('unused')), close: () => Promise.resolve() }, {
      clientSap: HLS_CLIENT, auth: { mechanism: 'high-gmac' }, security: clientSecurity('auth', { useDedicatedKey: true }),
    })).toThrow(DlmsSecurityError);
  });

  it('refuses a plain InitiateRequest that carries a dedicated key', async () => {
    const transport = await openDlmsTransport({ host: '127.0.0.1', port: meter.sim.port, framing: 'wrapper', clientSap: PUBLIC_CLIENT, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
    try {
      const aarq = encodeApdu({
        type: 'aarq', applicationContext: APPLICATION_CONTEXT['logical-name'], authenticationRequired: false,
        userInformation: {
          type: 'initiate-request', dedicatedKey: new Uint8Array(16).fill(0x5a), responseAllowed: true,
          proposedDlmsVersion: 6, proposedConformance: LN_CLIENT_CONFORMANCE, clientMaxReceivePduSize: 512,
        },
      });
      const reply = decodeApdu(await transport.request(aarq, new AbortController().signal));
      expect(reply).toMatchObject({
        type: 'aare', result: 'rejected-permanent',
        userInformation: { type: 'confirmed-service-error', errorClass: 'application-reference', value: 6 },
      });
      expect(meter.sim.securityEvents.at(-1)?.kind).toBe('policy-violation');
    } finally {
      await transport.close();
    }
  });
});
