/**
 * Assembles the workflow runtime and its triggers behind one function, as every module does:
 * the instances run on the leader's duty roster (recovered when this node becomes leader,
 * stopped when it steps down or shuts down), triggers attached only while they run.
 */
import { ROLES } from '../auth/roles.js';
import type { AuditLog } from '../control/audit.js';
import type { WorkflowsConfig } from '../config/workflows.js';
import { WORK_ORDER_TYPES, type WorkOrderType } from '../workOrders/types.js';
import { ACTION_NAMES, createActions, type ActionDeps } from './actions/index.js';
import type { FeeAccountPort } from './actions/fees.js';
import { checkCatalogueOf, createWorkflowDefinitions } from './definitions/index.js';
import type { DefinitionService } from './definitions/service.js';
import type { WorkflowDefinitionStore } from './definitions/store.js';
import { shippedDefinitions } from './shipped/index.js';
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
  /** The fee accounts, while fee control is on: a fee decision's process gets the account's meter. */
  readonly feeAccounts?: Pick<FeeAccountPort, 'get'> | undefined;
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
  const { feeAccounts } = a;
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
    ...(feeAccounts === undefined ? {} : { feeAccountMeters: async (id: string) => (await feeAccounts.get(id)).account.meterIds }),
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

/** What the modeler is offered and the deploy check accepts: the station's actions, roles and work order types. */
export interface WorkflowCatalogueLists {
  readonly actions: () => { name: string; description: string; params: { name: string; required: boolean; description: string }[] }[];
  readonly roles: () => string[];
  readonly workOrderTypes: () => { type: string; fields: (Omit<WorkOrderType['fields'][number], 'choices'> & { choices?: string[] })[] }[];
}

export interface StationWorkflowsAssembly extends Omit<WorkflowsAssembly, 'definitions' | 'actions' | 'store'> {
  readonly stores: { readonly definitions: WorkflowDefinitionStore; readonly instances: WorkflowInstanceStore };
  readonly audit: AuditLog;
  /** The services the actions act through (src/workflows/actions): the same ones the API uses. */
  readonly services: ActionDeps;
}

export interface StationWorkflows extends Workflows {
  readonly definitions: DefinitionService;
  readonly catalogue: WorkflowCatalogueLists;
}

/**
 * The station's workflows: the definitions (the shipped processes deployed first, a version a
 * person deployed since left as it is), the actions over the station's services, and the
 * runtime on the leader's duties. Undefined while `workflows.enabled` is off.
 */
export async function createStationWorkflows(a: StationWorkflowsAssembly): Promise<StationWorkflows | undefined> {
  const actions = createActions(a.services);
  const catalogue: WorkflowCatalogueLists = {
    actions: () => [...actions.values()].map(({ name, description, params }) => ({ name, description, params: params.map((p) => ({ ...p })) })),
    roles: () => [...ROLES],
    workOrderTypes: () => WORK_ORDER_TYPES.map((t) => ({
      type: t.type, fields: t.fields.map(({ choices, ...f }) => ({ ...f, ...(choices === undefined ? {} : { choices: [...choices] }) })),
    })),
  };
  // The check knows every action by name, the fee ones included while fee control is off: a
  // process drawn for them deploys, and fails at the step (UnknownAction) if fees stay off.
  const checkCatalogue = checkCatalogueOf(ACTION_NAMES.map((name) => ({ name })), ROLES, WORK_ORDER_TYPES);
  const definitions = createWorkflowDefinitions({ ...a, store: a.stores.definitions, catalogue: () => checkCatalogue });
  if (definitions === undefined) return undefined;
  await definitions.deployShipped(shippedDefinitions().map((d) => ({ name: `${d.key}.bpmn`, xml: d.xml })));
  const workflows = createWorkflows({ ...a, store: a.stores.instances, definitions, actions, feeAccounts: a.services.fees?.accounts });
  return { ...workflows, definitions, catalogue };
}
