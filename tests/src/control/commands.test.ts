/**
 * The command service on its own: durable queue across a restart (on every store driver), rate limit,
 * confirmation expiry, the admin override and program requests through ControlPort. Devices
 * are stand-in runners here; tests/integration/commands.test.ts drives the real simulators.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { SqliteCommandStore, type CommandStore } from '../../../src/control/commandStore.js';
import { CommandService, type CommandRunner, type CommandSettings } from '../../../src/control/commands.js';
import { TerminalRateLimit } from '../../../src/control/guardRails.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { STORE_DRIVERS, commandStoreOf, disposeStoreDrivers } from '../../helpers/storeDrivers.js';

const meter = (id: string, address: string, isProtected = false): Meter => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address, ctRatio: 1, ptRatio: 1, areaId: null, protected: isProtected, customerRef: null, accountRef: null,
});
const METERS = [meter('m1', '1'), meter('m2', '2'), meter('m3', '3'), meter('safe', '4', true)];
const SETTINGS: CommandSettings = { confirmAbove: 10, perTerminalRatePerMinute: 600, commandTimeoutMs: 1_000, idempotencyHours: 24, maxConcurrentTerminals: 4 };
const who = { actor: 'op', source: '10.0.0.1', isAdmin: false };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await disposeStoreDrivers();
});

/** A relay per address that follows the commands it is sent. */
function fakeDevice() {
  const relay = new Map<string, boolean>();
  const sent: StationCommand[] = [];
  const run: CommandRunner = (_t, c) => {
    sent.push(c);
    if (c.type === 'disconnect' || c.type === 'reconnect') relay.set(c.address, c.type === 'reconnect');
    if (c.type === 'read-state') return Promise.resolve({ connected: relay.get(c.address) ?? true });
    return Promise.resolve<DeviceControlState>({ connected: relay.get(c.address) ?? true });
  };
  return { relay, sent, run };
}

/** Store errors the services reported; a test that expects none checks this stays empty. */
const storeErrors: unknown[] = [];

function service(db: Db, run: CommandRunner, settings: Partial<CommandSettings> = {}, now: () => number = Date.now, store: CommandStore = new SqliteCommandStore(db)) {
  const s = new CommandService({
    store, audit: new SqliteAuditLog(db), run, now, settings: { ...SETTINGS, ...settings },
    meters: { meter: (id) => METERS.find((m) => m.id === id), metersOfArea: () => undefined },
    onStoreError: (err) => { storeErrors.push(err); },
  });
  cleanups.push(() => s.close());
  return s;
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never met');
}

describe.each(STORE_DRIVERS)('CommandService restart on $name', (driver) => {
  it('resumes pending targets and re-verifies, never resends, those a stop left in flight', async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    const database = await driver.create();
    cleanups.push(() => database.dispose());
    // The audit log stays embedded here: its own suite covers both drivers.
    const auditDb = openDatabase(':memory:');
    cleanups.push(() => { auditDb.close(); });
    // First run: the device never answers, and the rate limit holds the second meter back.
    const hanging: CommandRunner = (_t, _c, { signal }) => new Promise((_r, reject) => { signal.addEventListener('abort', () => { reject(new Error('stopped')); }); });
    const first = service(auditDb, hanging, { perTerminalRatePerMinute: 1 }, Date.now, commandStoreOf(await database.connect()));
    await first.start();
    const { command } = await first.submit({ type: 'disconnect', meterIds: ['m1', 'm2'] }, 'k1', who) as { command: { id: string } };
    await until(async () => ((await first.get(command.id))?.targets[0]?.status === 'sent' ? true : undefined));
    await first.close();
    // Second run on a new connection: the meter at address 1 shows the relay open already (the first send did reach it).
    const device = fakeDevice();
    device.relay.set('1', false);
    const second = service(auditDb, device.run, {}, Date.now, commandStoreOf(await database.connect()));
    expect(await second.start()).toEqual({ resumed: 1, interrupted: 1 });
    const done = await until(async () => {
      const c = await second.get(command.id);
      return c?.targets.every((t) => t.status === 'verified') === true ? c : undefined;
    });
    expect(done.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'failed', 'verified']);
    expect(device.sent).toEqual([{ type: 'read-state', address: '1', of: 'relay' }, { type: 'disconnect', address: '2' }]);
    const audit = (await new SqliteAuditLog(auditDb).query({ action: 'command.disconnect', limit: 10 })).items;
    expect(audit.some((e) => e.target === 'meter:m1' && e.outcome === 'failed' && (e.detail?.error as { code?: string } | undefined)?.code === 'INTERRUPTED')).toBe(true);
    expect(storeErrors.splice(0)).toEqual([]);
  }, 30_000);
});

