/**
 * An embedded station's data directory written through the real SQLite stores, for the
 * import tests and benchmark: the registry (an area tree whose child ids sort before their
 * parents', two terminals, the meters, and a meter created and deleted), readings, users, API
 * tokens and a session, commands, audit, control actions, load-control state, DLMS keys and
 * counters, push lists and dead letters, the broker's drop counter, security and device
 * events, rules, collection statistics, profile cursors and a meter replacement; and the
 * operations' stores (tests/helpers/embeddedOperations.ts).
 */
import { join } from 'node:path';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../src/auth/service.js';
import { SqliteAuthStore } from '../../src/auth/store.js';
import { SqliteDropCounterStore } from '../../src/broker/dropMonitor.js';
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
import { writeOperations } from './embeddedOperations.js';
import { initialState } from '../../src/rules/loadControl/machine.js';
import { SqliteProgramStateStore } from '../../src/rules/loadControl/stateStore.js';
import { SqliteRuleStore } from '../../src/rules/store.js';
import { SqliteCounterStore } from '../../src/security/counterStore.js';
import { SqliteKeyStore } from '../../src/security/keyStore.js';
import type { MasterKey } from '../../src/security/masterKey.js';
import { SqliteSecurityEventStore } from '../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { SqlitePushDeadLetterStore } from '../../src/storage/dlmsPushDeadLetters.js';
import { SqlitePushListStore } from '../../src/storage/dlmsPushLists.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';

export const EK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
export const AK = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex');
export const QUANTITIES = ['power.active', 'energy.active.import', 'voltage.l1'] as const;

/** Areas listed children first, each id sorting before its parent's: read by id, a child would come before its parent. */
export const AREAS = [
  { id: 'a-tx-1', name: 'Transformer 1', kind: 'transformer', parentId: 'x-feeder', transformerKva: 400 },
  { id: 'a-tx-2', name: 'Transformer 2', kind: 'transformer', parentId: 'x-feeder', transformerKva: 250 },
  { id: 'x-feeder', name: 'Feeder X', kind: 'feeder', parentId: 'y-substation' },
  { id: 'y-substation', name: 'Substation Y', kind: 'substation', parentId: 'z-region' },
  { id: 'z-region', name: 'Region Z', kind: 'region' },
] as const;
/** A meter created after the others and deleted: its key is never handed out again. */
export const RETIRED_METER = 'm-retired';
export const PUSH_LIST_KEY = 't-2/1';
export const PUSH_LISTS = [{ pushSetup: '0.0.25.9.0.255', objects: [{ classId: 3, obis: '1.0.1.8.0.255', attribute: 2, dataIndex: 0 }] }];
export const DROP_MARK = { value: 42, confirmedAt: 1_720_000_000_000 };
/** Cheap enough for a test; the hash carries its cost, so another store verifies it as well. */
export const TEST_SCRYPT = { log2N: 10, r: 8, p: 1 };
const USER_PASSWORD = 'correct horse battery';

/** What the embedded station handed out, to check against the imported one. */
export interface WrittenStation {
  /** An API token (viewer) and a dashboard session (of `user`, an operator). */
  readonly token: string;
  readonly sessionId: string;
  readonly user: string;
  /** The key the deleted meter had: the highest the registry handed out. */
  readonly retiredMeterKey: number;
}

export interface StationShape {
  /** Meter ids, in registry order. */
  readonly meters: readonly string[];
  /** Readings per meter and quantity, 15 minutes apart, ending `endTs`. */
  readonly readingsPerSeries: number;
  readonly endTs: number;
  readonly master: MasterKey;
}

/** Writes the station into `<dataDir>/gridhead.db` and closes it. */
export async function writeEmbeddedStation(dataDir: string, shape: StationShape): Promise<WrittenStation> {
  const db = openDatabase(join(dataDir, 'gridhead.db'), { durability: 'normal' });
  try {
    const { keys, retiredMeterKey } = await seedRegistry(db, shape.meters);
    writeReadings(db, keys, shape);
    await writeRecords(db, shape);
    // A station of one meter still has two in these stores, none of which checks the registry.
    const [m1 = 'm-1', m2 = `${m1}-b`] = shape.meters;
    await writeOperations(db, shape.endTs - 86_400_000, [m1, m2]);
    return { ...await writeCredentials(db), retiredMeterKey };
  } finally {
    db.close();
  }
}

