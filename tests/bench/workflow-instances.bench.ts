/**
 * Workflow instance throughput and what an instance leaves in the store, on each driver (the
 * embedded store in a SQLite file of a temp directory, and PostgreSQL on a throw-away cluster;
 * skipped, with the reason printed, where it is not installed).
 *
 * The process: start → service task (the station's `notify` action, posting through the alarm
 * notifiers' channel with no receiver configured, so nothing leaves the process) → a 0.1 s
 * timer → end. It is deployed through the definition service (checked as a person's deploy
 * is) and run by the WorkflowRuntime over the driver's instance store with the schema's
 * default `workflows` limits: 2,000 instances started through `runtime.start`, 32 starts in
 * flight, until every one has completed — instances/s and CPU µs per instance.
 *
 * Bytes per instance, as column payload (text octets, 8 per integer), and on disk with the
 * indexes: the instance row while it waits on its timer (the peak, engine state included) and
 * its state alone; once completed (state null), the row, its history lines and its effect.
 *
 * The ceiling: the same XML, the same action and the same timer run by bare bpmn-engine in
 * memory (no persistence, no history), instances/s, printed beside ours with the ratio.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine } from 'bpmn-engine';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowsConfig } from '../../src/config/workflows.js';
import { WorkOrdersConfig } from '../../src/config/workOrders.js';
import { LogThrottle, createLogger } from '../../src/observe/logger.js';
import { WorkOrderService } from '../../src/workOrders/service.js';
import { ACTION_NAMES, alarmNotifierChannel } from '../../src/workflows/actions/index.js';
import { notifyAction } from '../../src/workflows/actions/notify.js';
import { checkCatalogueOf } from '../../src/workflows/definitions/index.js';
import { DefinitionService } from '../../src/workflows/definitions/service.js';
import { gridheadModdle } from '../../src/workflows/moddle.js';
import type { ActionContext } from '../../src/workflows/model.js';
import { WorkflowRuntime } from '../../src/workflows/runtime/runtime.js';
import { ROLES } from '../../src/auth/roles.js';
import { WORK_ORDER_TYPES } from '../../src/workOrders/types.js';
import {
  STORE_DRIVERS, auditLogOf, disposeStoreDrivers, execute, select, workOrderStoreOf, workflowDefinitionStoreOf, type StoreConnection,
} from '../helpers/storeDrivers.js';
import { instanceStoreOf, stored } from '../helpers/workflowFixtures.js';
import { startProfiler } from './cpuProfile.js';

const INSTANCES = Number(process.env.GRIDHEAD_BENCH_WORKFLOW_INSTANCES ?? 2_000);
const IN_FLIGHT = 32;
const WAIT = 'PT0.1S';

const PROCESS = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:gh="https://gridhead.dev/schema/bpmn"
  id="defs" targetNamespace="https://gridhead.dev/bench">
  <process id="bench-notify-wait" name="Notify, wait, end" isExecutable="true">
    <startEvent id="start" name="Start"><outgoing>f1</outgoing></startEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="notify"/>
    <serviceTask id="notify" name="Notify" gh:action="notify" gh:params="message=instance \${n};target=bench">
      <incoming>f1</incoming><outgoing>f2</outgoing>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="notify" targetRef="pause"/>
    <intermediateCatchEvent id="pause" name="Wait">
      <incoming>f2</incoming><outgoing>f3</outgoing>
      <timerEventDefinition><timeDuration>\${environment.variables.wait}</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="pause" targetRef="end"/>
    <endEvent id="end" name="End"><incoming>f3</incoming></endEvent>
  </process>
</definitions>`;

/** The alarm notifiers with no webhook and no MQTT configured: the action runs whole, nothing is sent. */
const NOTICES = alarmNotifierChannel({ webhooks: [], mqtt: undefined }, 'gridhead/alarms');

const NO_HOOKS = { activate: (): void => undefined, deactivate: (): void => undefined };

const TABLES = {
  workflow_instances: {
    text: ['id', 'process_key', 'status', 'trigger_kind', 'trigger_ref', 'business_key', 'variables', 'waiting', 'state', 'error'],
    integer: ['version', 'started_at', 'updated_at', 'ended_at'],
  },
  workflow_history: { text: ['instance_id', 'element_id', 'element_type', 'event', 'detail'], integer: ['seq', 'at'] },
  workflow_effects: { text: ['instance_id', 'step_key', 'action', 'output'], integer: ['at'] },
} as const;

/** Column payload of a table's rows `where`: text octets, 8 bytes per integer; and the row count. */
async function payload(c: StoreConnection, table: keyof typeof TABLES, where: string, ...args: string[]): Promise<{ bytes: number; rows: number }> {
  const octets = (col: string): string => (c.sqlite !== undefined ? `COALESCE(length(CAST(${col} AS BLOB)), 0)` : `COALESCE(octet_length(${col}), 0)`);
  const t = TABLES[table];
  const expr = [...t.text.map(octets), ...t.integer.map((col) => `CASE WHEN ${col} IS NULL THEN 0 ELSE 8 END`)].join(' + ');
  const [row] = await select<{ bytes: number | string | null; rows: number | string }>(c, `SELECT SUM(${expr}) AS bytes, COUNT(*) AS rows FROM ${table} WHERE ${where}`, ...args);
  return { bytes: Number(row?.bytes ?? 0), rows: Number(row?.rows ?? 0) };
}

