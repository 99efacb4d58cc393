/**
 * Reading a service task's `gh:params` (strings, `${variable}` already replaced) into typed
 * values, and the typed errors an action raises. A bad parameter is the process author's
 * mistake or a variable the process did not set: the error names the parameter, so the
 * instance's history says which one.
 */
import { DomainError } from '../../domain/errors.js';
import type { ActionContext } from '../model.js';

/** A parameter missing, empty or malformed; `param` is its name in `gh:params`. */
export class ActionParamError extends DomainError {
  readonly code = 'WORKFLOW_ACTION_PARAM';
  readonly status = 400;
  constructor(readonly action: string, readonly param: string, problem: string) {
    super(`${action}: parameter ${param} ${problem}`);
  }
}

/** The instance gave up on the step (cancelled, the node stepping down) before the action acted. */
export class ActionAbortedError extends DomainError {
  readonly code = 'WORKFLOW_ACTION_ABORTED';
  readonly status = 409;
  constructor(readonly action: string) {
    super(`${action}: aborted before it acted`);
  }
}

/** The longest text parameter (a message, a comment, a title) an action takes. */
export const MAX_TEXT_PARAM = 2_000;

/** Typed access to one action's parameters. */
export class Params {
  constructor(private readonly action: string, private readonly context: ActionContext) {}

  /** A non-empty string; absent, or empty after substitution (an unset variable), is an error. */
  text(name: string, max = MAX_TEXT_PARAM): string {
    const value = this.optionalText(name, max);
    if (value === undefined) throw new ActionParamError(this.action, name, 'is required');
    return value;
  }

  optionalText(name: string, max = MAX_TEXT_PARAM): string | undefined {
    const raw = this.context.params[name]?.trim();
    if (raw === undefined || raw === '') return undefined;
    if (raw.length > max) throw new ActionParamError(this.action, name, `is longer than ${max} characters`);
    return raw;
  }

  number(name: string, check: { readonly min?: number } = {}): number {
    const value = this.optionalNumber(name, check);
    if (value === undefined) throw new ActionParamError(this.action, name, 'is required');
    return value;
  }

  optionalNumber(name: string, { min }: { readonly min?: number } = {}): number | undefined {
    const raw = this.optionalText(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new ActionParamError(this.action, name, `must be a number, not ${JSON.stringify(raw)}`);
    if (min !== undefined && value < min) throw new ActionParamError(this.action, name, `must be at least ${min}, not ${value}`);
    return value;
  }

  /** `true` or `false` (any case); absent is `fallback`. */
  flag(name: string, fallback: boolean): boolean {
    const raw = this.optionalText(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new ActionParamError(this.action, name, `must be true or false, not ${JSON.stringify(raw)}`);
  }

  /** An ISO 8601 date-time with its offset, as ms since the epoch. */
  optionalTime(name: string): number | undefined {
    const raw = this.optionalText(name);
    if (raw === undefined) return undefined;
    const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (!Number.isFinite(at)) throw new ActionParamError(this.action, name, `must be an ISO 8601 date-time with an offset, not ${JSON.stringify(raw)}`);
    return at;
  }

  /** One of `choices`; absent is `fallback`. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.optionalText(name);
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw)) throw new ActionParamError(this.action, name, `must be one of ${choices.join(', ')}, not ${JSON.stringify(raw)}`);
    return raw as T;
  }
}

/** Throws when the step was given up before the action acted. */
export function checkNotAborted(action: string, signal: AbortSignal): void {
  if (signal.aborted) throw new ActionAbortedError(action);
}
