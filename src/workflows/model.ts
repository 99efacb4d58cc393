/**
 * Shared shapes of src/workflows: process definitions (versioned BPMN), instances and their
 * history, and the port between a service task and a station action.
 */

/** What started an instance: an alarm (ref = alarm id), a fee-control decision (ref = fee account id), the API or the dashboard (ref = actor). */
export type TriggerKind = 'alarm' | 'fee' | 'api' | 'dashboard';

export interface Trigger {
  readonly kind: TriggerKind;
  readonly ref: string | null;
}

/** One deployed version of a process. `key` is the BPMN process id; versions count 1, 2, … per key. */
export interface DefinitionSummary {
  readonly key: string;
  readonly version: number;
  readonly name: string;
  /** SHA-256 of the XML, hex: deploying the same XML again makes no new version. */
  readonly hash: string;
  readonly deployedAt: number;
  readonly deployedBy: string;
  /** Deployed by the station from src/workflows/shipped at start, not by a person. */
  readonly shipped: boolean;
}

export interface ProcessDefinition extends DefinitionSummary {
  readonly xml: string;
}

/** A finding of the deploy-time check: bpmnlint's rules and ours (known action, known role, supported element…). */
export interface DefinitionProblem {
  /** The BPMN element id, or null for the document as a whole (malformed XML). */
  readonly elementId: string | null;
  /** bpmnlint rule name, or ours: `gridhead/unknown-action`, `gridhead/unknown-role`, `gridhead/unsupported-element`, `xml`… */
  readonly rule: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

export type InstanceStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** Where a running instance is waiting now. */
export interface WaitingStep {
  readonly elementId: string;
  readonly elementType: string;
  readonly since: number;
  /** A timer's due time, the awaited message's name, or the work order's number. */
  readonly detail: string | null;
}

export interface WorkflowInstance {
  readonly id: string;
  readonly processKey: string;
  readonly version: number;
  readonly status: InstanceStatus;
  readonly trigger: Trigger;
  /** The meter, account or alarm the instance is about, for listing and correlation. */
  readonly businessKey: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly waiting: readonly WaitingStep[];
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly endedAt: number | null;
  readonly error: string | null;
}

export interface InstanceHistoryEntry {
  readonly seq: number;
  readonly at: number;
  readonly elementId: string;
  readonly elementType: string;
  readonly event: 'start' | 'end' | 'wait' | 'timer' | 'message' | 'discard' | 'error' | 'resume';
  readonly detail: string | null;
}

/**
 * What a service task gives its action. `stepKey` names this execution of this step uniquely
 * and stays the same when a restart or a failover runs the step again: every side effect is
 * made idempotent by it (a command's idempotency key, a work order's key, a ledger entry's key).
 */
export interface ActionContext {
  readonly instanceId: string;
  readonly processKey: string;
  readonly elementId: string;
  readonly stepKey: string;
  /** `workflow:<process>/<instance>`: the actor of the audit trail and the command log. */
  readonly actor: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** `gh:params` with `${variable}` replaced. */
  readonly params: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

/** A station action a service task may call. Its output is merged into the process variables. */
export interface WorkflowAction {
  readonly name: string;
  /** One line, English, shown in the modeler. */
  readonly description: string;
  readonly params: readonly { readonly name: string; readonly required: boolean; readonly description: string }[];
  run(context: ActionContext): Promise<Readonly<Record<string, unknown>>>;
}

export function workflowActor(processKey: string, instanceId: string): string {
  return `workflow:${processKey}/${instanceId}`;
}
