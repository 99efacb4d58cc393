/**
 * An embedded station's data directory written through the real SQLite stores, for the
 * import tests and benchmark: meters in the registry, readings, commands, audit, control
 * actions, load-control state, DLMS keys and counters, security and device events, rules,
 * collection statistics, profile cursors and a meter replacement.
 */
import { join } from 'node:path';
import { SqliteReplacementStore } from '../../src/billing/replacements.js';
import { SqliteProfileCursors } from '../../src/collect/profileCursors.js';
import { SqliteCollectionStatsStore } from '../../src/collect/statsStore.js';
import { SqliteControlActionStore } from '../../src/control/actions.js';
import { SqliteAuditLog } from '../../src/control/audit.js';
import { SqliteCommandStore } from '../../src/control/commandStore.js';
import { meterId, terminalId, type MeterId } from '../../src/domain/ids.js';
import { QUANTITY_NAMES } from '../../src/domain/quantity.js';
import type { Reading } from '../../src/domain/reading.js';
import { SqliteAlarmStore } from '../../src/alarms/store.js';
import { SqliteDeviceEventStore } from '../../src/events/store.js';
import { initialState } from '../../src/rules/loadControl/machine.js';
import { SqliteProgramStateStore } from '../../src/rules/loadControl/stateStore.js';
import { SqliteRuleStore } from '../../src/rules/store.js';
import { SqliteCounterStore } from '../../src/security/counterStore.js';
import { SqliteKeyStore } from '../../src/security/keyStore.js';
import type { MasterKey } from '../../src/security/masterKey.js';
import { SqliteSecurityEventStore } from '../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';

export const EK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
export const AK = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex');
export const QUANTITIES = ['power.active', 'energy.active.import', 'voltage.l1'] as const;

export interface StationShape {
  /** Meter ids, in registry order. */
  readonly meters: readonly string[];
  /** Readings per meter and quantity, 15 minutes apart, ending `endTs`. */
  readonly readingsPerSeries: number;
  readonly endTs: number;
  readonly master: MasterKey;
}

/** Writes the station into `<dataDir>/gridhead.db` and closes it. */
export async function writeEmbeddedStation(dataDir: string, shape: StationShape): Promise<void> {
  const db = openDatabase(join(dataDir, 'gridhead.db'), { durability: 'normal' });
  try {
    const keys = seedMeters(db, shape.meters);
    writeReadings(db, keys, shape);
    await writeRecords(db, shape);
  } finally {
    db.close();
  }
}

