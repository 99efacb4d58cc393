/** Timer helpers shared by the protocol layer and the station (src may import downward). */

export type Timer = ReturnType<typeof setTimeout>;

/** The timer functions a wait runs on; injected where tests drive time by hand. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

/** The process timers. Looks the globals up on every call, so fake timers installed later still apply. */
export const globalTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => {
    clearTimeout(timer);
  },
};

/** Resolves true after `ms`, or false as soon as `signal` aborts (a retry loop's wait). */
export function sleep(ms: number, signal: AbortSignal, timers: Timers = globalTimers): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      timers.clearTimeout(timer);
      resolve(false);
    };
    const timer = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
