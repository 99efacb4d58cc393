/**
 * Over real sockets: the head-end authenticates to simulated LLS meters with the password
 * from its key store (never from the endpoint), refuses a password in a terminal, and moves a
 * password an older station kept in a registry row into the key store at start.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { createLogger } from '../../src/observe/logger.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MASTER_KEY = randomBytes(32).toString('hex');
const PASSWORD = 'secret01';
const STATION = {
  simulators: { enabled: false },
  mqtt: { embeddedBroker: { enabled: true, port: 0 } },
  collect: { profiles: { fast: FAST_FLEET.collect.profiles.fast } },
};

interface TerminalView { dlms: Record<string, unknown>; state?: { lastError: { code: string; message: string; ts: number } | null } }
interface Problem { status: number; code: string; detail: string }

async function startMeter(seed: number): Promise<DlmsMeterSimulator> {
  const sim = new DlmsMeterSimulator({ host: '127.0.0.1', framing: 'wrapper', seed, serialNumber: `0000${seed}`, password: PASSWORD, historyDays: 0 });
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

const endpoint = (sim: DlmsMeterSimulator) => ({ host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low', meterType: 'sim-lls' });

async function addMeter(h: TestHeadEnd, id: string, sim: DlmsMeterSimulator): Promise<void> {
  expect((await h.send('POST', '/api/v1/terminals', { id, protocol: 'dlms', profiles: ['fast'], dlms: endpoint(sim) })).status).toBe(201);
  expect((await h.send('POST', '/api/v1/meters', { id: `${id}-1`, terminalId: id, address: '1' })).status).toBe(201);
}

const lastErrorOf = async (h: TestHeadEnd, id: string) => ((await h.get(`/api/v1/terminals/${id}`)).body as TerminalView).state?.lastError ?? undefined;

const hasReadings = async (h: TestHeadEnd, meter: string): Promise<true | undefined> => {
  const res = await h.get(`/api/v1/meters/${meter}/latest`);
  return res.status === 200 && (res.body as { values: { quantity: string }[] }).values.some((v) => v.quantity === 'power.active') ? true : undefined;
};

describe('the LLS password comes from the key store', () => {
  it('polls a meter whose password was set through the keys API, and fails a wrong one at the association', async () => {
    const lines: string[] = [];
    const h = await startTestHeadEnd(STATION, { env: { GRIDHEAD_MASTER_KEY: MASTER_KEY }, logger: createLogger('info', { write: (s: string) => { lines.push(s); } }) });
    cleanups.push(() => h.stop());
    const [good, other] = [await startMeter(11), await startMeter(12)];

    const refused = await h.send('POST', '/api/v1/terminals', { id: 'with-pw', protocol: 'dlms', profiles: [], dlms: { ...endpoint(good), password: PASSWORD } });
    expect(refused.status).toBe(400);
    expect((refused.body as Problem).detail).toContain('/api/v1/meters/:id/keys');
    expect(JSON.stringify(refused.body)).not.toContain(PASSWORD);

    // No password stored yet: the association fails with a typed error, and nothing is sent on the wire.
    await addMeter(h, 'lls', good);
    const missing = await eventually(async () => { const e = await lastErrorOf(h, 'lls'); return e?.code === 'DLMS_PASSWORD_MISSING' ? e : undefined; }, 15_000, 'the missing-password error');
    expect(missing.message).toContain('meter lls-1');
    // Two more failed cycles, and the broken meter is still one log line (its offline transition).
    await eventually(async () => ((await lastErrorOf(h, 'lls'))?.ts ?? 0) > missing.ts + 1_500 ? true : undefined, 15_000, 'further failed cycles');
    expect(lines.filter((l) => l.includes('DLMS_PASSWORD_MISSING'))).toHaveLength(1);
    expect(await hasReadings(h, 'lls-1')).toBeUndefined();

    expect((await h.send('PUT', '/api/v1/meters/lls-1/keys', { password: PASSWORD })).status).toBe(200);
    await eventually(() => hasReadings(h, 'lls-1'), 20_000, 'readings under the stored password');
    const view = (await h.get('/api/v1/terminals/lls')).body as TerminalView;
    expect(view.dlms).not.toHaveProperty('password');

    await addMeter(h, 'lls-wrong', other);
    expect((await h.send('PUT', '/api/v1/meters/lls-wrong-1/keys', { password: 'not-the-pw' })).status).toBe(200);
    const rejected = await eventually(async () => { const e = await lastErrorOf(h, 'lls-wrong'); return e?.code === 'DLMS_ASSOCIATION_REJECTED' ? e : undefined; }, 15_000, 'the rejected association');
    expect(rejected.message).toContain('authentication-failure');
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('moves a password an older station kept in a registry row into the key store, once, and polls with it', async () => {
    const sim = await startMeter(13);
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-lls-'));
    cleanups.push(() => { rmSync(dataDir, { recursive: true, force: true }); });
    // What an older station left behind: a terminal created through the API with its password in the row.
    const db = openDatabase(join(dataDir, 'gridhead.db'));
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    await registry.createTerminal({ id: 'old', protocol: 'dlms', enabled: true, profiles: ['fast'], dlms: { ...endpoint(sim), framing: 'wrapper', auth: 'low', security: 'none' } });
    await registry.createMeter({ id: 'old-1', terminalId: 'old', address: '1', ctRatio: 1, ptRatio: 1, protected: false });
    db.prepare("UPDATE terminals SET endpoint = json_set(endpoint, '$.dlms.password', ?) WHERE id = 'old'").run(PASSWORD);
    db.close();
    const storedRow = (): string => {
      const again = openDatabase(join(dataDir, 'gridhead.db'));
      try {
        return again.prepare("SELECT endpoint FROM terminals WHERE id = 'old'").pluck().get() as string;
      } finally {
        again.close();
      }
    };
    expect(storedRow()).toContain(PASSWORD);

    const lines: string[] = [];
    const options = { dataDir, env: { GRIDHEAD_MASTER_KEY: MASTER_KEY }, logger: createLogger('info', { write: (s: string) => { lines.push(s); } }) };
    const first = await startTestHeadEnd(STATION, options);
    try {
      expect((await first.get('/api/v1/meters/old-1/keys')).body).toMatchObject({ passwordSet: true });
      const audit = (await first.get('/api/v1/audit?action=keys.set')).body as { items: { target: string; actor: string; detail: Record<string, unknown> }[] };
      expect(audit.items).toHaveLength(1);
      expect(audit.items[0]).toMatchObject({ target: 'meter:old-1', actor: 'system', detail: { keys: ['password'], replaced: false } });
      await eventually(() => hasReadings(first, 'old-1'), 20_000, 'readings under the moved password');
    } finally {
      await first.close();
    }
    const moved = lines.filter((l) => l.includes('moved the LLS password'));
    expect(moved).toHaveLength(1);
    expect(JSON.parse(moved[0] ?? '{}')).toMatchObject({ level: 40, terminal: 'old', meters: ['old-1'] });
    expect(storedRow()).not.toContain(PASSWORD);
    expect(lines.join('\n')).not.toContain(PASSWORD);

    // Restart on the same data: nothing left to move, the stored password still serves.
    lines.length = 0;
    const second = await startTestHeadEnd(STATION, options);
    try {
      expect((await second.get('/api/v1/meters/old-1/keys')).body).toMatchObject({ passwordSet: true, generation: 1 });
      await eventually(() => hasReadings(second, 'old-1'), 20_000, 'readings after the restart');
    } finally {
      await second.close();
    }
    expect(lines.filter((l) => l.includes('moved the LLS password'))).toHaveLength(0);
  });
});
