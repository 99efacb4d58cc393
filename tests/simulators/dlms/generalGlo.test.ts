/**
 * Client ↔ simulated meter over real TCP (through a capturing proxy) with the client's
 * requests general-glo-ciphered (IEC 62056-5-3 §8: general-glo-ciphering [219] carries the
 * sender's system title): GET normal, with-list and in blocks, SET in blocks (the larger
 * overhead still fits the meter's PDU size) and ACTION all go as 0xDB with our system title;
 * the InitiateRequest stays a glo-initiate-request. The DlmsAdapter endpoint option does the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsAdapter } from '../../../protocols/dlms/adapter.js';
import { remoteDisconnect, remoteReconnect } from '../../../protocols/dlms/client/control.js';
import { readObjectList, readRegister } from '../../../protocols/dlms/client/cosem.js';
import { parseCipheredApdu } from '../../../protocols/dlms/security/ciphering.js';
import { DlmsSecurityError } from '../../../protocols/dlms/security/securityError.js';
import { HLS_CLIENT } from '../../../simulators/dlms/server.js';
import { CLIENT_TITLE, KEYS, METER_TITLE, clientSecurity, connectHls, freshCounters, pushObjectList, startProxiedMeter, type ProxiedMeter } from './securityFixture.js';

const PUSH_SETUP = { classId: 40, obis: '0.0.25.9.0.255' };

describe('general-glo ciphered requests, client ↔ simulated meter over TCP', () => {
  let meter: ProxiedMeter;
  beforeAll(async () => {
    meter = await startProxiedMeter({ seed: 6, serialNumber: '00000006', historyDays: 0, maxPduSize: 512 });
  });
  afterAll(() => meter.stop());

  it('sends every GET, SET and ACTION as general-glo-ciphering with our system title', async () => {
    const security = clientSecurity('auth-enc', { ciphering: 'general-glo' });
    const from = meter.proxy.fromClient.length;
    const { client } = await connectHls(meter.proxy.port, 'wrapper', security);
    try {
      await client.associate();
      expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
      expect((await readObjectList(client)).length).toBeGreaterThan(20);
      const long = pushObjectList(40);
      expect(await client.set({ ...PUSH_SETUP, attribute: 2 }, long)).toEqual({ ok: true });
      expect(await client.get({ ...PUSH_SETUP, attribute: 2 })).toEqual({ ok: true, value: long });
      await remoteDisconnect(client);
      await remoteReconnect(client);
      expect((await client.release()).ok).toBe(true);
    } finally {
      await client.close();
    }
    const sent = meter.proxy.fromClient.slice(from);
    expect(sent[0]?.[0]).toBe(0x60);
    const services = sent.slice(1, -1);
    expect(services.length).toBeGreaterThan(10);
    for (const apdu of services) {
      const framing = parseCipheredApdu(apdu);
      expect(framing.form).toBe('general-glo');
      expect(framing.systemTitle).toEqual(CLIENT_TITLE);
      // No request exceeds what the meter accepts (its max PDU size, 512).
      expect(apdu.length).toBeLessThanOrEqual(512);
    }
    expect(security.events).toEqual([]);
    expect(meter.sim.securityEvents).toEqual([]);
  });

  it('refuses general-glo together with a dedicated key', () => {
    return expect(connectHls(meter.proxy.port, 'wrapper', clientSecurity('auth-enc', { ciphering: 'general-glo', useDedicatedKey: true })))
      .rejects.toBeInstanceOf(DlmsSecurityError);
  });

  it('reads through the DlmsAdapter with the endpoint option ciphering: general-glo', async () => {
    const adapter = new DlmsAdapter({
      catalogue: { 'energy.active.import': { obis: '1.0.1.8.0.255', unit: 'kWh' } }, timeoutMs: 5_000,
      securityFor: () => ({ protection: 'auth-enc', systemTitle: CLIENT_TITLE, keys: KEYS, counters: freshCounters() }),
    });
    const from = meter.proxy.fromClient.length;
    const session = await adapter.open({
      id: 't-gg', endpoint: {
        host: '127.0.0.1', port: meter.proxy.port, framing: 'wrapper', clientSap: HLS_CLIENT, auth: 'high-gmac', security: 'auth-enc',
        systemTitle: Buffer.from(METER_TITLE).toString('hex'), ciphering: 'general-glo',
      },
    }, new AbortController().signal);
    try {
      const [outcome] = await session.read([{ address: '1', quantity: 'energy.active.import' }], new AbortController().signal);
      expect(outcome?.ok).toBe(true);
    } finally {
      await session.close();
      await adapter.close();
    }
    const services = meter.proxy.fromClient.slice(from).filter((a) => a[0] !== 0x60 && a[0] !== 0x62);
    expect(services.length).toBeGreaterThan(0);
    expect(services.every((a) => a[0] === 0xdb)).toBe(true);
  });
});
