/**
 * The embedded stores (SQLite, in the process) answer at once; the security ports are
 * asynchronous for the stores that answer over a network. A throw becomes a rejection, as a
 * network store reports it, so callers handle one failure path.
 */
export function answer<T>(f: () => T): Promise<T> {
  return new Promise((resolve) => { resolve(f()); });
}
