import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmService, type AlarmChange, type AlarmProblem } from '../../../src/alarms/service.js';
import { ConflictError, NotFoundError, ValidationError, areaId } from '../../../src/domain/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { seededRegistry, signal } from './fixtures.js';

function service(db: Db = openDatabase(':memory:'), extra: { maxOpenPerRule?: number; onProblem?: (p: AlarmProblem) => void } = {}) {
  const registry = seededRegistry(db);
  let t = 1_750_000_100_000;
  const alarms = new AlarmService(db, { areaSubtree: (id) => registry.areaSubtree(id), now: () => t++, ...extra });
  const changes: AlarmChange[] = [];
  alarms.onChange((c) => changes.push(c));
  return { alarms, changes, db };
}

describe('alarm lifecycle', () => {
  it('opens an alarm on a raise, with the signal explanation and value', () => {
    const { alarms, changes } = service();
    const a = alarms.onSignal(signal());
    expect(a).toMatchObject({ state: 'raised', ruleId: 'over-limit', value: 12.4, explanation: 'power 12.4 kW over the 10 kW limit for 60 s', raisedAt: 1_750_000_000_000 });
    expect(changes.map((c) => c.kind)).toEqual(['raised']);
    expect(alarms.get(a?.id ?? '')).toEqual(a);
  });

  it('updates the open alarm on a repeated raise instead of opening a second one', () => {
    const { alarms, changes } = service();
    const first = alarms.onSignal(signal());
    const second = alarms.onSignal(signal({ value: 14, explanation: 'power 14 kW over the 10 kW limit', severity: 'critical' }));
    expect(second?.id).toBe(first?.id);
    expect(alarms.list().items).toHaveLength(1);
    expect(alarms.get(first?.id ?? '')).toMatchObject({ value: 14, severity: 'critical', explanation: 'power 14 kW over the 10 kW limit', state: 'raised' });
    expect(changes.map((c) => c.kind)).toEqual(['raised', 'updated']);
  });

  it('keeps one alarm per rule and subject: another meter or rule opens its own', () => {
    const { alarms } = service();
    alarms.onSignal(signal());
    alarms.onSignal(signal({ meter: 'm2' }));
    alarms.onSignal(signal({ ruleId: 'voltage' }));
    expect(alarms.list().items).toHaveLength(3);
  });

  it('acknowledges with the actor and an optional comment, and refuses to acknowledge a cleared alarm', () => {
    const { alarms, changes } = service();
    const a = alarms.onSignal(signal());
    const id = a?.id ?? '';
    const acked = alarms.acknowledge(id, 'operator-7', 'crew dispatched');
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'operator-7' });
    expect(acked.comments).toMatchObject([{ by: 'operator-7', text: 'crew dispatched' }]);
    expect(alarms.acknowledge(id, 'someone-else').acknowledgedBy).toBe('operator-7');
    alarms.onSignal(signal({ kind: 'clear', explanation: 'power back to 8 kW', value: 8, at: 1_750_000_300_000 }));
    expect(() => alarms.acknowledge(id, 'operator-7')).toThrow(ConflictError);
    expect(changes.map((c) => c.kind)).toEqual(['raised', 'acknowledged', 'cleared']);
  });

  it('clears a raised or acknowledged alarm with the clear explanation and keeps the raise explanation', () => {
    const { alarms } = service();
    const a = alarms.onSignal(signal());
    alarms.acknowledge(a?.id ?? '', 'op');
    const cleared = alarms.onSignal(signal({ kind: 'clear', explanation: 'power back to 8 kW', value: 8, at: 1_750_000_300_000 }));
    expect(cleared).toMatchObject({
      state: 'cleared', clearedAt: 1_750_000_300_000, clearExplanation: 'power back to 8 kW',
      explanation: 'power 12.4 kW over the 10 kW limit for 60 s', acknowledgedBy: 'op',
    });
  });

  it('never reopens a cleared alarm: the next raise opens a new one', () => {
    const { alarms } = service();
    const first = alarms.onSignal(signal());
    alarms.onSignal(signal({ kind: 'clear' }));
    const second = alarms.onSignal(signal({ at: 1_750_000_500_000 }));
    expect(second?.id).not.toBe(first?.id);
    expect(alarms.get(first?.id ?? '').state).toBe('cleared');
    expect(alarms.list({ state: 'raised' }).items.map((a) => a.id)).toEqual([second?.id]);
  });

  it('counts a clear with no open alarm and changes nothing', () => {
    const { alarms, changes } = service();
    expect(alarms.onSignal(signal({ kind: 'clear' }))).toBeUndefined();
    expect(alarms.stats().clearsWithoutOpen).toBe(1);
    expect(changes).toEqual([]);
  });

  it('keeps comments in order, on open and cleared alarms alike', () => {
    const { alarms } = service();
    const id = alarms.onSignal(signal())?.id ?? '';
    alarms.comment(id, 'a', 'first');
    alarms.onSignal(signal({ kind: 'clear' }));
    alarms.comment(id, 'b', 'second');
    expect(alarms.get(id).comments.map((c) => [c.by, c.text])).toEqual([['a', 'first'], ['b', 'second']]);
    expect(() => alarms.comment(id, 'b', '   ')).toThrow(ValidationError);
    expect(() => alarms.comment('999', 'b', 'x')).toThrow(NotFoundError);
    expect(() => alarms.get('not-a-number')).toThrow(NotFoundError);
  });

  it('caps open alarms per rule, reports the overflow once, and accepts raises again after a clear', () => {
    const problems: AlarmProblem[] = [];
    const { alarms } = service(undefined, { maxOpenPerRule: 2, onProblem: (p) => problems.push(p) });
    alarms.onSignal(signal({ meter: 'm1' }));
    alarms.onSignal(signal({ meter: 'm2' }));
    expect(alarms.onSignal(signal({ meter: 'm3' }))).toBeUndefined();
    expect(alarms.onSignal(signal({ meter: 'm4' }))).toBeUndefined();
    expect(alarms.onSignal(signal({ ruleId: 'other', meter: 'm3' }))).toBeDefined();
    expect(alarms.stats()).toMatchObject({ overflow: 2, open: 3 });
    expect(problems.map((p) => p.code)).toEqual(['OPEN_LIMIT']);
    alarms.onSignal(signal({ meter: 'm1', kind: 'clear' }));
    expect(alarms.onSignal(signal({ meter: 'm3' }))?.state).toBe('raised');
  });

  it('reports a throwing listener without failing the signal', () => {
    const problems: AlarmProblem[] = [];
    const { alarms } = service(undefined, { onProblem: (p) => problems.push(p) });
    alarms.onChange(() => { throw new Error('listener broke'); });
    expect(alarms.onSignal(signal())?.state).toBe('raised');
    expect(problems).toMatchObject([{ code: 'LISTENER_FAILED', message: 'listener broke' }]);
  });
});

