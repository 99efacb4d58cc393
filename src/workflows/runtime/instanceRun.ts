/**
 * One running instance: its bpmn-engine, where it waits, and the writes that make each step
 * durable. The engine calls back synchronously; every event of a step is gathered and written
 * once the step has settled (a tick later, when the engine's state includes the step: a timer's
 * state holds its start time only then), so the history lines, the waiting list and the state
 * are always one transaction. A service task writes the state before its action runs; a user
 * task opens its work order by step key, so a step run again after a restart finds it.
 */
import { EventEmitter } from 'node:events';
import { Engine } from 'bpmn-engine';
import * as Elements from 'bpmn-elements';
import { deserialize, TypeResolver } from 'moddle-context-serializer';
import { gridheadModdle } from '../moddle.js';
import { isExpression, isoDurationEnd, parseIsoDuration } from '../isoTime.js';
import { workflowActor, type InstanceStatus, type WaitingStep, type WorkflowAction, type WorkflowInstance } from '../model.js';
import type { WorkOrder, WorkOrderResult } from '../../workOrders/model.js';
import type { WorkOrderPort } from '../../workOrders/port.js';
import { UnknownAction, VariablesTooLarge } from './errors.js';
import { CONDITION_SERVICES, actionParams, ownVariables } from './expressions.js';
import type { NewHistoryEntry, WorkflowInstanceStore } from './store.js';

/** What an instance needs from the runtime that hosts it. */
export interface InstanceHost {
  readonly store: WorkflowInstanceStore;
  readonly actions: ReadonlyMap<string, WorkflowAction>;
  readonly workOrders: WorkOrderPort;
  readonly maxHistory: number;
  readonly maxVariablesBytes: number;
  readonly now: () => number;
  /** A user task's order is open: the runtime follows its changes. */
  orderOpened(run: InstanceRun, order: WorkOrder): void;
  /** The instance has ended (completed, failed, cancelled) and its last step is written. */
  ended(run: InstanceRun): void;
  /** Something failed outside a step's own outcome (a write, a work order call): one throttled line. */
  problem(run: InstanceRun, what: string, err: unknown): void;
}

/** The engine's listener API, the part used here. */
interface ActivityApi {
  readonly id: string;
  readonly type: string;
  readonly owner: { readonly type: string; readonly name?: string; readonly behaviour: Record<string, unknown> };
  readonly content: { readonly executionId: string; readonly expireAt?: Date; readonly message?: { readonly id?: string; readonly name?: string } };
  signal(message?: unknown): void;
}

/** The part of a bpmn-elements activity the `gh` extension reads. */
interface ExtendedActivity {
  readonly id: string;
  readonly type: string;
  readonly behaviour: Record<string, unknown>;
  readonly environment: { readonly variables: Record<string, unknown> };
}

/** The extension acts when the activity is loaded; it has nothing to do on each run's activate and deactivate. */
const NO_HOOKS = { activate: (): void => undefined, deactivate: (): void => undefined };

interface Waiting {
  step: WaitingStep;
  readonly executionId: string;
  readonly api: ActivityApi;
  orderId?: string;
  readonly messageId?: string;
  readonly messageName?: string;
}

export class InstanceRun {
  readonly id: string;
  readonly instance: WorkflowInstance;
  private readonly engine: Engine;
  private readonly waiting = new Map<string, Waiting>();
  private pending: NewHistoryEntry[] = [];
  private chain: Promise<void> = Promise.resolve();
  private status: InstanceStatus = 'running';
  private error: string | null = null;
  private endedAt: number | null = null;
  /** Stopping (shutdown, cancel): the engine's stop events are no step, nothing more is written from them. */
  private stopping = false;
  private readonly abort = new AbortController();
  /** The process's environment, taken from its first activity; its variables are the instance's. */
  private environment: { readonly variables: Record<string, unknown> } | undefined;
  private readonly initial: Readonly<Record<string, unknown>>;

  /** `source`: the version's serialized definition (`serializedSource`), parsed from its XML once per version, not per instance. */
  constructor(instance: WorkflowInstance, private readonly source: string, private readonly host: InstanceHost) {
    this.id = instance.id;
    this.instance = instance;
    this.initial = instance.variables;
    this.engine = new Engine({
      name: `${instance.processKey}/${instance.id}`,
      sourceContext: deserialize(JSON.parse(source) as object, TYPES),
      variables: { ...instance.variables },
      services: { ...CONDITION_SERVICES },
      extensions: { gh: (activity) => { this.extend(activity); return NO_HOOKS; } },
    });
    this.engine.on('end', () => { this.finish('completed', null); });
    this.engine.on('error', (err: unknown) => { this.finish('failed', err instanceof Error ? err.message : String(err)); });
  }

