/**
 * Commands in an active-standby pair: two whole stations in this process on one throw-away
 * PostgreSQL, with simulated Modbus terminals over real sockets. A disconnect accepted by the
 * standby's API is executed by the active (woken by the notification: the backstop poll is
 * ten minutes here) and verified, and both nodes show it in their command history. A bulk
 * command accepted on one node, the active stopped mid-way, is finished by the other node with
 * no relay operated twice at the simulators (counted there, per meter).
 *
 * Skipped, with the reason printed, without PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the cluster commands test: ${unavailable}`);

const TERMINALS = 3;
const METERS_PER_TERMINAL = 3;
const QUIET = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: false }, opcua: { enabled: false } };
/** One command a second per terminal, so a bulk command is still under way when the active stops. */
const CONTROL = { confirmAbove: 100, perTerminalRatePerMinute: 60, commandTimeoutMs: 3_000, backstopPollMs: 600_000 };

interface Target { meterId: string; status: string; state: { connected?: boolean } | null; error: { code: string } | null; transitions: { status: string }[] }
interface View { id: string; status: string; targets: Target[] }
interface NodeHealth { node: { duties: string } }

describe.skipIf(unavailable !== undefined)('commands in an active-standby pair', () => {
  let postgres: TestPostgres;
  const stations: TestHeadEnd[] = [];
  const sims: ModbusTerminalSimulator[] = [];
  const ports: number[] = [];
  /** Relay operations per meter id, counted at the simulators. */
  const operations = new Map<string, number>();
  let env: NodeJS.ProcessEnv;

  const node = async (id: string): Promise<TestHeadEnd> => {
    const h = await startTestHeadEnd({ ...QUIET, control: CONTROL, cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: 300, leaseMs: 3_000 } }, { env });
    stations.push(h);
    return h;
  };
  const duties = async (h: TestHeadEnd): Promise<string> => ((await h.get('/health')).body as NodeHealth).node.duties;
  const post = async (h: TestHeadEnd, body: unknown, key: string): Promise<string> => {
    const res = await fetchApi(h, '/api/v1/commands', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'idempotency-key': key } });
    const answer = await res.json() as { id: string };
    expect(res.status, JSON.stringify(answer)).toBe(201);
    return answer.id;
  };
  const view = async (h: TestHeadEnd, id: string): Promise<View> => await (await fetchApi(h, `/api/v1/commands/${id}`)).json() as View;
  /** Settled, an INTERRUPTED mark's re-verification read included. */
  const settled = (h: TestHeadEnd, id: string): Promise<View> => eventually(async () => {
    const v = await view(h, id);
    const awaitingRead = v.targets.some((t) => t.status === 'failed' && ['sent', 'acknowledged'].includes(t.transitions.at(-2)?.status ?? ''));
    return v.status === 'open' || awaitingRead ? undefined : v;
  }, 30_000, `command ${id} to settle`);

  beforeAll(async () => {
    postgres = await startPostgres();
    env = { GRIDHEAD_DATABASE_URL: await postgres.createDatabase(), GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
    for (let t = 0; t < TERMINALS; t++) {
      const sim = new ModbusTerminalSimulator({ meters: METERS_PER_TERMINAL, seed: 30 + t });
      ports.push((await sim.start()).port);
      sims.push(sim);
      for (let unit = 1; unit <= METERS_PER_TERMINAL; unit++) {
        const id = `cc-${String(t)}-${String(unit)}`;
        const controls = sim.controlsOf(unit);
        const setRelay = controls.setRelay.bind(controls);
        // Counted at the simulator, then done: what the meter saw, whichever node sent it.
        vi.spyOn(controls, 'setRelay').mockImplementation((on: boolean) => {
          operations.set(id, (operations.get(id) ?? 0) + 1);
          setRelay(on);
        });
      }
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    for (const s of sims) await s.stop();
    vi.restoreAllMocks();
    await postgres.dispose();
  });

  it('executes at the active a disconnect the standby accepted, verified, in both nodes\' history', async () => {
    const a = await node('node-a');
    await eventually(async () => ((await duties(a)) === 'active' ? true : undefined), 10_000, 'node-a to be active');
    const b = await node('node-b');
    expect(await duties(b)).toBe('standby');
    for (const t of sims.keys()) {
      const terminal = `cc-${String(t)}`;
      await a.registry.createTerminal({ id: terminal, name: terminal, protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port: ports[t] ?? 0, framing: 'tcp', registerMap: 'three-phase-meter' } });
      for (let unit = 1; unit <= METERS_PER_TERMINAL; unit++) {
        await a.registry.createMeter({ id: `${terminal}-${String(unit)}`, name: `${terminal} ${String(unit)}`, terminalId: terminal, address: String(unit), ctRatio: 1, ptRatio: 1, protected: false });
      }
    }
    await eventually(() => Promise.resolve(b.registry.findMeter(`cc-${String(TERMINALS - 1)}-${String(METERS_PER_TERMINAL)}`) === undefined ? undefined : true), 10_000, 'the standby to see the registry');

    const id = await post(b, { type: 'disconnect', meterIds: ['cc-0-1'], reason: 'accepted by the standby' }, 'standby-1');
    const done = await settled(a, id);
    expect(done.targets[0]).toMatchObject({ meterId: 'cc-0-1', status: 'verified', state: { connected: false } });
    expect(done.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
    expect(sims[0]?.controlsOf(1).connected).toBe(false);
    expect(operations.get('cc-0-1')).toBe(1);
    for (const h of [a, b]) {
      const history = await (await fetchApi(h, '/api/v1/commands?meterId=cc-0-1')).json() as { items: View[] };
      expect(history.items.map((c) => [c.id, c.status])).toEqual([[id, 'verified']]);
    }
  }, 60_000);

  it('finishes on the other node a bulk command whose active stopped mid-way, operating no relay twice', async () => {
    const [a, b] = stations;
    if (a === undefined || b === undefined) throw new Error('the pair did not start');
    operations.clear();
    const meters = sims.flatMap((_, t) => Array.from({ length: METERS_PER_TERMINAL }, (__, u) => `cc-${String(t)}-${String(u + 1)}`)).filter((m) => m !== 'cc-0-1');
    const id = await post(a, { type: 'disconnect', meterIds: meters, reason: 'bulk across a failover' }, 'bulk-1');
    // Mid-way: some targets done, some still waiting for their terminal's next token.
    await eventually(async () => {
      const v = await view(a, id);
      return v.targets.some((t) => t.status === 'verified') ? true : undefined;
    }, 15_000, 'the first target to be verified');
    const before = await view(a, id);
    expect(before.targets.some((t) => t.status === 'pending')).toBe(true);

    stations.splice(stations.indexOf(a), 1);
    await a.stop();
    await eventually(async () => ((await duties(b)) === 'active' ? true : undefined), 10_000, 'node-b to take over');
    const done = await settled(b, id);
    expect(done.targets).toHaveLength(meters.length);
    for (const t of done.targets) {
      // Sent once by one node, or interrupted in flight and then verified by reading back: never sent again.
      expect(operations.get(t.meterId) ?? 0, t.meterId).toBeLessThanOrEqual(1);
      expect(t.transitions.filter((x) => x.status === 'sent'), t.meterId).toHaveLength(1);
      if (t.status !== 'verified') expect(t, t.meterId).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    }
    expect(done.targets.filter((t) => t.status === 'verified').length).toBeGreaterThan(before.targets.filter((t) => t.status === 'verified').length);
    // Each relay is where its target says: opened when verified, as read back when not.
    for (const t of done.targets) {
      const [, terminal, unit] = t.meterId.split('-');
      expect(sims[Number(terminal)]?.controlsOf(Number(unit)).connected, t.meterId).toBe(t.status !== 'verified');
    }
  }, 90_000);
});
