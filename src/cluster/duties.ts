/**
 * A duty roster: its parts (src/observe/duties.ts) run while the roster's leadership is held
 * and not otherwise. The node has two (src/cluster/index.ts): the active-only parts, which
 * follow the leader lease in `active-standby` and always run in `sharded`, and the leader's
 * singleton duties, which follow it in both. In `single` mode both always run. Following, the
 * parts start on `gained` and stop on `lost`, so a standby keeps its API, stores and registry
 * warm and polls, subscribes and ticks nothing.
 *
 * Transitions run one at a time, in order: a lease lost while the parts are still starting
 * stops them as soon as the start is done, and a lease gained again meanwhile starts them
 * afresh. At a takeover, a part whose start fails is logged and the others go on: one
 * broken receiver must not keep the rest of the station from taking over. At the station's
 * own start the failure stops the start instead (a port in use, say), as it would on one
 * node. A stop that fails is logged and the others still stop; so does one that has not ended
 * within `stopTimeoutMs` (`cluster.dutyStopTimeoutMs`): it goes on in the background, the
 * roster does not wait for it, because a step-down that never ends keeps the node from ever
 * standing by or taking over again, which is worse than a part left finishing on its own.
 */
import { withDeadline } from '../../protocols/mqtt/disconnect.js';
import type { Closers } from '../observe/closers.js';
import type { Duties, Duty } from '../observe/duties.js';
import type { Logger } from '../observe/logger.js';

export type DutyState = 'active' | 'standby';

/** What the roster follows: the leader lease (lease.ts), or nothing in `single` mode. */
export interface Leadership {
  isHolder(): boolean;
  on(event: 'gained' | 'lost', listener: () => void): () => void;
}

export interface DutyRosterOptions {
  /** What the log lines and the shutdown order call the roster ("duties", "leader duties"). */
  readonly name: string;
  /** How long one part's stop is awaited before the roster goes on without it. */
  readonly stopTimeoutMs: number;
}

export class DutyRoster implements Duties {
  readonly #parts: { readonly name: string; readonly duty: Duty }[] = [];
  readonly #log: Logger;
  readonly #leadership: Leadership | undefined;
  readonly #options: DutyRosterOptions;
  #begun = false;
  #closed = false;
  /** Whether the parts are running (started, or starting). */
  #running = false;
  #turn: Promise<void> = Promise.resolve();
  /** The parts' start failures of the current start. */
  #failures: unknown[] = [];

  /** `leadership` undefined: always active once begun. */
  constructor(logger: Logger, leadership: Leadership | undefined, options: DutyRosterOptions) {
    this.#log = logger;
    this.#leadership = leadership;
    this.#options = options;
    leadership?.on('gained', () => { void this.#follow(); });
    leadership?.on('lost', () => { void this.#follow(); });
  }

  add(name: string, duty: Duty): void {
    if (this.#begun) throw new DutyRegistrationError(name);
    this.#parts.push({ name, duty });
  }

  /**
   * Every part is registered: from now on the roster follows leadership, starting the parts
   * now if this node leads. Resolves once that first start is done; rejects with the first
   * part's failure if one failed to start. At shutdown the roster stops following first; each
   * part is stopped by its own closer, in its place in the shutdown order.
   */
  async begin(closers: Closers): Promise<void> {
    this.#begun = true;
    closers.add(this.#options.name, () => this.close());
    await this.#follow();
    const [failure] = this.#failures;
    if (this.#failures.length > 0) throw failure;
  }

  /** `active` while the parts run (or are starting), `standby` otherwise. */
  state(): DutyState {
    return this.#running ? 'active' : 'standby';
  }

  /** Stops following leadership (shutdown), once the transition under way is done; the parts' own closers stop them. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#turn;
  }

  #wanted(): boolean {
    return this.#begun && !this.#closed && (this.#leadership?.isHolder() ?? true);
  }

  #follow(): Promise<void> {
    this.#turn = this.#turn.then(async () => {
      if (this.#closed) return;
      const wanted = this.#wanted();
      if (wanted === this.#running) return;
      if (wanted) await this.#start();
      else await this.#stop();
    });
    return this.#turn;
  }

  async #start(): Promise<void> {
    this.#running = true;
    this.#failures = [];
    const startedAt = performance.now();
    for (const { name, duty } of this.#parts) {
      // Lost again while starting: stop what started rather than finish a start nobody wants.
      if (!this.#wanted()) break;
      try {
        await duty.start();
      } catch (err) {
        this.#failures.push(err);
        this.#log.error({ err, duty: name }, 'duty failed to start; the other duties go on');
      }
    }
    this.#log.info({ roster: this.#options.name, duties: this.#parts.map((p) => p.name), ms: Math.round(performance.now() - startedAt) }, `this node is active: ${this.#options.name} started`);
    // Lost during the start (not shut down, when the parts' closers stop them): stop again.
    if (!this.#closed && !this.#wanted()) await this.#stop();
  }

  async #stop(): Promise<void> {
    const startedAt = performance.now();
    for (const { name, duty } of [...this.#parts].reverse()) await this.#stopPart(name, duty);
    this.#running = false;
    this.#log.info({ roster: this.#options.name, ms: Math.round(performance.now() - startedAt) }, `this node is standby: ${this.#options.name} stopped`);
  }

  /** One part's stop, awaited `stopTimeoutMs` at most; a failure, now or after the limit, is logged. */
  async #stopPart(name: string, duty: Duty): Promise<void> {
    const { stopTimeoutMs } = this.#options;
    let late = false;
    const stopped = (async () => { await duty.stop(); })().catch((err: unknown) => {
      this.#log.error({ err, duty: name, late }, late ? 'duty failed to stop cleanly, after its stop time limit' : 'duty failed to stop cleanly');
    });
    if ((await withDeadline(stopped, stopTimeoutMs)) === 'late') {
      late = true;
      this.#log.error({ duty: name, roster: this.#options.name, stopTimeoutMs }, 'duty did not stop within cluster.dutyStopTimeoutMs; the roster goes on without it');
    }
  }
}

/** A part registered after the roster began: a bug in the assembly order, caught at start. */
export class DutyRegistrationError extends Error {
  readonly code = 'DUTY_AFTER_BEGIN';
  constructor(readonly duty: string) {
    super(`duty ${duty} added after the roster began: every active-only part registers while the station assembles`);
    this.name = 'DutyRegistrationError';
  }
}
