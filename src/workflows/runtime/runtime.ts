/**
 * The workflow runtime: starts instances on the latest version of their process, runs each
 * in its own bpmn-engine on the leader (a duty, so with several nodes one node runs them and
 * a failover resumes them from their last written step), follows the work orders its user
 * tasks wait on, and delivers messages. An instance that fails is written failed with its
 * error and logged once (throttled); it never stops the others.
 */
import { randomUUID } from 'node:crypto';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { WorkOrder } from '../../workOrders/model.js';
import type { WorkOrderPort } from '../../workOrders/port.js';
import type { InstanceHistoryEntry, ProcessDefinition, Trigger, WorkflowAction, WorkflowInstance } from '../model.js';
import { InstanceNotRunning, RunningLimitReached, UnknownInstance, UnknownProcess, VariablesTooLarge } from './errors.js';
import { InstanceRun, serializedSource, type InstanceHost } from './instanceRun.js';
import type { InstancePage, InstanceQuery, WorkflowInstanceStore } from './store.js';

/** Where the runtime finds process definitions (the definition service satisfies it). */
export interface DefinitionSource {
  latest(key: string): Promise<ProcessDefinition | undefined>;
  get(key: string, version: number): Promise<ProcessDefinition | undefined>;
}

export interface WorkflowRuntimeLimits {
  readonly pollMs: number;
  readonly changesPerPoll: number;
  readonly maxRunning: number;
  readonly maxHistoryPerInstance: number;
  readonly maxVariablesBytes: number;
  /** Variables every instance starts with; the caller's win. */
  readonly variables: Readonly<Record<string, unknown>>;
}

export interface WorkflowRuntimeOptions {
  readonly store: WorkflowInstanceStore;
  readonly definitions: DefinitionSource;
  readonly actions: ReadonlyMap<string, WorkflowAction>;
  readonly workOrders: WorkOrderPort;
  readonly config: WorkflowRuntimeLimits;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly now?: () => number;
}

export interface InstanceDetail extends WorkflowInstance {
  readonly history: readonly InstanceHistoryEntry[];
  /** The XML of the instance's version, for the instance view. */
  readonly xml: string;
}

/** Versions whose serialized definition is kept for recovery. */
const SOURCES_CACHED = 256;

export class WorkflowRuntime {
  private readonly runs = new Map<string, InstanceRun>();
  /** Instances whose launch waits for their version's serialized definition. */
  private readonly launching = new Set<string>();
  /** Instances `start` has written and not launched yet: `adopt` must not take them up as another node's. */
  private readonly starting = new Set<string>();
  /** `key@version` → the engine's serialized definition, for recovery; at most SOURCES_CACHED versions. */
  private readonly sources = new Map<string, Promise<string>>();
  /** Work order id → the instance whose user task waits on it. */
  private readonly orders = new Map<string, InstanceRun>();
  /** The last work-order change read; undefined while no order is followed. */
  private orderCursor: number | undefined;
  private active = false;
  private poll: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly host: InstanceHost;
  private readonly log: Logger;

