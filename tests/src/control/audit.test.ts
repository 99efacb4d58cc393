import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/control/audit.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});
function log(now: () => number): { db: Db; audit: AuditLog } {
  const db = openDatabase(':memory:');
  dbs.push(db);
  return { db, audit: new AuditLog(db, { now }) };
}

describe('audit log', () => {
  it('refuses UPDATE and DELETE of written entries at the database', () => {
    const { db, audit } = log(() => 1_000);
    const e = audit.append({ actor: 'alice', source: '10.0.0.1', action: 'meter.update', target: 'meter:m1', outcome: 'ok', detail: { status: 200 } });
    expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE id = ?").run(e.id)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE id = ?').run(e.id)).toThrow(/append-only/);
    expect(audit.query({ limit: 10 }).items).toEqual([e]);
  });

  it('filters by actor, action, target and time, newest first, and pages with a cursor', () => {
    let t = 0;
    const { audit } = log(() => (t += 1000));
    for (let i = 0; i < 5; i++) audit.append({ actor: i % 2 === 0 ? 'alice' : 'bob', source: null, action: 'keys.set', target: `meter:m${i}`, outcome: 'ok' });
    audit.append({ actor: 'alice', source: null, action: 'meter.delete', target: 'meter:m9', outcome: 'failed', detail: { status: 404 } });

    expect(audit.query({ actor: 'alice', limit: 100 }).items.map((e) => e.target)).toEqual(['meter:m9', 'meter:m4', 'meter:m2', 'meter:m0']);
    expect(audit.query({ action: 'meter.delete', limit: 100 }).items).toMatchObject([{ outcome: 'failed', detail: { status: 404 } }]);
    expect(audit.query({ target: 'meter:m3', limit: 100 }).items).toMatchObject([{ actor: 'bob' }]);
    expect(audit.query({ from: 2000, to: 3000, limit: 100 }).items.map((e) => e.ts)).toEqual([3000, 2000]);

    const p1 = audit.query({ limit: 4 });
    expect(p1.items).toHaveLength(4);
    expect(p1.next).not.toBeNull();
    const p2 = audit.query({ limit: 4, cursor: p1.next ?? 0 });
    expect(p2.items.map((e) => e.target)).toEqual(['meter:m1', 'meter:m0']);
    expect(p2.next).toBeNull();
  });

  it('keeps an oversized detail as a note, not the blob', () => {
    const { audit } = log(() => 1);
    const e = audit.append({ actor: 'a', source: null, action: 'x', target: null, outcome: 'ok', detail: { blob: 'x'.repeat(20_000) } });
    expect(e.detail).toMatchObject({ truncated: true });
  });
});
