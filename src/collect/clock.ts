/**
 * Time and cancellation for the collector. Every wait goes through an injected `Clock`, so
 * tests drive schedules, timeouts and backoffs in fake time; cancellation is plain
 * AbortSignals linked by hand (not `AbortSignal.any`) so that a per-request signal never
 * stays attached to a long-lived parent after the request ends.
 */

import { globalTimers, type Timer, type Timers } from '../../protocols/timers.js';

export type { Timer };

export interface Clock extends Timers {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The process clock. Looks the globals up on every call, so fake timers installed later still apply. */
export const systemClock: Clock = { now: () => Date.now(), ...globalTimers };

/** A signal that aborts when any parent aborts or, with `timeout`, when the time is up. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the parents and cancels the timer; call it when the guarded work ends. */
  dispose(): void;
}

export interface LinkOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** The abort reason when the time is up. */
  readonly onTimeout: () => Error;
}

export function linkSignals(parents: readonly (AbortSignal | undefined)[], timeout?: LinkOptions): LinkedSignal {
  const controller = new AbortController();
  const attached: AbortSignal[] = [];
  let timer: Timer | undefined;
  const dispose = (): void => {
    for (const p of attached) childrenOf.get(p)?.delete(onParentAbort);
    attached.length = 0;
    if (timer !== undefined && timeout !== undefined) timeout.clock.clearTimeout(timer);
    timer = undefined;
  };
  function onParentAbort(reason: unknown): void {
    controller.abort(reason);
    dispose();
  }
  for (const p of parents) {
    if (p === undefined) continue;
    if (p.aborted) {
      controller.abort(p.reason);
      dispose();
      return { signal: controller.signal, dispose };
    }
    attachChild(p, onParentAbort);
    attached.push(p);
  }
  if (timeout !== undefined) {
    timer = timeout.clock.setTimeout(() => {
      timer = undefined;
      controller.abort(timeout.onTimeout());
      dispose();
    }, timeout.timeoutMs);
  }
  return { signal: controller.signal, dispose };
}

/**
 * The children linked to each parent, behind one abort listener per parent. A parent such
 * as the scheduler's run signal has a child per request in flight (thousands on slow links),
 * and an EventTarget looks through all its listeners on every add and remove; a Set does not.
 */
const childrenOf = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

function attachChild(parent: AbortSignal, child: (reason: unknown) => void): void {
  let children = childrenOf.get(parent);
  if (children === undefined) {
    const set = new Set<(reason: unknown) => void>();
    children = set;
    childrenOf.set(parent, set);
    parent.addEventListener('abort', () => {
      childrenOf.delete(parent);
      for (const c of [...set]) c(parent.reason);
    }, { once: true });
  }
  children.add(child);
}

/**
 * Settles like `work`, or rejects with the signal's reason as soon as it aborts: an adapter
 * that ignores its signal cannot hold the collector. What `work` settles to later is not
 * lost: a late value goes to `onLate` (e.g. a session opened too late is closed there), a
 * late rejection is absorbed because the caller already has the abort reason.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      settled = true;
      reject(abortReason(signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) onLate?.(value);
        else resolve(value);
        settled = true;
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(toError(err));
        settled = true;
      },
    );
  });
}

export function abortReason(signal: AbortSignal): Error {
  return toError(signal.reason);
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
