/**
 * Assembles the workflow runtime and its triggers behind one function, as every module does:
 * the instances run on the leader's duty roster (recovered when this node becomes leader,
 * stopped when it steps down or shuts down), triggers attached only while they run.
 */
import type { WorkflowsConfig } from '../config/workflows.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { WorkOrderPort } from '../workOrders/port.js';
import type { WorkflowAction } from './model.js';
import { WorkflowRuntime, type DefinitionSource } from './runtime/runtime.js';
import type { WorkflowInstanceStore } from './runtime/store.js';
import { WorkflowTriggers, type TriggerFeeds } from './runtime/triggers.js';

export { WorkflowRuntime, type DefinitionSource, type InstanceDetail } from './runtime/runtime.js';
export type { WorkflowInstanceStore } from './runtime/store.js';

export interface WorkflowsAssembly {
  readonly config: { readonly workflows: WorkflowsConfig };
  readonly store: WorkflowInstanceStore;
  /** The versioned definitions (the definition service). */
  readonly definitions: DefinitionSource;
  /** The station actions service tasks call, by name. */
  readonly actions: ReadonlyMap<string, WorkflowAction>;
  readonly workOrders: WorkOrderPort;
  /** Alarm raises start processes; clears wake the instances they started. */
  readonly alarms?: TriggerFeeds['alarms'];
  /** Fee control, while it is on: its decisions start processes, the payments it follows wake the instances of their account. */
  readonly feeControl?: { readonly runner: NonNullable<TriggerFeeds['fees']> } | undefined;
  readonly registry: { areaSubtree(id: string): ReadonlySet<string> };
  readonly duties: Duties;
  readonly closers: Closers;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly now?: () => number;
}

export interface Workflows {
  readonly runtime: WorkflowRuntime;
  readonly triggers: WorkflowTriggers;
}

export function createWorkflows(a: WorkflowsAssembly): Workflows {
  const config = a.config.workflows;
  const logger = a.logger.child({ component: 'workflows' });
  const runtime = new WorkflowRuntime({
    store: a.store, definitions: a.definitions, actions: a.actions, workOrders: a.workOrders, logger, throttle: a.throttle,
    config: {
      pollMs: config.pollMs, changesPerPoll: config.changesPerPoll, maxRunning: config.maxRunning,
      maxHistoryPerInstance: config.maxHistoryPerInstance, maxVariablesBytes: config.maxVariablesBytes, variables: config.variables,
    },
    ...(a.now === undefined ? {} : { now: a.now }),
  });
  const triggers = new WorkflowTriggers({
    runtime, triggers: config.triggers, logger, throttle: a.throttle,
    inArea: (areaId, root) => {
      try { return a.registry.areaSubtree(root).has(areaId); } catch { return false; }
    },
  });
  const feeds: TriggerFeeds = {
    ...(a.alarms === undefined ? {} : { alarms: a.alarms }),
    ...(a.feeControl === undefined ? {} : { fees: a.feeControl.runner }),
  };
  a.duties.add('workflows', {
    start: async () => { await runtime.begin(); await triggers.attach(feeds); },
    stop: async () => { triggers.close(); await runtime.end(); },
  });
  a.closers.add('workflows', async () => { triggers.close(); await runtime.end(); });
  return { runtime, triggers };
}