  /** Runs the instance from its start, or from `state` (a step of an earlier run). */
  async run(state: string | null): Promise<void> {
    const listener = this.listener();
    if (state === null) {
      await this.engine.execute({ listener });
    } else {
      this.engine.recover(stateWithSource(state, this.source));
      this.note({ elementId: this.instance.processKey, elementType: 'bpmn:Process', event: 'resume', detail: null });
      await this.engine.resume({ listener });
    }
    await this.persist();
  }

  get running(): boolean {
    return this.status === 'running' && !this.stopping;
  }

  variables(): Record<string, unknown> {
    return this.environment === undefined ? { ...this.initial } : ownVariables(this.environment.variables);
  }

  /** The work orders its user tasks wait on. */
  orders(): string[] {
    return [...this.waiting.values()].flatMap((w) => (w.orderId === undefined ? [] : [w.orderId]));
  }

  /** Delivers a message to the events waiting for it (by the message's name or id); false when none waits. */
  message(name: string, variables: Readonly<Record<string, unknown>>): boolean {
    const waiting = [...this.waiting.values()].filter((w) => w.messageName === name || (w.messageId !== undefined && w.messageId === name));
    if (waiting.length === 0 || !this.running) return false;
    this.merge(variables);
    for (const w of waiting) {
      this.waiting.delete(w.step.elementId);
      this.note({ elementId: w.step.elementId, elementType: w.step.elementType, event: 'message', detail: name });
      w.api.signal({ ...variables });
    }
    return true;
  }

  /** A work order of a user task changed: done or cancelled ends the task with its result. */
  orderChanged(order: WorkOrder): void {
    if (order.state !== 'done' && order.state !== 'cancelled') return;
    const w = [...this.waiting.values()].find((x) => x.orderId === order.id);
    if (w === undefined || !this.running) return;
    this.waiting.delete(w.step.elementId);
    try {
      this.merge({ ...flatResult(order.result), resultText: order.resultText, completedBy: order.assignee, workOrderState: order.state });
    } catch (err) {
      this.finish('failed', err instanceof Error ? err.message : String(err));
      return;
    }
    w.api.signal({ result: order.result, resultText: order.resultText, by: order.assignee });
  }

  /** Stops the engine for a shutdown or a lost leadership: the last written step is where the next run resumes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    // An engine that has ended never answers a stop.
    if (this.status === 'running') await this.engine.stop();
    await this.chain;
  }

  /** Stops it for good: its orders are cancelled and it is written cancelled. */
  async cancel(reason: string, actor: string): Promise<void> {
    const orders = this.orders();
    await this.stop();
    for (const id of orders) {
      try { await this.host.workOrders.cancel(id, `workflow cancelled: ${reason}`, actor); } catch (err) { this.host.problem(this, 'cancel work order', err); }
    }
    this.note({ elementId: this.instance.processKey, elementType: 'bpmn:Process', event: 'discard', detail: `cancelled by ${actor}: ${reason}` });
    this.status = 'cancelled';
    this.endedAt = this.host.now();
    this.waiting.clear();
    await this.write();
    this.host.ended(this);
  }

  private extend(activity: ExtendedActivity): void {
    this.environment ??= activity.environment;
    if (activity.type !== 'bpmn:ServiceTask') return;
    const execute = (message: { content: { executionId: string } }, callback: (err: unknown, output?: unknown) => void): void => {
      this.serviceTask(activity, message.content.executionId).then(
        (output) => { if (!this.stopping) callback(null, output); },
        (err: unknown) => { if (!this.stopping) callback(err); },
      );
    };
    // bpmn-elements constructs the behaviour with `new`: a function, not an arrow.
    activity.behaviour.Service = function ServiceTaskAction() { return { execute }; };
  }

