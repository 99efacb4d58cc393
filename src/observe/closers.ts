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

export class ShutdownOrder implements Closers {
  readonly #parts: { readonly name: string; readonly close: () => Promise<void> | void }[] = [];

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.#parts.push({ name, close });
  }

  /** Closes every registered part, last first; a part that fails to close is logged and the rest still close. */
  async closeAll(): Promise<void> {
    for (const part of this.#parts.reverse().splice(0)) {
      try {
        await part.close();
      } catch (err) {
        this.logger.error({ err, component: part.name }, 'error while shutting down');
      }
    }
  }
}
