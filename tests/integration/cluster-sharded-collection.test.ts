/**
 * Sharded collection on two stations sharing one PostgreSQL: a Modbus fleet (our simulator,
 * over real TCP) spread over several transformer areas, plus one terminal outside every
 * transformer area, which the leader polls. Each terminal is polled by exactly one node: no
 * terminal sees requests on two connections (two nodes) within one polling period, from the
 * first node's start through the second one's join; together they poll every terminal; and
 * when one node closes, the other polls the whole fleet within 30 s. The nodes share Debian's
 * mosquitto, since sharded mode takes MQTT telemetry through shared subscriptions.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import type { TestBroker } from '../helpers/aedes.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable() ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (unavailable !== undefined) console.warn(`skipping the sharded collection test: ${unavailable}`);

const AREAS = ['tx-a', 'tx-b', 'tx-c', 'tx-d', 'tx-e', 'tx-f'];
/** One terminal per transformer area, and one whose meters sit in the region only. */
const TERMINALS = [...AREAS.map((a) => ({ id: `mb-${a}`, area: a })), { id: 'mb-region', area: 'r1' }];
const METERS_PER_TERMINAL = 2;
const PERIOD_MS = 1_000;

interface Served { readonly connection: number; readonly at: number }
interface CollectionHealth { status: string; detail?: string; info?: { polled: number; of: number } }
const collectionOf = async (h: TestHeadEnd): Promise<CollectionHealth> =>
  ((await h.get('/health')).body as { components: { collection: CollectionHealth } }).components.collection;

describe.skipIf(unavailable !== undefined)('sharded collection', () => {
  let postgres: TestPostgres;
  let broker: TestBroker;
  const simulators: ModbusTerminalSimulator[] = [];
  const stations: TestHeadEnd[] = [];
  /** Requests each terminal answered, in order. */
  const served = new Map<string, Served[]>();

  beforeAll(async () => {
    [postgres, broker] = await Promise.all([startPostgres(), startMosquitto()]);
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    for (const s of simulators.splice(0)) await s.stop();
    await broker.close();
    await postgres.dispose();
  });

  it('polls each terminal from exactly one node, all of them together, and all of them on the survivor of a close', async () => {
    const ports = new Map<string, number>();
    for (const t of TERMINALS) {
      const log: Served[] = [];
      served.set(t.id, log);
      const sim = new ModbusTerminalSimulator({ meters: METERS_PER_TERMINAL, seed: 11, onServed: ({ connection, at }) => { log.push({ connection, at }); } });
      simulators.push(sim);
      ports.set(t.id, (await sim.start()).port);
    }
    const registry = {
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, ...AREAS.map((id) => ({ id, name: id, kind: 'transformer', parentId: 'r1', transformerKva: 400 }))],
      terminals: TERMINALS.map((t) => ({
        id: t.id, protocol: 'modbus', profiles: ['fast'],
        modbus: { host: '127.0.0.1', port: ports.get(t.id), framing: 'tcp', registerMap: 'three-phase-meter' },
      })),
      meters: TERMINALS.flatMap((t) => Array.from({ length: METERS_PER_TERMINAL }, (_, i) => ({ id: `${t.id}-${i + 1}`, terminalId: t.id, address: String(i + 1), areaId: t.area }))),
    };
    const url = await postgres.createDatabase();
    const env = { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    const node = async (id: string): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd({
        mqtt: { embeddedBroker: { enabled: false }, url: broker.url }, simulators: { enabled: false }, opcua: { enabled: false },
        collect: { profiles: { fast: { quantities: ['power.active', 'voltage.l1'], intervalSeconds: PERIOD_MS / 1000, align: true, jitterMs: 0, timeoutMs: 500, retries: 0 } } },
        modbus: { requestTimeoutMs: 500, reconnectMinMs: 50, reconnectMaxMs: 500 },
        registry,
        cluster: { mode: 'sharded', nodeId: id, heartbeatMs: 200, leaseMs: 1_500 },
      }, { env });
      stations.push(h);
      return h;
    };

    const a = await node('shard-a');
    await eventually(async () => ((await collectionOf(a)).info?.polled === TERMINALS.length ? true : undefined), 20_000, 'the first node to poll the whole fleet alone');
    const b = await node('shard-b');
    const split = await eventually(async () => {
      const [ha, hb] = [await collectionOf(a), await collectionOf(b)];
      const [pa, pb] = [ha.info?.polled ?? 0, hb.info?.polled ?? 0];
      return pa > 0 && pb > 0 && pa + pb === TERMINALS.length ? [ha, hb] : undefined;
    }, 20_000, 'the two nodes to share the fleet');
    expect(split.map((h) => h.info?.of)).toEqual([TERMINALS.length, TERMINALS.length]);
    expect(split[0]?.detail).toMatch(/^polls \d of 7 polled terminal/);

    // A few periods of steady sharing, then the union: every terminal answered someone since.
    const sharedFrom = Date.now();
    await eventually(() => Promise.resolve(Date.now() > sharedFrom + 4 * PERIOD_MS ? true : undefined), 10_000, 'steady sharing');
    for (const t of TERMINALS) expect(served.get(t.id)?.some((r) => r.at > sharedFrom), t.id).toBe(true);

    const stoppedAt = Date.now();
    stations.splice(stations.indexOf(a), 1);
    await a.stop();
    const closedAt = Date.now();
    await eventually(async () => ((await collectionOf(b)).info?.polled === TERMINALS.length ? true : undefined), 30_000, 'the survivor to poll the whole fleet');
    await eventually(() => Promise.resolve(TERMINALS.every((t) => served.get(t.id)?.some((r) => r.at > closedAt)) ? true : undefined), 30_000, 'every terminal to be polled by the survivor');
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);

    // No terminal answered two nodes (two connections) within one period, at any time of the run.
    const overlaps: string[] = [];
    for (const t of TERMINALS) {
      const byPeriod = new Map<number, Set<number>>();
      for (const r of served.get(t.id) ?? []) {
        const p = Math.floor(r.at / PERIOD_MS);
        const set = byPeriod.get(p) ?? new Set<number>();
        set.add(r.connection);
        byPeriod.set(p, set);
      }
      for (const [p, set] of byPeriod) if (set.size > 1) overlaps.push(`${t.id} @ ${new Date(p * PERIOD_MS).toISOString()}: connections ${[...set].join(', ')}`);
    }
    expect(overlaps).toEqual([]);

    // What was polled is in the shared store, each (meter, quantity, time) once, every meter there after the close too.
    const twice = await queryPostgres(url, 'SELECT meter_key, quantity, ts FROM readings GROUP BY meter_key, quantity, ts HAVING count(*) > 1');
    expect(twice).toEqual([]);
    const after = await queryPostgres<{ id: string }>(url, 'SELECT DISTINCT m.id FROM readings r JOIN meters m ON m.key = r.meter_key WHERE r.ts > $1 ORDER BY m.id', [closedAt]);
    expect(after.map((r) => r.id)).toEqual(registry.meters.map((m) => m.id).sort());
  }, 120_000);
});