describe('CommandService store failures', () => {
  it('sends nothing until `sent` is stored, retrying the write, and then sends once', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const real = new SqliteCommandStore(db);
    let failuresLeft = 2;
    // The store refuses the first two writes of `sent`, as a database that is restarting does.
    const flaky: CommandStore = {
      insert: (c) => real.insert(c), get: (id) => real.get(id), target: (c, m) => real.target(c, m),
      byIdempotencyKey: (a, k) => real.byIdempotencyKey(a, k), expireIdempotencyKeys: (b) => real.expireIdempotencyKeys(b),
      openTargets: () => real.openTargets(), list: (f) => real.list(f),
      transition: (...args) => {
        if (args[2] === 'sent' && failuresLeft > 0) {
          failuresLeft--;
          return Promise.reject(new Error('database unreachable'));
        }
        return real.transition(...args);
      },
    };
    const device = fakeDevice();
    const s = new CommandService({
      store: flaky, audit: new SqliteAuditLog(db), run: device.run, settings: SETTINGS, storeRetryMs: 5,
      meters: { meter: (id) => METERS.find((m) => m.id === id), metersOfArea: () => undefined },
      onStoreError: (err) => { storeErrors.push(err); },
    });
    cleanups.push(() => s.close());
    const out = await s.submit({ type: 'disconnect', meterIds: ['m1'] }, 'k', who);
    if (out.kind !== 'created') throw new Error('expected a command');
    const done = await until(async () => ((await s.get(out.command.id))?.targets[0]?.status === 'verified' ? true : undefined));
    expect(done).toBe(true);
    expect(storeErrors.splice(0)).toHaveLength(2);
    expect(device.sent).toEqual([{ type: 'disconnect', address: '1' }]);
    expect((await s.get(out.command.id))?.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
  });
});

describe('CommandService guard rails', () => {
  it('sends one command per terminal token: the next meter waits while the bucket is empty', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const device = fakeDevice();
    const s = service(db, device.run, { perTerminalRatePerMinute: 1 });
    const { command } = await s.submit({ type: 'disconnect', meterIds: ['m1', 'm2', 'm3'] }, 'k', who) as { command: { id: string } };
    await until(async () => ((await s.get(command.id))?.targets[0]?.status === 'verified' ? true : undefined));
    expect(device.sent).toHaveLength(1);
    expect((await s.get(command.id))?.targets.slice(1).map((t) => t.status)).toEqual(['pending', 'pending']);
    const bucket = new TerminalRateLimit(60, 1, () => 0);
    expect([bucket.take('t'), bucket.take('t'), bucket.take('other')]).toEqual([0, 1000, 0]);
  });

  it('pages the history with a command as cursor and refuses one naming no command', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    let t = 1_000_000;
    const s = service(db, fakeDevice().run, {}, () => t);
    for (const key of ['a', 'b', 'c']) {
      await s.submit({ type: 'reconnect', meterIds: ['m1'] }, key, who);
      t += 1_000;
    }
    const first = await s.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next).not.toBeNull();
    const second = await s.list({ limit: 2, before: first.next ?? '' });
    expect(second).toMatchObject({ items: [{ id: expect.any(String) as string }], next: null });
    await expect(s.list({ limit: 2, before: 'cmd-unknown' })).rejects.toThrow(expect.objectContaining({ code: 'VALIDATION', status: 400 }));
  });

  it('refuses an expired confirmation token', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    let t = 1_000_000;
    const s = service(db, fakeDevice().run, { confirmAbove: 1 }, () => t);
    const req = { type: 'reconnect' as const, meterIds: ['m1', 'm2'] };
    const preview = await s.submit(req, 'k', who);
    if (preview.kind !== 'preview') throw new Error('expected a preview');
    t += 121_000;
    await expect(s.submit({ ...req, confirmationToken: preview.preview.confirmationToken }, 'k', who)).rejects.toThrow(expect.objectContaining({ code: 'CONFIRMATION_EXPIRED', status: 400 }));
  });

  it('lets an admin override a protected meter with a reason, audited with it', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const device = fakeDevice();
    const s = service(db, device.run);
    await expect(s.submit({ type: 'disconnect', meterIds: ['safe'], override: { reason: 'arrears' } }, 'k1', who)).rejects.toThrow(expect.objectContaining({ code: 'OVERRIDE_FORBIDDEN' }));
    const out = await s.submit({ type: 'disconnect', meterIds: ['safe'], override: { reason: 'arrears' } }, 'k2', { ...who, isAdmin: true });
    if (out.kind !== 'created') throw new Error('expected a command');
    await until(async () => ((await s.get(out.command.id))?.targets[0]?.status === 'verified' ? true : undefined));
    expect(device.relay.get('4')).toBe(false);
    const entry = (await new SqliteAuditLog(db).query({ action: 'command.override', limit: 5 })).items[0];
    expect(entry).toMatchObject({ actor: 'op', source: '10.0.0.1', outcome: 'ok', detail: { overrideReason: 'arrears' } });
  });

  it('serves load-control programs as their ControlPort: protected meters refused, others verified', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const s = service(db, fakeDevice().run);
    const origin = { kind: 'program' as const, id: 'p1', round: 1 };
    const refused = await s.execute({ meterId: 'safe', command: 'disconnect', origin, reason: 'round 1' });
    expect(refused).toMatchObject({ status: 'refused', error: { code: 'PROTECTED_METER' } });
    const verified = await s.execute({ meterId: 'm1', command: 'disconnect', origin, reason: 'round 1' });
    expect(verified).toEqual({ status: 'verified', commandId: expect.any(String) as string, state: { connected: false } });
    const made = (await s.list({ limit: 10 })).items;
    expect(made.map((c) => c.origin)).toEqual([origin, origin]);
    // Each result names its command, for tracing to the command log and audit.
    expect(new Set(made.map((c) => c.id))).toEqual(new Set([refused.commandId, verified.commandId]));
  });
});
