/**
 * The DLMS client against the simulated meter over real TCP, in both framings: the codecs,
 * the engines, the socket bindings and the object model working together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, ProtocolError, TimeoutError } from '../../protocols/adapter.js';
import { AssociationRejected } from '../../protocols/dlms/acse/diagnostics.js';
import { DlmsClient } from '../../protocols/dlms/client/client.js';
import { readClock, readObjectList, readRegister, setClock } from '../../protocols/dlms/client/cosem.js';
import { readDisconnectState, remoteDisconnect, remoteReconnect } from '../../protocols/dlms/client/control.js';
import { ScalerUnitCache } from '../../protocols/dlms/client/scaler.js';
import { executeDeviceCommand } from '../../protocols/dlms/deviceControl.js';
import { readProfile } from '../../protocols/dlms/client/profile.js';
import { openDlmsTransport, type DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT, PUBLIC_CLIENT } from '../../simulators/dlms/server.js';

const never = new AbortController().signal;

async function connect(sim: DlmsMeterSimulator, framing: DlmsFraming, clientSap: number, password?: string, timeoutMs = 3_000): Promise<DlmsClient> {
  const transport = await openDlmsTransport({
    host: '127.0.0.1', port: sim.port, framing, clientSap, serverSap: 1, timeoutMs,
    hdlc: { maxInfoTransmit: 128, maxInfoReceive: 128 },
  }, never);
  return new DlmsClient(transport, {
    clientSap, timeoutMs, maxReceivePduSize: 256,
    auth: password === undefined ? { mechanism: 'none' } : { mechanism: 'low', password },
  });
}

describe.each(['wrapper', 'hdlc'] as const)('DLMS client ↔ simulated meter over %s', (framing) => {
  let sim: DlmsMeterSimulator;
  beforeAll(async () => {
    sim = new DlmsMeterSimulator({ framing, seed: 42, serialNumber: '00000042', password: 'secret01', historyDays: 3, maxPduSize: 512 });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('associates as the public client and reads the clock and registers with their scalers', async () => {
    const client = await connect(sim, framing, PUBLIC_CLIENT);
    try {
      const assoc = await client.associate();
      expect(assoc.features).toContain('get');
      const clock = await readClock(client);
      expect(Math.abs(clock.epochMs - Date.now())).toBeLessThan(5_000);
      const voltage = await readRegister(client, '1.0.32.7.0.255');
      expect(voltage.unit).toBe(35); // V
      expect(voltage.value).toBeGreaterThan(200);
      expect(voltage.value).toBeLessThan(260);
      const energy = await readRegister(client, '1.0.1.8.0.255');
      expect(energy.unit).toBe(30); // Wh
      expect(energy.value).toBeGreaterThan(0);
      expect((await client.release()).ok).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('lists the association objects, in several blocks through a small PDU', async () => {
    const client = await connect(sim, framing, PUBLIC_CLIENT);
    try {
      await client.associate();
      const objects = await readObjectList(client);
      const byObis = new Map(objects.map((o) => [o.obis, o.classId]));
      expect(byObis.get('0.0.1.0.0.255')).toBe(8);
      expect(byObis.get('1.0.99.1.0.255')).toBe(7);
      expect(byObis.get('0.0.96.3.10.255')).toBe(70);
      expect(byObis.get('0.0.17.0.0.255')).toBe(71);
      expect(objects.length).toBeGreaterThan(20);
    } finally {
      await client.close();
    }
  });

  it('reads the load profile by clock range: one row per quarter hour, energy never decreasing', async () => {
    const client = await connect(sim, framing, PUBLIC_CLIENT);
    try {
      await client.associate();
      const to = Math.floor(Date.now() / 900_000) * 900_000;
      const from = to - 24 * 3_600_000;
      const profile = await readProfile(client, '1.0.99.1.0.255', { from, to });
      expect(profile.rows.length).toBe(97); // both ends inclusive
      const ts = profile.rows.map((r) => r.ts);
      expect(ts[0]).toBe(from);
      expect(ts.every((t, i) => i === 0 || t - (ts[i - 1] ?? 0) === 900_000)).toBe(true);
      const energyColumn = profile.columns.findIndex((c) => c.obis === '1.0.1.8.0.255');
      expect(energyColumn).toBeGreaterThan(0);
      const energy = profile.rows.map((r) => (r.columns[energyColumn]?.value as { value: number }).value);
      expect(energy.every((e, i) => i === 0 || e >= (energy[i - 1] ?? 0))).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses a wrong password with a typed association error naming the diagnostic', async () => {
    const client = await connect(sim, framing, MANAGEMENT_CLIENT, 'wrong-pw');
    try {
      const err = await client.associate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AssociationRejected);
      expect((err as AssociationRejected).diagnosticName).toBe('authentication-failure');
    } finally {
      await client.close();
    }
  });

  it('with the management password: sets the clock, opens and closes the relay, and sets the limiter', async () => {
    const client = await connect(sim, framing, MANAGEMENT_CLIENT, 'secret01');
    try {
      await client.associate();
      const target = Date.now() - 3_600_000;
      await setClock(client, target, 0);
      const clock = await readClock(client);
      expect(Math.abs(clock.epochMs - target)).toBeLessThan(5_000);
      await setClock(client, Date.now(), 0);

      await remoteDisconnect(client);
      expect(await readDisconnectState(client)).toMatchObject({ outputState: false, controlState: 'disconnected' });
      const power = await readRegister(client, '1.0.1.7.0.255');
      expect(power.value).toBe(0);
      await remoteReconnect(client);
      expect(await readDisconnectState(client)).toMatchObject({ outputState: true, controlState: 'connected' });

      const limits = { terminalId: 't', meterKey: 't/1', scalers: new ScalerUnitCache(), signal: never };
      expect(await executeDeviceCommand(client, { type: 'set-limit', address: '1', limitKw: 7.5 }, limits)).toEqual({ limitKw: 7.5 });
      expect(await executeDeviceCommand(client, { type: 'read-state', address: '1', of: 'limit' }, limits)).toEqual({ limitKw: 7.5 });
    } finally {
      await client.close();
    }
  });
});

describe('DLMS SET with data blocks over TCP', () => {
  it('writes a value larger than the meter\'s PDU in blocks, and the meter takes it', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'hdlc', seed: 5, serialNumber: '5', password: 'secret01', maxPduSize: 256 });
    await sim.start();
    try {
      const client = await connect(sim, 'hdlc', MANAGEMENT_CLIENT, 'secret01');
      await client.associate();
      // Association LN secret (IC 15 attribute 7): a 600-octet password does not fit one 256-octet PDU.
      const secret = 'x'.repeat(600);
      const result = await client.set({ classId: 15, obis: '0.0.40.0.0.255', attribute: 7 }, { type: 'octet-string', value: new TextEncoder().encode(secret) });
      expect(result.ok).toBe(true);
      await client.close();
      const again = await connect(sim, 'hdlc', MANAGEMENT_CLIENT, secret);
      await expect(again.associate()).resolves.toBeDefined();
      await again.close();
    } finally {
      await sim.stop();
    }
  });
});

describe('DLMS faults', () => {
  it('times out on a slow meter, and the association refuses further requests', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 1, serialNumber: '1' });
    await sim.start();
    try {
      const client = await connect(sim, 'wrapper', PUBLIC_CLIENT, undefined, 500);
      await client.associate();
      sim.faults.delayMs = 1_500;
      await expect(readClock(client)).rejects.toBeInstanceOf(TimeoutError);
      await expect(readClock(client)).rejects.toThrow();
      await client.close();
    } finally {
      await sim.stop();
    }
  });

  it('reports a dropped connection as a connection error', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'hdlc', seed: 2, serialNumber: '2', faults: {} });
    await sim.start();
    try {
      const client = await connect(sim, 'hdlc', PUBLIC_CLIENT);
      await client.associate();
      sim.faults.dropProbability = 1;
      const err = await readClock(client).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as { cause?: unknown }).cause ?? err).toBeInstanceOf(ConnectionError);
      await client.close();
    } finally {
      await sim.stop();
    }
  });

  it('turns corrupt HDLC frames into a typed error, never a wrong value', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'hdlc', seed: 4, serialNumber: '4', faults: {} });
    await sim.start();
    try {
      const client = await connect(sim, 'hdlc', PUBLIC_CLIENT, undefined, 800);
      await client.associate();
      sim.faults.corruptProbability = 1;
      const err = await readRegister(client, '1.0.32.7.0.255').catch((e: unknown) => e);
      // A flipped bit fails the HCS/FCS check: the frame is dropped and the request times out.
      expect(err).toBeInstanceOf(ProtocolError);
      await client.close();
    } finally {
      await sim.stop();
    }
  });

  it('refuses every association when configured so', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 3, serialNumber: '3', refuseAssociations: true });
    await sim.start();
    try {
      const client = await connect(sim, 'wrapper', PUBLIC_CLIENT);
      await expect(client.associate()).rejects.toBeInstanceOf(AssociationRejected);
      await client.close();
    } finally {
      await sim.stop();
    }
  });
});

describe('DLMS adapter (head-end side)', () => {
  it('reads the object list once per meter type, and reads registers in catalogue units', async () => {
    const { DlmsAdapter } = await import('../../protocols/dlms/adapter.js');
    const { QUANTITIES } = await import('../../src/domain/quantity.js');
    const sims = [0, 1].map((i) => new DlmsMeterSimulator({ framing: 'wrapper', seed: 10 + i, serialNumber: `T${i}`, password: 'pw123456' }));
    let objectListReads = 0;
    for (const s of sims) {
      await s.start();
      const get = s.meter.get.bind(s.meter);
      s.meter.get = (ref, access, ctx) => {
        if (ref.classId === 15 && ref.attributeId === 2) objectListReads++;
        return get(ref, access, ctx);
      };
    }
    const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: () => 'pw123456' });
    try {
      for (const [i, s] of sims.entries()) {
        const session = await adapter.open({ id: `t${i}`, endpoint: { host: '127.0.0.1', port: s.port, framing: 'wrapper', clientSap: 1, auth: 'low', meterType: 'same-type' } }, never);
        const outcomes = await session.read([
          { address: '1', quantity: 'voltage.l1' }, { address: '1', quantity: 'energy.active.import' }, { address: '1', quantity: 'power.apparent' },
        ], never);
        expect(outcomes[0]).toMatchObject({ ok: true, reading: { quantity: 'voltage.l1' } });
        expect(outcomes[1]).toMatchObject({ ok: true, reading: { quantity: 'energy.active.import' } });
        expect(outcomes[2]?.ok).toBe(false); // not in the catalogue: a typed per-item error, the rest still read
        await session.close();
      }
      expect(objectListReads).toBe(1);
    } finally {
      await adapter.close();
      for (const s of sims) await s.stop();
    }
  });

  it('asks passwordFor for the LLS password per logical device, and without one fails with DLMS_NO_PASSWORD, never an empty password', async () => {
    const { DlmsAdapter, DlmsNoPasswordError } = await import('../../protocols/dlms/adapter.js');
    const { QUANTITIES } = await import('../../src/domain/quantity.js');
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 12, serialNumber: 'T2', password: 'pw123456' });
    await sim.start();
    const endpoint = { host: '127.0.0.1', port: sim.port, framing: 'wrapper' as const, clientSap: MANAGEMENT_CLIENT, auth: 'low' as const };
    const asked: string[] = [];
    const withPassword = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: (t, a) => { asked.push(`${t}/${a}`); return 'pw123456'; } });
    const without = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: () => undefined });
    try {
      const session = await withPassword.open({ id: 'lls', endpoint }, never);
      await session.close();
      expect(asked).toEqual(['lls/1']);
      const err: unknown = await without.open({ id: 'lls', endpoint }, never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DlmsNoPasswordError);
      expect(err).toMatchObject({ code: 'DLMS_NO_PASSWORD', terminalId: 'lls' });
    } finally {
      await withPassword.close();
      await without.close();
      await sim.stop();
    }
  });
});
