/**
 * The cluster chaos scenario (tests/integration/cluster-chaos.test.ts), parametrised by the
 * cluster mode: three `gridhead start` nodes (CliStationNode), the simulated fleet in its own
 * `gridhead sim` process (FleetProcess), one throw-away PostgreSQL and Debian's mosquitto with
 * the station's broker settings, and QoS 1 publishers. `run()` plays the three kills;
 * `outcome()` gathers what the test asserts, from PostgreSQL, the API and the simulators.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignShards } from '../../src/cluster/shards.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { ControlCounts } from '../../simulators/controlTally.js';
import type { TestBroker } from './aedes.js';
import type { CliInstall } from './cli.js';
import { eventually } from './headend.js';
import { startMosquitto } from './mosquitto.js';
import { queryPostgres, startPostgres, type TestPostgres } from './postgres.js';
import {
  BROKER_CONFIG, CliStationNode, FleetProcess, TelemetryPublishers, checkStored, meterIdOf, publisherRegistry,
  type ClusterMode, type StoredCheck,
} from './standbyNodes.js';
import { freePort } from './victoriaMetrics.js';

export const NODE_IDS = ['node-a', 'node-b', 'node-c'] as const;
const began = Date.now();
/** Progress with the time since the module loaded, so a slow or failed run shows where its time went. */
const step = (what: string) => { console.log(`chaos: ${what} at +${((Date.now() - began) / 1000).toFixed(1)} s`); };
/** Leader lease of the nodes: a dead leader is replaced within leaseMs + leaseMs / 3 = 4 s. */
export const CHAOS_LEASE_MS = 3_000;

/** The fleet: 8 Modbus terminals × 10 meters, 10 MQTT terminals × 5 meters, 10 DLMS meters; plus the publishers' 10. */
const FLEET = {
  seed: 7, host: '127.0.0.1', areaIds: ['tx-1', 'tx-2', 'tx-3', 'tx-4', 'tx-5', 'tx-6'],
  modbus: { count: 8, metersPerTerminal: 10, registerMap: 'three-phase-meter', profiles: ['chaos'] },
  mqtt: { count: 10, metersPerTerminal: 5, publishIntervalMs: 5_000 },
  dlms: { count: 10, framing: 'wrapper', hls: 0, password: '12345678', profiles: ['chaos'], pushIntervalMs: 0 },
};
/** What the stations poll the fleet for; the fleet's configuration names the profile too. */
const COLLECT = {
  profiles: { chaos: { quantities: ['power.active', 'voltage.l1', 'voltage.l2', 'voltage.l3'], intervalSeconds: 5, align: false, jitterMs: 1_000, timeoutMs: 3_000, retries: 1 } },
};
const PUBLISHERS = 10;
const MESSAGES_PER_PUBLISHER = 400;

const modbusMeters = (terminal: number) => Array.from({ length: 10 }, (_, u) => `sim-mb-0${String(terminal)}-${String(u + 1)}`);
/** The program's load and its round 1 (one terminal, so the rate limit spreads the round over seconds). */
const ROUND_1 = modbusMeters(1);
const ROUND_2 = Array.from({ length: 5 }, (_, i) => `sim-dl-0${String(i + 1)}-1`);
const ROUND_3 = Array.from({ length: 5 }, (_, i) => `sim-mq-01-${String(i + 1)}`);
const PROGRAM_ID = 'chaos-shed';
/** Fifty meters on five terminals, ten each: at one command per terminal a second the bulk takes ten seconds. */
const BULK = [2, 3, 4, 5, 6].flatMap(modbusMeters);
/** Meters whose voltage rule is in breach from the first reading to the end: one open alarm each, all along. */
const VOLTAGE_METERS = modbusMeters(7);
const VOLTAGE_RULE = 'chaos-voltage';