  private async serviceTask(activity: ExtendedActivity, executionId: string): Promise<Readonly<Record<string, unknown>>> {
    const stepKey = `${this.id}:${executionId}`;
    // Written before acting, or not acted at all: a restart from here runs the step again with the same key.
    await this.written();
    const name = typeof activity.behaviour.action === 'string' ? activity.behaviour.action : undefined;
    const action = name === undefined ? undefined : this.host.actions.get(name);
    if (action === undefined || name === undefined) throw new UnknownAction(activity.id, name);
    const recorded = await this.host.store.effect(this.id, stepKey);
    let output = recorded?.output;
    if (output === undefined) {
      const variables = this.variables();
      output = await action.run({
        instanceId: this.id, processKey: this.instance.processKey, elementId: activity.id, stepKey,
        actor: workflowActor(this.instance.processKey, this.id), variables,
        params: actionParams(typeof activity.behaviour.params === 'string' ? activity.behaviour.params : undefined, variables),
        signal: this.abort.signal,
      });
      await this.host.store.recordEffect({ instanceId: this.id, stepKey, action: name, output, at: this.host.now() });
    }
    this.merge(output);
    return output;
  }

  private listener(): EventEmitter {
    const l = new EventEmitter();
    l.on('activity.start', (api: ActivityApi) => { this.step(api, 'start', null); });
    l.on('activity.end', (api: ActivityApi) => { this.waiting.delete(api.id); this.step(api, 'end', null); });
    l.on('activity.timer', (api: ActivityApi) => {
      const due = api.content.expireAt === undefined ? null : new Date(api.content.expireAt).toISOString();
      this.wait(api, due);
      this.step(api, 'timer', due);
    });
    l.on('activity.wait', (api: ActivityApi) => {
      if (api.owner.type === 'bpmn:UserTask') { void this.userTask(api); return; }
      const name = api.content.message?.name ?? api.content.message?.id ?? null;
      this.wait(api, name, api.content.message);
      this.step(api, 'wait', name);
    });
    // A user task left without ending was interrupted (a boundary event): its order is cancelled.
    l.on('activity.leave', (api: ActivityApi) => {
      const w = this.waiting.get(api.id);
      this.waiting.delete(api.id);
      if (w?.orderId !== undefined && !this.stopping) void this.cancelOrder(w.orderId, `${api.id} was interrupted`);
    });
    l.on('activity.discard', (api: ActivityApi) => { this.step(api, 'discard', null); });
    return l;
  }

  private async userTask(api: ActivityApi): Promise<void> {
    const b = api.owner.behaviour;
    const executionId = api.content.executionId;
    this.wait(api, null);
    const v = this.variables();
    try {
      const due = str(b.due);
      const order = await this.host.workOrders.open({
        key: `${this.id}:${executionId}`, type: str(b.workOrderType) ?? 'general', title: api.owner.name ?? api.id,
        meterId: str(v.meterId) ?? null, customer: str(v.customer) ?? str(v.accountId) ?? null, areaId: str(v.areaId) ?? null,
        role: str(b.role) ?? null, assignee: str(b.assignee) ?? null,
        dueAt: due === undefined ? null : dueAfter(due, this.host.now(), v),
        alarmId: str(v.alarmId) ?? null, source: { instanceId: this.id, processKey: this.instance.processKey, elementId: api.id },
        actor: workflowActor(this.instance.processKey, this.id),
      });
      const w = this.waiting.get(api.id);
      if (w?.executionId !== executionId) return;
      w.step = { ...w.step, detail: order.number };
      w.orderId = order.id;
      this.step(api, 'wait', order.number);
      this.host.orderOpened(this, order);
      this.orderChanged(order);
    } catch (err) {
      this.finish('failed', `work order for ${api.id}: ${err instanceof Error ? err.message : String(err)}`);
      await this.engine.stop();
    }
  }

  private async cancelOrder(orderId: string, reason: string): Promise<void> {
    try {
      await this.host.workOrders.cancel(orderId, reason, workflowActor(this.instance.processKey, this.id));
    } catch (err) {
      this.host.problem(this, 'cancel work order', err);
    }
  }

  private wait(api: ActivityApi, detail: string | null, message?: { readonly id?: string; readonly name?: string }): void {
    this.waiting.set(api.id, {
      step: { elementId: api.id, elementType: api.owner.type, since: this.host.now(), detail }, executionId: api.content.executionId, api,
      ...(message?.id === undefined ? {} : { messageId: message.id }), ...(message?.name === undefined ? {} : { messageName: message.name }),
    });
  }

  private step(api: ActivityApi, event: NewHistoryEntry['event'], detail: string | null): void {
    if (this.stopping) return;
    this.note({ elementId: api.id, elementType: api.owner.type, event, detail });
    void this.persist();
  }