describe('alarm persistence', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reloads open alarms after a restart: a repeated raise updates, a clear clears, nothing is duplicated', () => {
    dir = mkdtempSync(join(tmpdir(), 'gridhead-alarms-'));
    const file = join(dir, 'gridhead.db');
    const db1 = openDatabase(file);
    const before = service(db1).alarms;
    const open = before.onSignal(signal());
    const acked = before.onSignal(signal({ meter: 'm2' }));
    before.acknowledge(acked?.id ?? '', 'op', 'seen');
    const gone = before.onSignal(signal({ ruleId: 'voltage' }));
    before.onSignal(signal({ ruleId: 'voltage', kind: 'clear' }));
    db1.close();

    const db2 = openDatabase(file);
    const after = service(db2).alarms;
    expect(after.stats().open).toBe(2);
    expect(after.onSignal(signal({ value: 20 }))?.id).toBe(open?.id);
    expect(after.get(acked?.id ?? '')).toMatchObject({ state: 'acknowledged', comments: [{ by: 'op', text: 'seen' }] });
    expect(after.onSignal(signal({ meter: 'm2', kind: 'clear' }))?.state).toBe('cleared');
    expect(after.onSignal(signal({ ruleId: 'voltage' }))?.id).not.toBe(gone?.id);
    expect(after.list({ limit: 1000 }).items).toHaveLength(4);
    db2.close();
  });
});

describe('alarm list', () => {
  function populated() {
    const s = service();
    s.alarms.onSignal(signal({ meter: 'm1', at: 1_000_000_000_000 }));
    s.alarms.onSignal(signal({ meter: 'm2', at: 1_000_000_100_000, severity: 'critical' }));
    s.alarms.onSignal(signal({ ruleId: 'area-loss', subject: { kind: 'area', id: areaId('sub') }, areaId: areaId('sub'), at: 1_000_000_200_000 }));
    s.alarms.onSignal(signal({ ruleId: 'comm', subject: { kind: 'meter', id: 'm9' as never }, areaId: null, at: 1_000_000_300_000, severity: 'warning' }));
    return s.alarms;
  }

  it('filters by area including descendant areas', () => {
    const alarms = populated();
    const subjects = (area: string) => alarms.list({ areaId: area }).items.map((a) => a.subject.id).sort();
    expect(subjects('region')).toEqual(['m1', 'm2', 'sub']);
    expect(subjects('sub')).toEqual(['m1', 'sub']);
    expect(subjects('tx1')).toEqual(['m1']);
    expect(() => alarms.list({ areaId: 'nowhere' })).toThrow(ValidationError);
  });

  it('filters by severity, meter, rule, state and raise time', () => {
    const alarms = populated();
    expect(alarms.list({ severity: 'critical' }).items.map((a) => a.subject.id)).toEqual(['m2']);
    expect(alarms.list({ meterId: 'm1' }).items.map((a) => a.ruleId)).toEqual(['over-limit']);
    expect(alarms.list({ ruleId: 'comm' }).items.map((a) => a.subject.id)).toEqual(['m9']);
    expect(alarms.list({ state: 'cleared' }).items).toEqual([]);
    expect(alarms.list({ from: 1_000_000_100_000, to: 1_000_000_300_000 }).items.map((a) => a.subject.id)).toEqual(['sub', 'm2']);
    expect(() => alarms.list({ from: 5, to: 5 })).toThrow(ValidationError);
  });

  it('pages newest first with a cursor until the last page', () => {
    const alarms = populated();
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = alarms.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((a) => a.subject.id));
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(seen).toEqual(['m9', 'sub', 'm2', 'm1']);
    expect(() => alarms.list({ cursor: 'abc' })).toThrow(ValidationError);
  });
});
