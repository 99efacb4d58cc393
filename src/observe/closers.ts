/**
 * What the head-end started, in the order it started, closed in reverse: at shutdown, or
 * as soon as a later step of the start fails. Each assembly function registers every part
 * the moment it runs, so a start that fails half-way closes exactly what was running.
 */
import type { Logger } from './logger.js';

export interface Closers {
  /** Registers a running part; `close` is awaited in reverse order of registration. */
  add(name: string, close: () => Promise<void> | void): void;
}

/** A part still closing after this long is named in the log, again each time this much more has passed. */
export const SLOW_CLOSE_MS = 3_000;

export class ShutdownOrder implements Closers {
  readonly #parts: { readonly name: string; readonly close: () => Promise<void> | void }[] = [];

  constructor(private readonly logger: Logger, private readonly slowCloseMs = SLOW_CLOSE_MS) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.#parts.push({ name, close });
  }

  /**
   * Closes every registered part, last first; a part that fails to close is logged and the
   * rest still close. A part that takes long is named while it is still closing, so a
   * shutdown that hangs says where.
   */
  async closeAll(): Promise<void> {
    for (const part of this.#parts.reverse().splice(0)) {
      const started = Date.now();
      const slow = setInterval(() => {
        this.logger.warn({ component: part.name, waitedMs: Date.now() - started }, 'still closing');
      }, this.slowCloseMs);
      try {
        await part.close();
      } catch (err) {
        this.logger.error({ err, component: part.name }, 'error while shutting down');
      } finally {
        clearInterval(slow);
      }
      this.logger.debug({ component: part.name, ms: Date.now() - started }, 'closed');
    }
  }
}