/** Bytes the workflow tables take on disk with their indexes (SQLite: their b-tree pages; PostgreSQL: relations, TOAST and indexes after VACUUM FULL). */
async function onDisk(c: StoreConnection): Promise<number> {
  const tables = Object.keys(TABLES);
  if (c.sqlite !== undefined) {
    c.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const [row] = await select<{ bytes: number | null }>(c, `SELECT SUM(pgsize) AS bytes FROM dbstat
      WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN (${tables.map((t) => `'${t}'`).join(', ')}))`);
    return row?.bytes ?? 0;
  }
  for (const t of tables) await execute(c, `VACUUM FULL ${t}`);
  const [row] = await select<{ bytes: string }>(c, `SELECT ${tables.map((t) => `pg_total_relation_size('${t}')`).join(' + ')} AS bytes`);
  return Number(row?.bytes ?? 0);
}

async function pool(n: number, inFlight: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) await work(next++);
  }));
}

const slug = (name: string): string => (name.startsWith('PostgreSQL') ? 'postgres' : 'embedded');

let ceiling = 0;

afterAll(() => disposeStoreDrivers());

/** Bare bpmn-engine: the same XML, the same `notify` action, the same timer; nothing written. */
async function bareEngine(n: number): Promise<{ perSecond: number; cpuUs: number }> {
  const action = notifyAction(NOTICES, Date.now);
  const abort = new AbortController();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const ended: Promise<void>[] = [];
  await pool(n, IN_FLIGHT, async (i) => {
    const id = `bare-${i}`;
    const engine = new Engine({
      name: id, source: PROCESS, moddleOptions: { gh: gridheadModdle }, variables: { wait: WAIT, n: i },
      extensions: {
        gh: (element) => {
          const activity = element as unknown as { type: string; behaviour: Record<string, unknown>; environment: { variables: Record<string, unknown> } };
          if (activity.type !== 'bpmn:ServiceTask') return NO_HOOKS;
          const execute = (message: { content: { executionId: string } }, callback: (err: unknown, output?: unknown) => void): void => {
            const context: ActionContext = {
              instanceId: id, processKey: 'bench-notify-wait', elementId: 'notify', stepKey: `${id}:${message.content.executionId}`, actor: `workflow:bench-notify-wait/${id}`,
              variables: activity.environment.variables, params: { message: `instance ${i}`, target: 'bench' }, signal: abort.signal,
            };
            action.run(context).then((output) => { Object.assign(activity.environment.variables, output); callback(null, output); }, (err: unknown) => { callback(err); });
          };
          // bpmn-elements constructs the behaviour with `new`: a function, not an arrow.
          activity.behaviour.Service = function ServiceTaskAction() { return { execute }; };
          return NO_HOOKS;
        },
      },
    });
    ended.push(new Promise<void>((resolve, reject) => { engine.once('end', () => { resolve(); }); engine.once('error', reject); }));
    await engine.execute();
  });
  await Promise.all(ended);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { perSecond: Math.round(n / (ms / 1000)), cpuUs: Math.round((used.user + used.system) / n) };
}

beforeAll(async () => {
  await bareEngine(200);
  const bare = await bareEngine(INSTANCES);
  ceiling = bare.perSecond;
  console.log(`bench: workflows.ceiling.bare_bpmn_engine_in_memory = ${bare.perSecond} instances/s`);
  console.log(`bench: workflows.ceiling.bare_bpmn_engine_in_memory_cpu = ${bare.cpuUs} µs/instance`);
});