export interface Takeover {
  readonly during: string;
  readonly from: string;
  readonly to: string;
  readonly ms: number;
  /**
   * Sharded mode: from the kill until the survivors own every transformer area as rendezvous
   * hashing places it among them (/health node.shards), and from the dead node's restart until
   * the three own them so again.
   */
  readonly areas?: { readonly afterKillMs: number; readonly afterRestartMs: number };
}

export interface ChaosOutcome {
  readonly takeovers: readonly Takeover[];
  readonly readings: StoredCheck;
  readonly controls: { readonly expected: Record<string, ControlCounts>; readonly executed: Record<string, ControlCounts> };
  /**
   * The bulk commands: `unsettled` holds the targets that ended neither verified nor
   * interrupted before the wire (status, error, transitions); `interrupted` the meters whose
   * send a kill cut between its claim and the device (see `BulkTarget`).
   */
  readonly commands: readonly { readonly id: string; readonly type: string; readonly status: string; readonly interrupted: readonly string[]; readonly unsettled: readonly unknown[] }[];
  readonly alarms: { readonly duplicates: readonly string[]; readonly missing: readonly string[]; readonly notOpen: readonly string[] };
  readonly program: {
    readonly rounds: number;
    /** Every meter a round acts on. */
    readonly meters: readonly string[];
    readonly roundBeforeKill: number;
    readonly final: ProgramRow;
    /** `round|meter` tripped more than once. */
    readonly repeated: readonly string[];
    readonly notVerified: readonly string[];
    /** `round|meter` whose set-limit a kill cut before the wire: failed INTERRUPTED, read back without the limit, not resent. */
    readonly cutBeforeTheWire: readonly string[];
  };
}

/**
 * Meters (those `include` takes) whose executed control operations differ from what they were
 * sent once, one line each: `meter: executed {...}, sent {...}`.
 */
export function controlDifferences(o: ChaosOutcome, include: (meterId: string) => boolean = () => true): string[] {
  const { expected, executed } = o.controls;
  return [...new Set([...Object.keys(expected), ...Object.keys(executed)])].filter(include).sort()
    .filter((m) => canonical(executed[m]) !== canonical(expected[m]))
    .map((m) => `${m}: executed ${JSON.stringify(executed[m] ?? {})}, sent ${JSON.stringify(expected[m] ?? {})}`);
}

