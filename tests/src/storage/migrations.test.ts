import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SqliteAlarmStore } from '../../../src/alarms/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { MIGRATIONS } from '../../../src/storage/migrations.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** Explanations as data (migration 12), which the rebuild for station subjects (13) must carry across. */
const overLimit = { ref: 10, parts: [{ id: 'power-over-limit.raise', en: ['power ', ' is over the limit ', ''], args: [{ v: 12, d: 1, u: 'kW' }, { v: 10, d: 1, u: 'kW' }] }] };
const restored = { ref: 11, parts: [{ id: 'raised', en: ['; raised ', ''], args: [{ at: 10 }] }] };

it('keeps every alarm, its explanations as data and its comments when the alarms table is rebuilt for station subjects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'gridhead.db');
  const before = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 12) });
  before.prepare(`INSERT INTO alarms (rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since, explanation, value, updated_at,
      explanation_data, clear_explanation_data)
    VALUES ('over-limit', 'power-over-limit', 'meter', 'm1', 'tx1', 'major', 'acknowledged', 10, 5, 'power 12 kW over 10 kW', 12, 11, ?, ?)`)
    .run(JSON.stringify(overLimit), JSON.stringify(restored));
  before.prepare("INSERT INTO alarm_comments (alarm_id, seq, at, by, text) VALUES (1, 1, 12, 'operator-7', 'crew dispatched')").run();
  expect(() => before.prepare(`INSERT INTO alarms (rule_id, detector, subject_kind, subject_id, severity, state, raised_at, since, explanation, value, updated_at)
    VALUES ('r', 'd', 'station', 'mqtt-broker', 'major', 'raised', 1, 1, 'e', 1, 1)`).run()).toThrow(/CHECK/);
  before.close();

  const after = openDatabase(file);
  const store = new SqliteAlarmStore(after);
  expect(await store.get('1')).toMatchObject({
    ruleId: 'over-limit', subject: { kind: 'meter', id: 'm1' }, state: 'acknowledged', value: 12,
    explanationData: overLimit, clearExplanationData: restored,
    comments: [{ at: 12, by: 'operator-7', text: 'crew dispatched' }],
  });
  const { first } = await store.reserveIds();
  const station = {
    id: String(first), ruleId: 'mqtt-broker-dropped-messages', detector: 'broker-dropped-messages', subject: { kind: 'station', id: 'mqtt-broker' }, areaId: null,
    severity: 'major', state: 'raised', raisedAt: 20, since: 15, acknowledgedAt: null, acknowledgedBy: null, clearedAt: null,
    explanation: 'the MQTT broker dropped 15 QoS 1 messages', clearExplanation: null, explanationData: null, clearExplanationData: null, value: 15, comments: [],
  } as const;
  await store.insert(station, 20);
  expect((await store.openAlarms()).map((a) => a.id)).toEqual(['1', station.id]);
  expect((await store.get(station.id))?.subject).toEqual({ kind: 'station', id: 'mqtt-broker' });
  expect(after.pragma('foreign_key_check')).toEqual([]);
  after.close();
});

it('keeps every meter and its key when the meters table is rebuilt so that a key is never given twice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'gridhead.db');
  const before = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 13) });
  before.prepare("INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('q1', 'q1', 'mqtt', 1, '[]', '{}', 0, 0)").run();
  const insert = before.prepare(`INSERT INTO meters (key, id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at, nominal_voltage, max_current)
    VALUES (?, ?, ?, 'q1', ?, 40, 100, 1, 0, 0, ?, ?)`);
  insert.run(3, 'm3', 'three', 'c', 57.7, 6);
  insert.run(7, 'm7', 'seven', 'g', null, null);
  before.close();

  const after = openDatabase(file);
  expect(after.prepare('SELECT key, id, address, ct_ratio, pt_ratio, protected, nominal_voltage, max_current FROM meters ORDER BY key').all()).toEqual([
    { key: 3, id: 'm3', address: 'c', ct_ratio: 40, pt_ratio: 100, protected: 1, nominal_voltage: 57.7, max_current: 6 },
    { key: 7, id: 'm7', address: 'g', ct_ratio: 40, pt_ratio: 100, protected: 1, nominal_voltage: null, max_current: null },
  ]);
  after.prepare("DELETE FROM meters WHERE id = 'm7'").run();
  const added = after.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at)
    VALUES ('m8', 'eight', 'q1', 'g', 1, 1, 0, 0, 0) RETURNING key`).get() as { key: number };
  expect(added.key).toBe(8);
  after.close();
});
