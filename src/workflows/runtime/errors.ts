/** The workflow runtime's refusals, each with a stable code and the API status it answers. */
import { DomainError } from '../../domain/errors.js';

/** No deployed definition has this key (or this version). */
export class UnknownProcess extends DomainError {
  readonly code = 'WORKFLOW_UNKNOWN_PROCESS';
  readonly status = 404;
  constructor(readonly processKey: string, readonly version?: number) {
    super(`no process ${JSON.stringify(processKey)}${version === undefined ? '' : ` version ${version}`} is deployed`);
  }
}

export class UnknownInstance extends DomainError {
  readonly code = 'WORKFLOW_UNKNOWN_INSTANCE';
  readonly status = 404;
  constructor(readonly instanceId: string) {
    super(`no workflow instance ${JSON.stringify(instanceId)}`);
  }
}

/** `workflows.maxRunning` instances are running already. */
export class RunningLimitReached extends DomainError {
  readonly code = 'WORKFLOW_RUNNING_LIMIT';
  readonly status = 429;
  constructor(readonly limit: number) {
    super(`${limit} workflow instances are running, the most workflows.maxRunning allows: wait for some to end or cancel some`);
  }
}

/** The variables, as JSON, are larger than `workflows.maxVariablesBytes`. */
export class VariablesTooLarge extends DomainError {
  readonly code = 'WORKFLOW_VARIABLES_TOO_LARGE';
  readonly status = 400;
  constructor(readonly bytes: number, readonly limit: number) {
    super(`the process variables take ${bytes} bytes as JSON, more than workflows.maxVariablesBytes (${limit})`);
  }
}

/** The instance has ended (completed, failed, cancelled), or is not held by this node's runtime. */
export class InstanceNotRunning extends DomainError {
  readonly code = 'WORKFLOW_NOT_RUNNING';
  readonly status = 409;
  constructor(readonly instanceId: string, readonly why: string) {
    super(`workflow instance ${instanceId} ${why}`);
  }
}

/** A service task names an action the station does not have (the deploy check refuses such definitions; this catches one deployed before the action was removed). */
export class UnknownAction extends DomainError {
  readonly code = 'WORKFLOW_UNKNOWN_ACTION';
  readonly status = 400;
  constructor(readonly elementId: string, readonly action: string | undefined) {
    super(`service task ${elementId} names ${action === undefined ? 'no action' : `the unknown action ${JSON.stringify(action)}`}`);
  }
}
