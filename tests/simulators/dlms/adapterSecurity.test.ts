/**
 * The head-end DLMS adapter opening an HLS-GMAC, auth-enc association with the simulated meter
 * over real TCP: keys come from securityFor; a terminal without keys fails with DLMS_NO_KEYS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsAdapter, DlmsNoKeysError } from '../../../protocols/dlms/adapter.js';
import type { DlmsEndpoint } from '../../../protocols/dlms/config.js';
import { DlmsMeterSimulator, HLS_CLIENT } from '../../../simulators/dlms/server.js';
import { clientSecurity, KEYS, METER_TITLE } from './securityFixture.js';

describe('DlmsAdapter with HLS-GMAC', () => {
  let sim: DlmsMeterSimulator;
  beforeAll(async () => {
    sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 5, serialNumber: '00000005', historyDays: 0, security: { systemTitle: METER_TITLE, keys: KEYS, protection: 'auth-enc' } });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });
  const endpoint = (): DlmsEndpoint => ({
    host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: HLS_CLIENT, auth: 'high-gmac', security: 'auth-enc', systemTitle: '4d4d4d0000bc614e',
  });
  const catalogue = { 'energy.active.import': { obis: '1.0.1.8.0.255', unit: 'kWh' } };

  it('reads a register through a ciphered association opened with the keys securityFor gives', async () => {
    const asked: string[] = [];
    const adapter = new DlmsAdapter({ catalogue, timeoutMs: 5_000, securityFor: (id) => { asked.push(id); return clientSecurity('auth-enc'); } });
    try {
      const session = await adapter.open({ id: 'T1', endpoint: endpoint() }, new AbortController().signal);
      const [outcome] = await session.read([{ address: '1', quantity: 'energy.active.import' }], new AbortController().signal);
      expect(outcome?.ok).toBe(true);
      expect(asked).toEqual(['T1']);
      await session.close();
    } finally {
      await adapter.close();
    }
  });

  it('fails the open with DLMS_NO_KEYS when there are no keys for the terminal', async () => {
    const adapter = new DlmsAdapter({ catalogue, timeoutMs: 5_000, securityFor: () => undefined });
    try {
      const e: unknown = await adapter.open({ id: 'T2', endpoint: endpoint() }, new AbortController().signal).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(DlmsNoKeysError);
      expect((e as DlmsNoKeysError).code).toBe('DLMS_NO_KEYS');
      expect((e as Error).message).toContain('no keys for terminal T2');
    } finally {
      await adapter.close();
    }
  });
});
