/**
 * The audit log's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, see tests/helpers/controlStores.ts): append-only at the database, filters and
 * pages, bounded detail.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../../src/control/audit.js';
import { STORE_DRIVERS, auditLogOf, connectEachTest, disposeStoreDrivers, execute } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('audit log on $name', (driver) => {
  const db = connectEachTest(driver);
  let t = 0;
  let clock: () => number = () => t;
  const log = (now: () => number): AuditLog => {
    clock = now;
    return auditLogOf(db().connection, { now: () => clock() });
  };

  beforeEach(() => {
    t = 0;
  });

  it('refuses UPDATE and DELETE of written entries at the database', async () => {
    const audit = log(() => 1_000);
    const e = await audit.append({ actor: 'alice', source: '10.0.0.1', action: 'meter.update', target: 'meter:m1', outcome: 'ok', detail: { status: 200 } });
    const conn = db().connection;
    await expect(execute(conn, `UPDATE audit_log SET actor = 'mallory' WHERE id = ${e.id}`)).rejects.toThrow(/append-only/);
    await expect(execute(conn, `DELETE FROM audit_log WHERE id = ${e.id}`)).rejects.toThrow(/append-only/);
    // SQLite has no TRUNCATE; PostgreSQL's would bypass row triggers, so it has a trigger of its own.
    if (conn.postgres !== undefined) await expect(execute(conn, 'TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await audit.query({ limit: 10 })).items).toEqual([e]);
  });

  it('filters by actor, action, target and time, newest first, and pages with a cursor', async () => {
    const audit = log(() => (t += 1000));
    for (let i = 0; i < 5; i++) await audit.append({ actor: i % 2 === 0 ? 'alice' : 'bob', source: null, action: 'keys.set', target: `meter:m${i}`, outcome: 'ok' });
    await audit.append({ actor: 'alice', source: null, action: 'meter.delete', target: 'meter:m9', outcome: 'failed', detail: { status: 404 } });

    expect((await audit.query({ actor: 'alice', limit: 100 })).items.map((e) => e.target)).toEqual(['meter:m9', 'meter:m4', 'meter:m2', 'meter:m0']);
    expect((await audit.query({ action: 'meter.delete', limit: 100 })).items).toMatchObject([{ outcome: 'failed', detail: { status: 404 } }]);
    expect((await audit.query({ target: 'meter:m3', limit: 100 })).items).toMatchObject([{ actor: 'bob' }]);
    expect((await audit.query({ from: 2000, to: 3000, limit: 100 })).items.map((e) => e.ts)).toEqual([3000, 2000]);

    const p1 = await audit.query({ limit: 4 });
    expect(p1.items).toHaveLength(4);
    expect(p1.next).not.toBeNull();
    const p2 = await audit.query({ limit: 4, cursor: p1.next ?? 0 });
    expect(p2.items.map((e) => e.target)).toEqual(['meter:m1', 'meter:m0']);
    expect(p2.next).toBeNull();
  });

  it('keeps an oversized detail as a note, not the blob', async () => {
    const audit = log(() => 1);
    const e = await audit.append({ actor: 'a', source: null, action: 'x', target: null, outcome: 'ok', detail: { blob: 'x'.repeat(20_000) } });
    expect(e.detail).toMatchObject({ truncated: true });
    expect((await audit.query({ limit: 1 })).items[0]?.detail).toEqual(e.detail);
  });

  it('keeps every entry across a reconnect, as a restarted station finds them', async () => {
    const audit = log(() => 5);
    const e = await audit.append({ actor: 'a', source: '10.0.0.2', action: 'token.create', target: 'token:t1', outcome: 'ok', detail: { role: 'admin' } });
    const again = auditLogOf(await db().connect());
    expect((await again.query({ limit: 10 })).items).toEqual([e]);
  });
});