  constructor(private readonly o: WorkflowRuntimeOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'workflows' });
    this.host = {
      store: o.store, actions: o.actions, workOrders: o.workOrders, now: this.now,
      maxHistory: o.config.maxHistoryPerInstance, maxVariablesBytes: o.config.maxVariablesBytes,
      orderOpened: (run, order) => { this.follow(run, order); },
      ended: (run) => { this.forget(run); },
      problem: (run, what, err) => { this.problem(`${what}:${run.instance.processKey}`, { instanceId: run.id, err }, `workflow ${what} failed`); },
    };
  }

  /**
   * Starts an instance of the process's latest version. Answers undefined when the alarm
   * already started one of this process, or the fee account has one of it running.
   * On a node that does not run instances the row is written and the leader takes it up at its next poll.
   */
  async start(processKey: string, variables: Readonly<Record<string, unknown>>, trigger: Trigger, businessKey: string | null): Promise<WorkflowInstance | undefined> {
    const definition = await this.o.definitions.latest(processKey);
    if (definition === undefined) throw new UnknownProcess(processKey);
    const all = { ...this.o.config.variables, ...variables };
    const bytes = Buffer.byteLength(JSON.stringify(all));
    if (bytes > this.o.config.maxVariablesBytes) throw new VariablesTooLarge(bytes, this.o.config.maxVariablesBytes);
    if (await this.o.store.countRunning() >= this.o.config.maxRunning) throw new RunningLimitReached(this.o.config.maxRunning);
    const id = randomUUID();
    const at = this.now();
    this.starting.add(id);
    try {
      const created = await this.o.store.create({ id, processKey, version: definition.version, trigger, businessKey, variables: all, startedAt: at });
      if (!created) return undefined;
      const instance = await this.o.store.get(id);
      if (instance === undefined) throw new UnknownInstance(id);
      if (this.active) await this.launch(instance, definition.xml, null);
      return instance;
    } finally {
      this.starting.delete(id);
    }
  }

  async get(id: string): Promise<InstanceDetail> {
    const instance = await this.o.store.get(id);
    if (instance === undefined) throw new UnknownInstance(id);
    const [history, definition] = await Promise.all([this.o.store.history(id), this.o.definitions.get(instance.processKey, instance.version)]);
    return { ...instance, history, xml: definition?.xml ?? '' };
  }

  list(query: InstanceQuery): Promise<InstancePage> {
    return this.o.store.list(query);
  }

  /** Stops the instance for good, cancelling the work orders it waits on. */
  async cancel(id: string, reason: string, actor: string): Promise<WorkflowInstance> {
    const run = this.held(id);
    await run.cancel(reason, actor);
    return this.stored(id);
  }

  /** Delivers a message (by the BPMN message's name or id) to the instance, its variables merged first; false when nothing waits for it. */
  message(id: string, name: string, variables: Readonly<Record<string, unknown>> = {}): boolean {
    return this.held(id).message(name, variables);
  }

  /** Delivers a message to every running instance the predicate picks (correlation); answers how many took it. */
  correlate(pick: (instance: WorkflowInstance, variables: Readonly<Record<string, unknown>>) => boolean, name: string, variables: Readonly<Record<string, unknown>> = {}): number {
    let n = 0;
    for (const run of this.runs.values()) {
      if (run.running && pick(run.instance, run.variables()) && run.message(name, variables)) n += 1;
    }
    return n;
  }

  /** Duty start: resumes every running instance from its last written step and follows work orders. */
  async begin(): Promise<void> {
    if (this.active) return;
    this.active = true;
    for (const r of await this.o.store.running()) {
      if (this.runs.has(r.instance.id)) continue;
      await this.resume(r.instance, r.state);
    }
    this.poll = setInterval(() => { this.polling = this.polling.then(() => this.tick()); }, this.o.config.pollMs);
  }

  /** Duty stop (or shutdown): every engine stopped, each instance left at its last written step. */
  async end(): Promise<void> {
    this.active = false;
    clearInterval(this.poll);
    this.poll = undefined;
    await this.polling;
    const runs = [...this.runs.values()];
    this.runs.clear();
    this.orders.clear();
    this.orderCursor = undefined;
    await Promise.all(runs.map((r) => r.stop()));
  }

  /** Instances this node runs now. */
  held(id: string): InstanceRun {
    const run = this.runs.get(id);
    if (!run?.running) throw new InstanceNotRunning(id, this.active ? 'is not running' : 'is not run by this node (the leader runs workflows)');
    return run;
  }

  /** One poll: instances started on other nodes taken up, then work-order changes followed. */
  async tick(): Promise<void> {
    await this.adopt();
    await this.followOrders();
  }

  /**
   * Runs the instances other nodes' APIs started (written running, never run); at most `changesPerPoll` per poll.
   * The list is read once and taken up one by one: an instance this node started meanwhile, or
   * started and already ended, is read again and left alone, so no step runs twice.
   */
  async adopt(): Promise<void> {
    if (!this.active) return;
    try {
      for (const listed of await this.o.store.unstarted(this.o.config.changesPerPoll)) {
        if (this.taken(listed.id)) continue;
        const instance = await this.o.store.get(listed.id);
        if (instance?.status !== 'running' || this.taken(listed.id)) continue;
        await this.resume(instance, null);
      }
    } catch (err) {
      this.problem('adopt', { err }, 'taking up instances started on other nodes failed; tried again at the next poll');
    }
  }

  /** Reads the work-order changes since the last poll and hands done and cancelled ones to their instances. */
  async followOrders(): Promise<void> {
    if (this.orderCursor === undefined) return;
    try {
      for (;;) {
        const changes = await this.o.workOrders.changesSince(this.orderCursor, this.o.config.changesPerPoll);
        for (const order of changes) {
          this.orderCursor = Math.max(this.orderCursor, order.changeSeq);
          this.orders.get(order.id)?.orderChanged(order);
        }
        if (changes.length < this.o.config.changesPerPoll) return;
      }
    } catch (err) {
      this.problem('work-orders', { err }, 'following work orders failed; tried again at the next poll');
    }
  }

  /** Run by this node, or being started by it. */
  private taken(id: string): boolean {
    return this.runs.has(id) || this.starting.has(id) || this.launching.has(id);
  }

  private async resume(instance: WorkflowInstance, state: string | null): Promise<void> {
    const definition = await this.o.definitions.get(instance.processKey, instance.version);
    if (definition === undefined) {
      await this.o.store.step(instance.id, {
        status: 'failed', variables: instance.variables, waiting: [], state: null, updatedAt: this.now(), endedAt: this.now(),
        error: `version ${instance.version} of ${instance.processKey} is not deployed`,
      }, [], this.o.config.maxHistoryPerInstance);
      this.problem(`definition:${instance.processKey}`, { instanceId: instance.id }, 'a running workflow instance lost its definition: failed');
      return;
    }
    await this.launch(instance, definition.xml, state);
  }

  private async launch(instance: WorkflowInstance, xml: string, state: string | null): Promise<void> {
    if (this.runs.has(instance.id) || this.launching.has(instance.id)) return;
    // Taken before the first await: a second launch of the same instance meanwhile (a poll) stops above.
    this.launching.add(instance.id);
    let run: InstanceRun | undefined;
    try {
      const source = await this.sourceOf(instance, xml);
      this.launching.delete(instance.id);
      // The duty ended meanwhile: the instance stays at its last written step for the next leader.
      if (!this.active) return;
      run = new InstanceRun(instance, source, this.host);
      this.runs.set(instance.id, run);
      await run.run(state);
    } catch (err) {
      this.launching.delete(instance.id);
      this.problem(`run:${instance.processKey}`, { instanceId: instance.id, err }, 'a workflow instance could not run');
      await this.o.store.step(instance.id, {
        status: 'failed', variables: instance.variables, waiting: [], state: null, updatedAt: this.now(), endedAt: this.now(),
        error: err instanceof Error ? err.message : String(err),
      }, [], this.o.config.maxHistoryPerInstance);
      if (run !== undefined) this.forget(run);
    }
  }

  private sourceOf(instance: WorkflowInstance, xml: string): Promise<string> {
    const key = `${instance.processKey}@${instance.version}`;
    let source = this.sources.get(key);
    if (source === undefined) {
      source = serializedSource(xml);
      this.sources.set(key, source);
      source.catch(() => { this.sources.delete(key); });
      if (this.sources.size > SOURCES_CACHED) this.sources.delete(this.sources.keys().next().value ?? key);
    }
    return source;
  }

  private follow(run: InstanceRun, order: WorkOrder): void {
    this.orders.set(order.id, run);
    // Anything this order does after now has a higher changeSeq: reading from just before it misses nothing.
    const from = order.changeSeq - 1;
    this.orderCursor = this.orderCursor === undefined ? from : Math.min(this.orderCursor, from);
  }

  private forget(run: InstanceRun): void {
    if (this.runs.get(run.id) === run) this.runs.delete(run.id);
    for (const [orderId, r] of this.orders) if (r === run) this.orders.delete(orderId);
    if (this.orders.size === 0) this.orderCursor = undefined;
  }

  private async stored(id: string): Promise<WorkflowInstance> {
    const instance = await this.o.store.get(id);
    if (instance === undefined) throw new UnknownInstance(id);
    return instance;
  }

  private problem(key: string, detail: Record<string, unknown>, message: string): void {
    const suppressed = this.o.throttle.pass(`workflows:${key}`);
    if (suppressed >= 0) this.log.warn({ ...detail, suppressed }, message);
  }
}