  private note(h: Omit<NewHistoryEntry, 'at'>): void {
    this.pending.push({ ...h, at: this.host.now() });
  }

  /** Merges an action's output or a task's result into the variables, refusing what passes `maxVariablesBytes`. */
  private merge(values: Readonly<Record<string, unknown>>): void {
    const target = this.environment?.variables;
    const next = { ...this.variables(), ...values };
    const bytes = Buffer.byteLength(JSON.stringify(next));
    if (bytes > this.host.maxVariablesBytes) throw new VariablesTooLarge(bytes, this.host.maxVariablesBytes);
    if (target !== undefined) Object.assign(target, values);
  }

  private finish(status: InstanceStatus, error: string | null): void {
    if (this.status !== 'running') return;
    this.status = status;
    this.error = error;
    this.endedAt = this.host.now();
    if (error !== null) this.note({ elementId: this.instance.processKey, elementType: 'bpmn:Process', event: 'error', detail: error.slice(0, 1000) });
    const orders = this.orders();
    this.waiting.clear();
    this.abort.abort();
    void this.persist().then(async () => {
      for (const id of orders) await this.cancelOrder(id, `workflow ${status}`);
      this.host.ended(this);
    });
  }

  /** Writes the step once the engine has settled; resolves when written, or once a failed write is reported (the next step writes again). */
  private persist(): Promise<void> {
    return this.written().catch((err: unknown) => { this.host.problem(this, 'write step', err); });
  }

  /** As `persist`, but a failed write rejects: what a service task needs before it acts. */
  private written(): Promise<void> {
    const written = this.chain
      .then(() => new Promise<void>((resolve) => { setImmediate(resolve); }))
      .then(() => this.write());
    this.chain = written.catch(() => undefined);
    return written;
  }

  private async write(): Promise<void> {
    const history = this.pending;
    this.pending = [];
    if (history.length === 0 && this.stopping && this.status === 'running') return;
    const state = this.status === 'running' ? stateWithoutSource(await this.engine.getState()) : null;
    await this.host.store.step(this.id, {
      status: this.status, variables: this.variables(), waiting: [...this.waiting.values()].map((w) => w.step), state,
      updatedAt: this.host.now(), endedAt: this.endedAt, error: this.error,
    }, history, this.host.maxHistory);
  }
}

/** The engine's state without the definitions' XML, which is stored once per version and put back at recovery. */
function stateWithoutSource(state: { readonly definitions?: readonly object[] }): string {
  return JSON.stringify({ ...state, definitions: (state.definitions ?? []).map((d) => ({ ...d, source: undefined })) });
}

/** The recovered state with the version's serialized definition (`serializedSource`) back in each definition. */
function stateWithSource(state: string, source: string): object {
  const parsed = JSON.parse(state) as { definitions?: Record<string, unknown>[] };
  for (const d of parsed.definitions ?? []) d.source = source;
  return parsed;
}

/**
 * The engine's serialized form of a definition's XML, what its state carries as `source` and
 * what recovery needs back: made once per version by the runtime, not stored per instance.
 */
export async function serializedSource(xml: string): Promise<string> {
  const engine = new Engine({ source: xml, moddleOptions: { gh: gridheadModdle } });
  await engine.getDefinitions();
  const state = await engine.getState() as { definitions?: { source?: unknown }[] };
  const source = state.definitions?.[0]?.source;
  if (typeof source !== 'string') throw new Error('the engine gave no serialized definition');
  return source;
}

/**
 * How a serialized definition becomes element behaviours again: bpmn-elements' types, as
 * bpmn-engine resolves them (its data-object extension aside, which no supported element uses).
 */
const TYPES = TypeResolver({ ...Elements });

/**
 * The end of the `gh:due` duration starting at `start`, ms: a literal ISO 8601 duration or a
 * `${variable}` holding one; null when the value is not a duration (the deploy check refuses a
 * bad literal, so only a variable can bring one, and an order without a due time is still an order).
 */
function dueAfter(due: string, start: number, variables: Readonly<Record<string, unknown>>): number | null {
  const text = isExpression(due) ? actionParams(`due=${due}`, variables).due ?? '' : due;
  const duration = parseIsoDuration(text);
  return duration === undefined ? null : isoDurationEnd(duration, start);
}

function flatResult(result: WorkOrderResult | null): Record<string, unknown> {
  return result === null ? {} : { ...result };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
