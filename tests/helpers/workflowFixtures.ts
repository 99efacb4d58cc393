/**
 * Small honest stand-ins for the workflow runtime's neighbours in its own tests: a definition
 * source holding versions in memory, a work-order port with the port's contract (idempotent by
 * key, a station-wide change sequence, done and cancelled closing an order), and actions whose
 * side effect is kept in a log idempotent by step key, as a command log is by idempotency key.
 * The real definition service and work-order service satisfy the same interfaces.
 */
import { createHash } from 'node:crypto';
import { vi } from 'vitest';
import type { WorkflowInstance } from '../../src/workflows/model.js';
import { PostgresWorkflowInstanceStore } from '../../src/workflows/runtime/postgresStore.js';
import { SqliteWorkflowInstanceStore } from '../../src/workflows/runtime/sqliteStore.js';
import type { WorkflowInstanceStore } from '../../src/workflows/runtime/store.js';
import type { StoreConnection } from './storeDrivers.js';
import type { DefinitionSource } from '../../src/workflows/runtime/runtime.js';
import type { ActionContext, ProcessDefinition, WorkflowAction } from '../../src/workflows/model.js';
import type { WorkOrder, WorkOrderResult } from '../../src/workOrders/model.js';
import type { WorkOrderOpenRequest, WorkOrderPort } from '../../src/workOrders/port.js';

export class FixtureDefinitions implements DefinitionSource {
  private readonly versions = new Map<string, ProcessDefinition[]>();

  deploy(key: string, xml: string): ProcessDefinition {
    const list = this.versions.get(key) ?? [];
    const d: ProcessDefinition = {
      key, version: list.length + 1, name: key, xml, hash: createHash('sha256').update(xml).digest('hex'),
      deployedAt: 0, deployedBy: 'test', shipped: false,
    };
    this.versions.set(key, [...list, d]);
    return d;
  }

  latest(key: string): Promise<ProcessDefinition | undefined> {
    return Promise.resolve(this.versions.get(key)?.at(-1));
  }

  get(key: string, version: number): Promise<ProcessDefinition | undefined> {
    return Promise.resolve(this.versions.get(key)?.find((d) => d.version === version));
  }
}

export class FixtureWorkOrders implements WorkOrderPort {
  readonly orders = new Map<string, WorkOrder>();
  private readonly byKeys = new Map<string, string>();
  private seq = 0;
  /** Calls of `open`, the repeated ones included. */
  opens = 0;

  open(r: WorkOrderOpenRequest): Promise<WorkOrder> {
    this.opens += 1;
    const known = this.byKeys.get(r.key);
    if (known !== undefined) return Promise.resolve(this.orders.get(known)!);
    const n = this.orders.size + 1;
    const order: WorkOrder = {
      id: `wo-${n}`, number: `WO-${String(n).padStart(6, '0')}`, type: r.type, title: r.title, meterId: r.meterId, customer: r.customer,
      areaId: r.areaId, role: r.role, assignee: r.assignee, dueAt: r.dueAt, state: r.assignee === null ? 'open' : 'assigned', result: null,
      resultText: null, escalations: 0, alarmId: r.alarmId, source: r.source, createdAt: 0, updatedAt: 0, closedAt: null, changeSeq: ++this.seq,
    };
    this.orders.set(order.id, order);
    this.byKeys.set(r.key, order.id);
    return Promise.resolve(order);
  }

  byKey(key: string): Promise<WorkOrder | undefined> {
    const id = this.byKeys.get(key);
    return Promise.resolve(id === undefined ? undefined : this.orders.get(id));
  }

  get(id: string): Promise<WorkOrder | undefined> {
    return Promise.resolve(this.orders.get(id));
  }

  complete(id: string, result: WorkOrderResult, resultText: string | null, actor: string): Promise<WorkOrder> {
    return this.change(id, (o) => ({ ...o, state: 'done', result, resultText, assignee: o.assignee ?? actor }));
  }