/** The counts an operation at a time, by name, zero counts left out: the same counts compare equal whatever order they were gathered in. */
function canonical(counts: ControlCounts | undefined): string {
  return JSON.stringify(Object.entries(counts ?? {}).filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The load-control round meters that executed their set-limit other than once: a round killed
 * mid-way is resumed by the new leader, which must await the dead leader's commands for the
 * meters the store has no result for (their idempotency keys), not send new ones.
 */
export function roundResendDifferences(o: ChaosOutcome): string[] {
  return controlDifferences(o, (m) => o.program.meters.includes(m));
}

export interface ChaosCluster {
  run(): Promise<void>;
  outcome(): Promise<ChaosOutcome>;
  /** The nodes running now, by id. */
  live(): readonly CliStationNode[];
  /** The transformer areas the stations' registry places the fleet's terminals in. */
  readonly areaIds: readonly string[];
  /** The fleet's meters with the transformer area the stations' registry gives each. */
  readonly meters: readonly { readonly id: string; readonly terminalId: string; readonly areaId: string }[];
  readonly fleet: FleetProcess;
  dispose(): Promise<void>;
}

interface ProgramRow {
  readonly phase: string;
  readonly round: number;
  readonly executingRound: number | null;
  readonly tripped: readonly { readonly meterId: string; readonly round: number; readonly status: string; readonly error?: { readonly code: string } }[];
}

interface BulkTarget {
  readonly meterId: string;
  readonly status: string;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly state: Record<string, unknown> | null;
  readonly transitions: readonly { readonly status: string; readonly at: string }[];
}

interface CommandView {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly targets: readonly BulkTarget[];
}

/**
 * A send the kill cut between its claim (`sent` stored) and the device: the node taking the
 * terminal over never resends (src/control/pickup.ts), it marks the target failed
 * (INTERRUPTED) and reads the relay back once the old send's timeout has passed; a read-back
 * (`state`) that does not show the command's effect means the device never got it. Such a
 * meter must have executed the operation zero times, not once; the station reports it failed
 * for the operator to send again. An interrupted target whose read failed (no state) is not one.
 */
function interruptedBeforeTheWire(t: BulkTarget): boolean {
  return t.status === 'failed' && t.error?.code === 'INTERRUPTED' && t.state !== null;
}

/** Starts PostgreSQL, mosquitto, the fleet and the three nodes; everything started is stopped by `dispose()`, even when a later start fails. */
export async function chaosCluster(install: CliInstall, o: {
  readonly mode: ClusterMode;
  readonly masterKey: string;
  /** The built dashboard the nodes serve at `/` (http.webRoot); none when left out. */
  readonly webRoot?: string;
}): Promise<ChaosCluster> {
  const disposers: (() => Promise<void>)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-chaos-'));
  disposers.push(() => { rmSync(dir, { recursive: true, force: true }); return Promise.resolve(); });
  const nodes = new Map<string, CliStationNode>();
  disposers.push(async () => { await Promise.allSettled([...nodes.values()].map((n) => n.dispose())); });
  const dispose = async () => {
    for (const d of disposers.splice(0).reverse()) await d().catch((err: unknown) => { console.error('chaos cleanup:', err); });
  };
  try {
    const postgres: TestPostgres = await startPostgres();
    disposers.push(() => postgres.dispose());
    const broker: TestBroker = await startMosquitto({ extraConfig: BROKER_CONFIG });
    disposers.push(() => broker.close());
    const databaseUrl = await postgres.createDatabase();
    const registerMaps = loadConfigFile('config/default.yaml').modbus.registerMaps;

    const fleet = await FleetProcess.start(install, dir, { mqtt: { url: broker.url, embeddedBroker: { enabled: false } }, modbus: { registerMaps }, collect: COLLECT, simulators: FLEET });
    disposers.push(() => fleet.stop());
    const { seed } = await fleet.status();
    step(`fleet of ${String(seed.meters.length)} meters running`);
    const meters = placeInAreas(seed.terminals, seed.meters);
    const configFile = writeStationConfig(dir, { brokerUrl: broker.url, registerMaps, seed: { ...seed, meters }, ...(o.webRoot === undefined ? {} : { webRoot: o.webRoot }) });
    const ports = new Map<string, number>();
    for (const id of NODE_IDS) ports.set(id, await freePort());
    const start = async (id: string) => {
      const node = await CliStationNode.start(install, id, { configFile, databaseUrl, mode: o.mode, httpPort: ports.get(id) ?? 0, masterKey: o.masterKey });
      nodes.set(id, node);
      return node;
    };
    // The first node alone: it creates the schema and the bootstrap admin the others find.
    const first = await start(NODE_IDS[0]);
    await Promise.all(NODE_IDS.slice(1).map(start));
    await eventually(async () => ((await first.health()).components.cluster?.info?.liveMembers === 3 ? true : undefined), 30_000, 'three live members');
    step('three nodes live');
    // The LLS password of the DLMS meters lives in the key store, shared by the nodes.
    for (const m of seed.meters.filter((x) => x.id.startsWith('sim-dl-'))) {
      const res = await first.api('PUT', `/api/v1/meters/${m.id}/keys`, { password: FLEET.dlms.password });
      if (res.status !== 200) throw new Error(`PUT keys of ${m.id}: ${String(res.status)} ${JSON.stringify(res.body)}`);
    }
    return new Chaos(o.mode, databaseUrl, broker.url, fleet, meters, nodes, start, dispose);
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * The fleet's meters, each terminal's all in one transformer area, the terminals dealt round
 * the areas: the simulator deals meters one by one, so every multi-meter terminal would
 * straddle all areas and go with the first, and sharding would have one area to move.
 */
function placeInAreas(terminals: readonly { readonly id: string }[], meters: readonly { readonly id: string; readonly terminalId: string }[]) {
  const areaOf = new Map(terminals.map((t, i) => [t.id, FLEET.areaIds[i % FLEET.areaIds.length] ?? 'tx-1']));
  return meters.map((m) => ({ ...m, areaId: areaOf.get(m.terminalId) ?? 'tx-1' }));
}

class Chaos implements ChaosCluster {
  readonly areaIds = FLEET.areaIds;
  readonly #takeovers: Takeover[] = [];
  readonly #commands: string[] = [];
  #roundBeforeKill = 0;
  #publishers: TelemetryPublishers | undefined;

  constructor(
    private readonly mode: ClusterMode,
    private readonly databaseUrl: string,
    private readonly brokerUrl: string,
    readonly fleet: FleetProcess,
    readonly meters: readonly { readonly id: string; readonly terminalId: string; readonly areaId: string }[],
    private readonly nodes: Map<string, CliStationNode>,
    private readonly start: (id: string) => Promise<CliStationNode>,
    readonly dispose: () => Promise<void>,
  ) {}

  async run(): Promise<void> {
    // Every expected alarm is open before the first kill, so a takeover that forgets one shows.
    await eventually(async () => ((await this.alarmRows([VOLTAGE_RULE])).length >= VOLTAGE_METERS.length ? true : undefined), 60_000, 'the voltage alarms to be raised');

    // 1. During a shedding round: some of round 1's meters tripped, not all. Armed only now,
    // through the API, so its rounds run from here rather than from the nodes' start.
    const armed = await (await this.leader()).api('POST', `/api/v1/load-control/programs/${PROGRAM_ID}/enable`);
    if (armed.status !== 200) throw new Error(`enable ${PROGRAM_ID}: ${String(armed.status)} ${JSON.stringify(armed.body)}`);
    const inRound = await eventually(async () => {
      const p = await this.program();
      const tripped = p?.tripped.filter((a) => a.round === 1).length ?? 0;
      return p?.executingRound === 1 && tripped >= 1 && tripped < ROUND_1.length ? p : undefined;
    }, 60_000, 'round 1 of the program to be under way');
    this.#roundBeforeKill = inRound.round;
    step(`round ${String(inRound.round)} under way`);
    await this.killLeader('a load-control round');

    // 2. During a bulk disconnect of 50 meters: some verified, some not yet.
    const leader = await this.leader();
    const bulk = await this.command(leader, 'disconnect', 'chaos-bulk-disconnect');
    await eventually(async () => {
      const c = await this.commandView(bulk);
      const done = c.targets.filter((t) => t.status === 'verified').length;
      return done >= 1 && done < BULK.length ? true : undefined;
    }, 60_000, 'the bulk disconnect to be half done');
    step('bulk disconnect half done');
    await this.killLeader('a bulk disconnect of 50 meters');
    await this.settled(bulk);
    const reconnect = await this.command(await this.leader(), 'reconnect', 'chaos-bulk-reconnect');
    await this.settled(reconnect);

    // 3. During QoS 1 telemetry.
    const publishers = await TelemetryPublishers.start(this.brokerUrl, PUBLISHERS, { limit: MESSAGES_PER_PUBLISHER, inflight: 5 });
    this.#publishers = publishers;
    await eventually(async () => ((await this.storedOfPublishers()) >= publishers.readings() / 4 && publishers.readings() > 0 ? true : undefined), 60_000, 'a part of the telemetry to be stored');
    step('telemetry flowing');
    await this.killLeader('QoS 1 telemetry');
    await publishers.done;
    await publishers.stop();
  }

  async outcome(): Promise<ChaosOutcome> {
    const publishers = this.#publishers;
    if (publishers === undefined) throw new Error('run() first');
    const readings = await checkStored(this.databaseUrl, publishers);

    const final = await eventually(async () => {
      const p = await this.program();
      return p?.round === 3 && p.executingRound === null ? p : undefined;
    }, 60_000, 'the program to finish round 3');
    const seen = new Map<string, number>();
    for (const a of final.tripped) seen.set(`${String(a.round)}|${a.meterId}`, (seen.get(`${String(a.round)}|${a.meterId}`) ?? 0) + 1);
    const rounds = [ROUND_1, ROUND_2, ROUND_3];
    const expectedTrips = rounds.flatMap((meters, i) => meters.map((m) => `${String(i + 1)}|${m}`));

    // A round meter whose set-limit a kill cut between its claim and the wire ends failed
    // INTERRUPTED after its read-back showed no limit (the same rule as a bulk target's): it
    // executed zero times and the round went on without it, as without a meter that never answers.
    const cutBeforeTheWire = new Set(final.tripped.filter((a) => a.status === 'failed' && a.error?.code === 'INTERRUPTED').map((a) => `${String(a.round)}|${a.meterId}`));
    const expected: Record<string, ControlCounts> = {};
    rounds.forEach((meters, i) => {
      for (const m of meters) expected[m] = { 'set-limit': cutBeforeTheWire.has(`${String(i + 1)}|${m}`) ? 0 : 1 };
    });
    const commands = await Promise.all(this.#commands.map(async (id) => {
      const c = await this.commandView(id);
      for (const t of c.targets) expected[t.meterId] = { ...expected[t.meterId], [c.type]: interruptedBeforeTheWire(t) ? 0 : 1 };
      return {
        id: c.id, type: c.type, status: c.status,
        interrupted: c.targets.filter(interruptedBeforeTheWire).map((t) => t.meterId),
        unsettled: c.targets.filter((t) => t.status !== 'verified' && !interruptedBeforeTheWire(t)),
      };
    }));

    const rows = await this.alarmRows([VOLTAGE_RULE, `load-control:${PROGRAM_ID}`]);
    const bySubject = new Map<string, { state: string }[]>();
    for (const r of rows) bySubject.set(`${r.rule_id}|${r.subject_id}`, [...(bySubject.get(`${r.rule_id}|${r.subject_id}`) ?? []), r]);
    const expectedAlarms = [...VOLTAGE_METERS.map((m) => `${VOLTAGE_RULE}|${m}`)];
    const programAlarms = rows.filter((r) => r.rule_id === `load-control:${PROGRAM_ID}`);
    return {
      takeovers: this.#takeovers,
      readings,
      controls: { expected, executed: (await this.fleet.status()).controls },
      commands,
      alarms: {
        duplicates: [...bySubject].filter(([, v]) => v.length > 1).map(([k, v]) => `${k} ×${String(v.length)}`),
        missing: [...expectedAlarms.filter((k) => !bySubject.has(k)), ...(programAlarms.length === 0 ? [`load-control:${PROGRAM_ID}`] : [])],
        // With the clear's own explanation: a failure says what cleared the alarm.
        notOpen: rows.filter((r) => r.state === 'cleared').map((r) => `${r.rule_id}|${r.subject_id}: ${r.clear_explanation ?? '(no explanation)'}`),
      },
      program: {
        rounds: rounds.length,
        meters: rounds.flat(),
        roundBeforeKill: this.#roundBeforeKill,
        final,
        repeated: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
        notVerified: expectedTrips.filter((k) => !cutBeforeTheWire.has(k) && !final.tripped.some((a) => `${String(a.round)}|${a.meterId}` === k && a.status === 'verified')),
        cutBeforeTheWire: [...cutBeforeTheWire],
      },
    };
  }

  live(): readonly CliStationNode[] {
    return [...this.nodes.values()];
  }

  /** The node that leads now (in active-standby also active), asked of every live node. */
  private async leader(): Promise<CliStationNode> {
    return await eventually(async () => {
      for (const n of this.nodes.values()) {
        const h = await n.health().catch(() => undefined);
        if (h?.node.leader === true && (this.mode !== 'active-standby' || h.node.duties === 'active')) return n;
      }
      return undefined;
    }, 30_000, 'a leader');
  }

  /** SIGKILLs the leader, measures until a survivor leads, and starts the dead node again. */
  private async killLeader(during: string): Promise<void> {
    const dead = await this.leader();
    this.nodes.delete(dead.id);
    const killedAt = Date.now();
    await dead.kill();
    const next = await this.leader();
    const ms = Date.now() - killedAt;
    step(`${next.id} took over from ${dead.id}`);
    if (this.mode !== 'sharded') {
      this.#takeovers.push({ during, from: dead.id, to: next.id, ms });
      await this.start(dead.id);
      step(`${dead.id} back`);
      return;
    }
    await this.areasPlaced();
    const afterKillMs = Date.now() - killedAt;
    step(`the survivors own every area (${String(afterKillMs)} ms after the kill)`);
    const restartedAt = Date.now();
    await this.start(dead.id);
    await this.areasPlaced();
    const afterRestartMs = Date.now() - restartedAt;
    step(`${dead.id} back, the three own every area (${String(afterRestartMs)} ms after the restart)`);
    this.#takeovers.push({ during, from: dead.id, to: next.id, ms, areas: { afterKillMs, afterRestartMs } });
  }

  /**
   * Waits until every live node owns exactly the transformer areas rendezvous hashing gives it
   * among the live nodes, as each one's /health says: every area owned by a live node, none by two.
   */
  private async areasPlaced(): Promise<void> {
    await eventually(async () => {
      const live = [...this.nodes.values()];
      const owners = assignShards(this.areaIds, live.map((n) => n.id));
      for (const n of live) {
        const h = await n.health().catch(() => undefined);
        if (h === undefined) return undefined;
        const expected = this.areaIds.filter((a) => owners.get(a) === n.id);
        if (JSON.stringify([...h.node.shards].sort()) !== JSON.stringify(expected) || h.node.shardCount !== expected.length) return undefined;
      }
      return true;
    }, 60_000, 'every transformer area to be owned by its live node');
  }

  private async command(node: CliStationNode, type: 'disconnect' | 'reconnect', key: string): Promise<string> {
    const res = await node.api('POST', '/api/v1/commands', { type, meterIds: BULK, reason: 'chaos test' }, { 'idempotency-key': key });
    if (res.status !== 201) throw new Error(`POST ${type}: ${String(res.status)} ${JSON.stringify(res.body)}`);
    const { id } = res.body as { id: string };
    this.#commands.push(id);
    return id;
  }

  /** The command as any live node shows it (they read one store). */
  private async commandView(id: string): Promise<CommandView> {
    for (const n of this.nodes.values()) {
      const res = await n.api('GET', `/api/v1/commands/${id}`).catch(() => undefined);
      if (res?.status === 200) return res.body as CommandView;
    }
    throw new Error(`no live node shows command ${id}`);
  }

  /**
   * Waits until no target of the command is open any more, and every target a takeover marked
   * INTERRUPTED has had its read-back (a second transition after the mark): the command closes
   * at the mark, the read comes once the old send's timeout has passed.
   */
  private async settled(id: string): Promise<void> {
    const open = (t: CommandView['targets'][number]): boolean => !['verified', 'failed', 'timed-out', 'cancelled', 'refused'].includes(t.status)
      || (t.error?.code === 'INTERRUPTED' && t.transitions.filter((x) => x.status === 'failed').length < 2);
    try {
      await eventually(async () => {
        const c = await this.commandView(id);
        return c.status === 'open' || c.targets.some(open) ? undefined : true;
      }, 90_000, `command ${id} to settle`);
    } catch (err) {
      // Say which targets stayed open and how they got there: the failure is to be read, not guessed.
      const c = await this.commandView(id).catch(() => undefined);
      const stuck = c?.targets.filter(open).map((t) => ({ meter: t.meterId, status: t.status, error: t.error, transitions: t.transitions })) ?? [];
      throw new Error(`${err instanceof Error ? err.message : String(err)}; open targets: ${JSON.stringify(stuck)}`, { cause: err });
    }
  }

  private async program(): Promise<ProgramRow | undefined> {
    const [row] = await queryPostgres<{ state: ProgramRow }>(this.databaseUrl, 'SELECT state FROM load_control_state WHERE program_id = $1', [PROGRAM_ID]);
    return row?.state;
  }

  private async alarmRows(rules: readonly string[]): Promise<{ rule_id: string; subject_id: string; state: string; clear_explanation: string | null }[]> {
    return await queryPostgres(this.databaseUrl, 'SELECT rule_id, subject_id, state, clear_explanation FROM alarms WHERE rule_id = ANY($1)', [rules]);
  }

  private async storedOfPublishers(): Promise<number> {
    const meters = Array.from({ length: PUBLISHERS }, (_, t) => meterIdOf(t));
    const [row] = await queryPostgres<{ n: number }>(this.databaseUrl, 'SELECT count(*)::int AS n FROM readings r JOIN meters m ON m.key = r.meter_key WHERE m.id = ANY($1)', [meters]);
    return row?.n ?? 0;
  }
}

/** The stations' one configuration file (every node reads the same), with its rule set beside it. */
function writeStationConfig(dir: string, o: { brokerUrl: string; registerMaps: unknown; seed: { areas: readonly unknown[]; terminals: readonly unknown[]; meters: readonly unknown[] }; webRoot?: string }): string {
  writeFileSync(join(dir, 'rules.yaml'), JSON.stringify({
    rules: [{
      id: VOLTAGE_RULE, name: 'voltage over a nominal of 150 V', severity: 'minor', subject: { meters: VOLTAGE_METERS }, detector: 'voltage-out-of-limits',
      params: { nominalV: 150, lowPct: 10, highPct: 10, hysteresisPct: 1, forMs: 0, clearForMs: 600_000 },
    }],
  }));
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const publishers = publisherRegistry(PUBLISHERS);
  const config = {
    log: { level: 'warn' },
    http: { host: '127.0.0.1', ...(o.webRoot === undefined ? {} : { webRoot: o.webRoot }) },
    mqtt: { url: o.brokerUrl, embeddedBroker: { enabled: false } },
    modbus: { registerMaps: o.registerMaps },
    dlms: { push: { listen: { enabled: false } } },
    simulators: { enabled: false },
    opcua: { enabled: false },
    cluster: { leaseMs: CHAOS_LEASE_MS, heartbeatMs: 500 },
    collect: COLLECT,
    // One command per terminal a second: a round or a bulk on one terminal lasts seconds, long enough to be killed in.
    control: { confirmAbove: 100, perTerminalRatePerMinute: 60 },
    rules: { enabled: true, file: 'rules.yaml' },
    loadControl: {
      tickMs: 1_000,
      programs: [{
        // Suspension at 0 kW over a week around today: the load is over the limit from the first fresh value.
        id: PROGRAM_ID, kind: 'suspension', enabled: false, from: day(-3), to: day(3), limitKw: 0, meters: ROUND_1, restoreAfterMs: 3_600_000,
        rounds: [
          // A limit far above the load: the meters' own limiters never trip, so the load stays over and the rounds go on.
          { afterMs: 0, action: 'set-limit', limitKw: 100_000, meters: ROUND_1 },
          { afterMs: 20_000, action: 'set-limit', limitKw: 100_000, meters: ROUND_2 },
          { afterMs: 40_000, action: 'set-limit', limitKw: 100_000, meters: ROUND_3 },
        ],
      }],
    },
    registry: {
      areas: o.seed.areas,
      terminals: [...o.seed.terminals, ...publishers.terminals],
      meters: [...o.seed.meters, ...publishers.meters],
    },
  };
  const file = join(dir, 'station.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