/** The registry's meters, written as the registry does (the registry has no PostgreSQL store yet). */
function seedMeters(db: Db, ids: readonly string[]): Map<MeterId, number> {
  const now = Date.now();
  db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
              VALUES ('t-1', 'T1', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
  const add = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at)
                          VALUES (?, ?, 't-1', ?, 1, 1, NULL, 0, ?, ?)`);
  db.transaction(() => { ids.forEach((id, i) => add.run(id, id, String(i + 1), now, now)); })();
  const rows = db.prepare<[], { key: number; id: string }>('SELECT key, id FROM meters').all();
  return new Map(rows.map((r) => [meterId(r.id), r.key]));
}

function writeReadings(db: Db, keys: ReadonlyMap<MeterId, number>, shape: StationShape): void {
  const store = new ReadingStore(db, (id) => keys.get(id));
  const source = { protocol: 'mqtt', terminalId: terminalId('t-1'), mode: 'push' } as const;
  let batch: Reading[] = [];
  for (const id of keys.keys()) {
    for (const quantity of QUANTITIES) {
      for (let i = 0; i < shape.readingsPerSeries; i++) {
        const ts = shape.endTs - i * 900_000;
        batch.push({ meterId: id, quantity, value: (i % 97) * 1.5 + 0.25, unit: 'x', ts, quality: i % 10 === 0 ? 'suspect' : 'good', source });
        if (batch.length === 50_000) {
          store.write(batch);
          batch = [];
        }
      }
    }
  }
  store.write(batch);
  if (!QUANTITY_NAMES.includes('power.active')) throw new Error('catalogue changed');
}

async function writeRecords(db: Db, shape: StationShape): Promise<void> {
  const t0 = shape.endTs - 86_400_000;
  const [m1 = 'm-1', m2 = 'm-2'] = shape.meters;
  const commands = new SqliteCommandStore(db);
  await commands.insert({
    id: 'c1', type: 'set-limit', params: { limitKw: 3.5 }, scope: { meterIds: [m1, m2] }, reason: 'arrears', overrideReason: null,
    origin: { kind: 'operator', actor: 'op' }, source: '10.0.0.1', idempotencyKey: 'k1', bodyHash: 'h1', createdAt: t0,
    targets: [
      { meterId: m1, terminalId: 't-1', address: '1', status: 'pending' },
      { meterId: m2, terminalId: 't-1', address: '2', status: 'refused', error: { code: 'PROTECTED_METER', message: 'protected' } },
    ],
  });
  await commands.transition('c1', m1, 'sent', t0 + 1_000);
  const audit = new SqliteAuditLog(db, { now: () => t0 });
  await audit.append({ actor: 'op', source: '10.0.0.1', action: 'command.create', target: 'command:c1', outcome: 'ok', detail: { type: 'set-limit', meters: 2 } });
  await audit.append({ actor: 'system', source: null, action: 'token.create', target: null, outcome: 'ok' });
  const actions = new SqliteControlActionStore(db);
  const a1 = await actions.begin({ meterId: m1, command: 'set-limit', limitKw: 7.5, origin: { kind: 'program', id: 'peak', round: 1 }, reason: 'round 1' }, t0);
  await actions.finish(a1, { status: 'failed', error: { code: 'TIMEOUT', message: 'no answer' } }, t0 + 5_000);
  await actions.begin({ meterId: m2, command: 'disconnect', origin: { kind: 'operator', actor: 'op' }, reason: 'arrears' }, t0 + 10);
  await new SqliteProgramStateStore(db).save('peak', { ...initialState(true, t0), phase: 'round', round: 2, since: t0 }, t0);
  const keys = new SqliteKeyStore(db, shape.master);
  await keys.set({ kind: 'meter', id: m1 }, { ek: EK, ak: AK, password: 'secret-pw' });
  await keys.set({ kind: 'group', name: 'g1' }, { ek: AK, ak: EK });
  const counters = new SqliteCounterStore(db);
  const c = await counters.countersFor(m1, `meter:${m1}`, 1);
  for (let i = 0; i < 3; i++) c.nextOutgoing();
  await counters.flush();
  await new SqliteSecurityEventStore(db).append([
    { ts: t0, meterId: m1, terminalId: 't-1', kind: 'replay', detail: 'counter 5 after 9', systemTitle: '4d4d4d0000bc614e', counter: 5 },
    { ts: t0 + 1, meterId: null, terminalId: null, kind: 'system-title-mismatch', detail: 'who?', systemTitle: null, counter: null },
  ]);
  await new SqliteDeviceEventStore(db).insert([
    { meterId: meterId(m1), terminalId: terminalId('t-1'), code: 'power-down', ts: t0, receivedAt: t0 + 5, source: 'mqtt', detail: 'phase A' },
    { meterId: null, terminalId: terminalId('t-1'), code: 'power-up', ts: t0 + 60_000, receivedAt: t0 + 60_005, source: 'poll', detail: null },
  ]);
  const rules = new SqliteRuleStore(db);
  await rules.create({ id: 'p1', name: 'Power', description: 'over 10 kW', enabled: true, severity: 'major', subject: { meter: m1 }, detector: 'power-over-limit', params: { limitKw: 10 } }, 'api', t0);
  await rules.create({ id: 'tx', name: 'overload', enabled: false, severity: 'minor', subject: { all: true }, detector: 'transformer-overload', params: {} }, 'yaml', t0);
  const alarms = new SqliteAlarmStore(db);
  const alarm = {
    id: '7', ruleId: 'p1', detector: 'power-over-limit', subject: { kind: 'meter', id: meterId(m1) }, areaId: null, severity: 'major',
    state: 'acknowledged', raisedAt: t0, since: t0 - 60_000, acknowledgedAt: t0 + 1_000, acknowledgedBy: 'op', clearedAt: null,
    explanation: 'power 12 kW over 10 kW', clearExplanation: null, explanationData: null, clearExplanationData: null, value: 12, comments: [],
  } as const;
  await alarms.insert(alarm, t0);
  await alarms.addComment('7', 1, { at: t0 + 2_000, by: 'op', text: 'crew sent' });
  await new SqliteCollectionStatsStore(db).add([{ day: '2024-07-01', terminalId: 't-1', expected: 96, collected: 90 }]);
  await new SqliteProfileCursors(db, () => t0).set(m1, 'load', t0 - 900_000);
  await new SqliteReplacementStore(db, () => t0).add({ meterId: m2, at: t0 - 3_600_000, oldFinal: 1234.5, newInitial: 0.5 });
}