  cancel(id: string, _reason: string, _actor: string): Promise<WorkOrder> {
    return this.change(id, (o) => ({ ...o, state: 'cancelled' }));
  }

  escalate(id: string, _reason: string, _actor: string): Promise<WorkOrder> {
    const o = this.orders.get(id);
    if (o === undefined) return Promise.reject(new Error(`no work order ${id}`));
    const next = { ...o, escalations: o.escalations + 1, changeSeq: ++this.seq };
    this.orders.set(id, next);
    return Promise.resolve(next);
  }

  changesSince(seq: number, limit: number): Promise<readonly WorkOrder[]> {
    return Promise.resolve([...this.orders.values()].filter((o) => o.changeSeq > seq).sort((a, b) => a.changeSeq - b.changeSeq).slice(0, limit));
  }

  private change(id: string, f: (o: WorkOrder) => WorkOrder): Promise<WorkOrder> {
    const o = this.orders.get(id);
    if (o === undefined) return Promise.reject(new Error(`no work order ${id}`));
    if (o.state === 'done' || o.state === 'cancelled') return Promise.resolve(o);
    const next = { ...f(o), changeSeq: ++this.seq };
    this.orders.set(id, next);
    return Promise.resolve(next);
  }
}

/**
 * The effects log of the fixture actions: one entry per step key, however often the step runs
 * (as the command log keeps one command per idempotency key); `runs` counts every call.
 */
export class EffectLog {
  readonly effects = new Map<string, { readonly action: string; readonly params: Readonly<Record<string, string>> }>();
  readonly runs: string[] = [];
  /** While set, `hold` actions wait on it (a command sent, its verification pending). */
  gate: Promise<void> | undefined;
}

/** `mark`: records its effect and answers `{ marked: true, ...params }`; `hold`: records, then waits on the log's gate (or the abort); `fail`: records and throws. */
export function fixtureActions(log: EffectLog): ReadonlyMap<string, WorkflowAction> {
  const record = (name: string, c: ActionContext): void => {
    log.runs.push(c.stepKey);
    if (!log.effects.has(c.stepKey)) log.effects.set(c.stepKey, { action: name, params: c.params });
  };
  const actions: WorkflowAction[] = [
    {
      name: 'mark', description: 'Records an effect by step key.', params: [],
      run: (c) => { record('mark', c); return Promise.resolve({ marked: true, ...c.params }); },
    },
    {
      name: 'hold', description: 'Records an effect, then waits as a command waits on its verification.', params: [],
      run: async (c) => {
        record('hold', c);
        if (log.gate !== undefined) {
          await Promise.race([log.gate, new Promise((_resolve, reject) => { c.signal.addEventListener('abort', () => { reject(new Error('aborted')); }); })]);
        }
        return { verified: true };
      },
    },
    {
      name: 'fail', description: 'Refuses, as an action whose device answers an error does.', params: [],
      run: (c) => { record('fail', c); return Promise.reject(new Error(`device refused for ${c.params.meterId ?? 'no meter'}`)); },
    },
  ];
  return new Map(actions.map((a) => [a.name, a]));
}

/** The instance store of the connection's driver. */
export function instanceStoreOf(c: StoreConnection): WorkflowInstanceStore {
  return c.sqlite !== undefined ? new SqliteWorkflowInstanceStore(c.sqlite) : new PostgresWorkflowInstanceStore(c.postgres);
}

/** Waits for the stored instance to satisfy `check` (the engine runs on its own timers). */
export async function stored(store: WorkflowInstanceStore, id: string, check: (i: WorkflowInstance) => boolean): Promise<WorkflowInstance> {
  return vi.waitFor(async () => {
    const i = await store.get(id);
    if (i === undefined || !check(i)) throw new Error(`instance ${id} is ${JSON.stringify(i?.status)} (${String(i?.error)}) waiting at ${JSON.stringify(i?.waiting)}`);
    return i;
  }, { timeout: 15_000, interval: 10 });
}