describe.each(STORE_DRIVERS)('workflow instances on $name', (driver) => {
  it(`starts and completes ${INSTANCES} instances of start → notify → ${WAIT} timer → end`, async (ctx) => {
    if (driver.unavailable !== undefined) {
      console.log(`bench: skipped on ${driver.name}: ${driver.unavailable}`);
      ctx.skip();
    }
    const name = slug(driver.name);
    const database = await driver.create();
    let runtime: WorkflowRuntime | undefined;
    try {
      const c = await database.connect();
      const audit = auditLogOf(c);
      const logger = createLogger('silent');
      const config = Value.Default(WorkflowsConfig, { variables: { wait: WAIT } }) as WorkflowsConfig;
      expect(INSTANCES).toBeLessThanOrEqual(config.maxRunning);
      const definitions = new DefinitionService({
        store: workflowDefinitionStoreOf(c), audit, logger, maxBytes: config.definitions.maxBytes,
        catalogue: () => checkCatalogueOf(ACTION_NAMES.map((n) => ({ name: n })), ROLES, WORK_ORDER_TYPES),
      });
      await definitions.deploy(PROCESS, 'user:bench');
      const workOrders = new WorkOrderService({ store: workOrderStoreOf(c), audit, limits: Value.Default(WorkOrdersConfig, {}) as WorkOrdersConfig });
      const store = instanceStoreOf(c);
      runtime = new WorkflowRuntime({
        store, definitions, actions: new Map([['notify', notifyAction(NOTICES, Date.now)]]), workOrders, logger, throttle: new LogThrottle(60_000),
        config: {
          pollMs: config.pollMs, changesPerPoll: config.changesPerPoll, maxRunning: config.maxRunning,
          maxHistoryPerInstance: config.maxHistoryPerInstance, maxVariablesBytes: config.maxVariablesBytes, variables: config.variables,
        },
      });
      await runtime.begin();

      // The peak: an instance waiting on its timer, its engine state written. Removed after, so the totals below are the run's alone.
      const probe = (await runtime.start('bench-notify-wait', { n: -1, wait: 'PT1H' }, { kind: 'api', ref: 'bench' }, null))?.id ?? '';
      await stored(store, probe, (i) => i.waiting.some((w) => w.elementId === 'pause' && w.detail !== null));
      const waitingRow = await payload(c, 'workflow_instances', 'id = $1', probe);
      const [stateRow] = await select<{ bytes: number | string }>(c, `SELECT ${c.sqlite !== undefined ? 'length(CAST(state AS BLOB))' : 'octet_length(state)'} AS bytes FROM workflow_instances WHERE id = $1`, probe);
      await runtime.cancel(probe, 'bench probe', 'bench');
      await execute(c, `DELETE FROM workflow_instances WHERE id = '${probe}'`);
      const before = await onDisk(c);

      const stopProfile = await startProfiler(process.env.GRIDHEAD_BENCH_CPU_PROFILE);
      const cpu = process.cpuUsage();
      const start = performance.now();
      await pool(INSTANCES, IN_FLIGHT, async (i) => {
        const started = await runtime?.start('bench-notify-wait', { n: i }, { kind: 'api', ref: 'bench' }, `b-${i}`);
        if (started === undefined) throw new Error(`instance ${i} was not started`);
      });
      const startedMs = performance.now() - start;
      while (await store.countRunning() > 0) await sleep(10);
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      await stopProfile?.();

      const completed = await payload(c, 'workflow_instances', "status = 'completed'");
      expect(completed.rows).toBe(INSTANCES);
      const history = await payload(c, 'workflow_history', '1 = 1');
      const effects = await payload(c, 'workflow_effects', '1 = 1');
      // One effect per instance: no service task ran twice.
      expect(effects.rows).toBe(INSTANCES);
      const [notified] = await select<{ n: number | string }>(c, `SELECT COUNT(*) AS n FROM workflow_effects WHERE action = 'notify' AND output LIKE '%"notified":false%'`);
      expect(Number(notified?.n)).toBe(INSTANCES);
      const after = await onDisk(c);

      const perSecond = Math.round(INSTANCES / (ms / 1000));
      console.log(`bench: workflows.${name}.action = notify (the station's action; alarm notifiers with no receiver configured)`);
      console.log(`bench: workflows.${name}.instances_started_and_completed = ${perSecond} instances/s`);
      console.log(`bench: workflows.${name}.instances_started = ${Math.round(INSTANCES / (startedMs / 1000))} instances/s`);
      console.log(`bench: workflows.${name}.cpu = ${Math.round((used.user + used.system) / INSTANCES)} µs/instance`);
      console.log(`bench: workflows.${name}.ceiling_bare_bpmn_engine = ${ceiling} instances/s (ours at ${(perSecond / ceiling * 100).toFixed(1)} %, ${(ceiling / perSecond).toFixed(1)}× slower)`);
      console.log(`bench: workflows.${name}.waiting_instance_row = ${waitingRow.bytes} bytes`);
      console.log(`bench: workflows.${name}.waiting_instance_state = ${Number(stateRow?.bytes ?? 0)} bytes`);
      console.log(`bench: workflows.${name}.completed_instance_row = ${Math.round(completed.bytes / INSTANCES)} bytes/instance`);
      console.log(`bench: workflows.${name}.completed_history = ${Math.round(history.bytes / INSTANCES)} bytes/instance (${(history.rows / INSTANCES).toFixed(1)} lines)`);
      console.log(`bench: workflows.${name}.completed_effects = ${Math.round(effects.bytes / INSTANCES)} bytes/instance`);
      console.log(`bench: workflows.${name}.completed_total_payload = ${Math.round((completed.bytes + history.bytes + effects.bytes) / INSTANCES)} bytes/instance`);
      console.log(`bench: workflows.${name}.completed_on_disk_with_indexes = ${Math.round((after - before) / INSTANCES)} bytes/instance`);
    } finally {
      await runtime?.end();
      await database.dispose();
    }
  });
});