/** The topology, through the registry: the areas, an MQTT and a Modbus terminal, the meters on the first spread over two transformers. */
async function seedRegistry(db: Db, ids: readonly string[]): Promise<{ keys: Map<MeterId, number>; retiredMeterKey: number }> {
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: AREAS,
    terminals: [
      { id: 't-1', name: 'T1', protocol: 'mqtt', enabled: true, profiles: [] },
      { id: 't-2', name: 'T2', protocol: 'modbus', enabled: false, profiles: [], modbus: { host: '10.0.0.2', port: 502, framing: 'tcp', registerMap: 'std' } },
    ],
    meters: ids.map((id, i) => ({
      id, name: id, terminalId: 't-1', address: String(i + 1), ctRatio: i === 0 ? 40 : 1, ptRatio: 1, areaId: i % 2 === 0 ? 'a-tx-1' : 'a-tx-2',
      protected: i === 1, ...(i === 0 ? { nominalVoltage: 230, maxCurrent: 60, customerRef: 'C-1', accountRef: 'A-1' } : {}),
    })),
  });
  await registry.createMeter({ id: RETIRED_METER, terminalId: 't-2', address: '9', ctRatio: 1, ptRatio: 1, protected: false });
  const retiredMeterKey = registry.meterKey(meterId(RETIRED_METER)) ?? -1;
  await registry.deleteMeter(RETIRED_METER);
  return { keys: new Map(ids.map((id) => [meterId(id), registry.meterKey(meterId(id)) ?? -1])), retiredMeterKey };
}

/** An admin, an operator with a session, an API token in use and a revoked one, through the auth service. */
async function writeCredentials(db: Db): Promise<Pick<WrittenStation, 'token' | 'sessionId' | 'user'>> {
  const auth = new AuthService(new SqliteAuthStore(db), { ...DEFAULT_AUTH_OPTIONS, scryptCost: TEST_SCRYPT });
  try {
    await auth.createUser({ name: 'admin', role: 'admin', password: USER_PASSWORD });
    await auth.createUser({ name: 'ops', role: 'operator', password: USER_PASSWORD });
    const { token } = await auth.createToken({ name: 'scada', role: 'viewer' }, 'admin');
    const old = await auth.createToken({ name: 'old', role: 'admin' }, 'admin');
    await auth.revokeToken(old.view.id);
    const login = await auth.login('ops', USER_PASSWORD, '127.0.0.1');
    if (!login.ok) throw new Error(`login refused: ${login.reason}`);
    return { token, sessionId: login.sessionId, user: 'ops' };
  } finally {
    await auth.close();
  }
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
  await new SqlitePushListStore(db, { now: () => t0 }).set(PUSH_LIST_KEY, PUSH_LISTS);
  const letter = { origin: 'tcp', from: '10.0.0.9:4059', sender: '4d4d4d0000bc614e', code: 'UNDECIPHERABLE', reason: 'no key for the system title' } as const;
  // Three letters kept to two: the first is pruned, so the ids copied start past 1.
  await new SqlitePushDeadLetterStore(db).append([
    { ...letter, receivedAt: t0, apdu: Uint8Array.of(0xdb, 0x08, 1) },
    { ...letter, receivedAt: t0 + 1, apdu: Uint8Array.of(0xdb, 0x08, 2), terminalId: 't-2' },
    { ...letter, origin: 'mqtt', from: 't-1', sender: 't-1', receivedAt: t0 + 2, apdu: Uint8Array.of(0x0f, 0, 0, 0, 1) },
  ], 2);
  await new SqliteDropCounterStore(db).put(DROP_MARK);
}
