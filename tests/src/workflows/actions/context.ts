/** What a service task gives its action, for the action tests: step `step` of instance i-1 of `process`. */
import { workflowActor, type ActionContext } from '../../../../src/workflows/model.js';

export interface StepOptions {
  readonly stepKey?: string;
  readonly processKey?: string;
  readonly signal?: AbortSignal;
}

export function stepContext(params: Readonly<Record<string, string>>, o: StepOptions = {}): ActionContext {
  const processKey = o.processKey ?? 'suspected-theft';
  return {
    instanceId: 'i-1', processKey, elementId: 'step', stepKey: o.stepKey ?? 'i-1:step-1', actor: workflowActor(processKey, 'i-1'),
    variables: {}, params, signal: o.signal ?? new AbortController().signal,
  };
}
