/**
 * The executor's side of a command accepted on any node: this node sends the targets whose
 * terminals are placed on it (src/cluster/placement.ts), wherever they were accepted, and
 * takes up what a previous executor of those terminals left open.
 *
 * It looks at the store
 * - when it starts executing (the station's start, a takeover of leadership),
 * - when placement changes (areas taken, leadership gained: again and again in one process),
 * - when a node notifies that it stored a command (the store's `listen`, PostgreSQL
 *   LISTEN/NOTIFY), for that command only,
 * - every `backstopPollMs`, and when the notifications were lost for a while: a lost
 *   notification delays a command by one poll at most, never loses it.
 *
 * What it finds for a terminal placed here and not queued or in flight here already:
 * - `pending`: queued for sending (the send's claim makes sure one node sends it);
 * - `sent` or `acknowledged`: a send whose executor is gone or was replaced. It is never sent
 *   again: marked failed (INTERRUPTED) under this node's token, then re-verified by a read of
 *   the relay or limit. After a takeover (a fenced placement) the read waits until the old
 *   send's own timeout has passed, so it does not read a state the old send is still changing.
 */
import type { Command, CommandTarget } from './commandModel.js';
import { readBackOf } from './commandModel.js';
import { StaleFencingToken } from '../cluster/fencing.js';
import { TargetMoved, type CommandStore, type OpenTarget } from './commandStore.js';
import type { CommandDispatcher, CommandPlacement, QueuedTarget } from './dispatcher.js';

export interface CommandPickupOptions {
  readonly store: CommandStore;
  readonly dispatcher: Pick<CommandDispatcher, 'enqueue' | 'knows' | 'dropUnplaced' | 'pump' | 'queued'>;
  readonly placement: CommandPlacement;
  /** Targets queued here, at most; a look at the store leaves the rest pending for the next one. */
  readonly maxQueuedTargets: number;
  readonly commandTimeoutMs: number;
  /** The backstop: the store is looked at this often even when no notification came. */
  readonly backstopPollMs: number;
  readonly now: () => number;
  /** A target a previous executor left in flight was marked failed (INTERRUPTED); audit it. */
  readonly onInterrupted: (command: Command, target: CommandTarget) => Promise<void>;
  /** Queued targets taken out because their terminal is no longer placed here. */
  readonly onDropped: (targets: readonly QueuedTarget[]) => void;
  /** A look at the store failed; it is tried again at the next poll. Log it throttled. */
  readonly onError: (err: unknown) => void;
}

/** What one look at the store found. */
export interface PickupFound {
  readonly resumed: number;
  readonly interrupted: number;
}

export class CommandPickup {
  #running = false;
  #poll: NodeJS.Timeout | undefined;
  #sweep: Promise<PickupFound> | undefined;
  #again = false;

  constructor(private readonly o: CommandPickupOptions) {}

  get running(): boolean {
    return this.#running;
  }

  /** Starts executing: looks at the store now and every `backstopPollMs`. Resolves with what the first look found. */
  async start(): Promise<PickupFound> {
    this.#running = true;
    if (this.#poll === undefined) {
      this.#poll = setInterval(() => { this.request(); }, this.o.backstopPollMs);
      this.#poll.unref();
    }
    return this.#look();
  }

  /** Stops executing (this node is no longer active): queued targets stay in the store for the node that is. */
  stop(): void {
    this.close();
    this.#dropUnplaced();
  }

  /** Placement changed: drops what is no longer placed here, and looks for what now is. */
  placementChanged(): void {
    this.#dropUnplaced();
    this.request();
  }

  /** Looks at the whole store soon (coalesced with a look under way). */
  request(): void {
    if (!this.#running) return;
    this.#look().catch(this.o.onError);
  }

  /** A node stored command `commandId`: queues its pending targets placed here. */
  async queued(commandId: string): Promise<void> {
    if (!this.#running) return;
    const command = await this.o.store.get(commandId);
    if (command === undefined) return;
    for (const t of command.targets) {
      if (t.status !== 'pending' || this.o.dispatcher.queued >= this.o.maxQueuedTargets) continue;
      if (this.o.placement.fenceFor(t.terminalId) === undefined) continue;
      this.o.dispatcher.enqueue(queuedOf(command, t, 'send'));
    }
    this.o.dispatcher.pump();
  }

  close(): void {
    this.#running = false;
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #dropUnplaced(): void {
    const dropped = this.o.dispatcher.dropUnplaced();
    if (dropped.length > 0) this.o.onDropped(dropped);
  }

  #look(): Promise<PickupFound> {
    if (this.#sweep !== undefined) {
      this.#again = true;
      return this.#sweep;
    }
    const run = async (): Promise<PickupFound> => {
      try {
        let found = await this.#lookOnce();
        while (this.#again && this.#running) {
          this.#again = false;
          const more = await this.#lookOnce();
          found = { resumed: found.resumed + more.resumed, interrupted: found.interrupted + more.interrupted };
        }
        return found;
      } finally {
        this.#sweep = undefined;
        this.#again = false;
      }
    };
    this.#sweep = run();
    return this.#sweep;
  }

  async #lookOnce(): Promise<PickupFound> {
    const { store, dispatcher, placement } = this.o;
    let resumed = 0;
    let interrupted = 0;
    const commands = new Map<string, Command | undefined>();
    for (const t of await store.openTargets()) {
      if (!this.#running || dispatcher.queued >= this.o.maxQueuedTargets) break;
      const fence = placement.fenceFor(t.terminalId);
      if (fence === undefined || dispatcher.knows(t.commandId, t.meterId)) continue;
      if (!commands.has(t.commandId)) commands.set(t.commandId, await store.get(t.commandId));
      const c = commands.get(t.commandId);
      if (c === undefined) continue;
      if (t.status === 'pending') {
        if (dispatcher.enqueue(queuedOf(c, t, 'send'))) resumed++;
        continue;
      }
      const failed = await this.#interrupt(c, t, fence);
      if (failed === undefined) continue;
      interrupted++;
      await this.o.onInterrupted(c, failed);
      if (readBackOf(c.type) === undefined) continue;
      // Unfenced (one node), the old send is this process's own before a restart: nothing still runs it.
      const notBefore = fence === null || t.status !== 'sent' ? undefined : this.#oldSendTimeout(t);
      dispatcher.enqueue({ ...queuedOf(c, t, 'reverify'), ...(notBefore === undefined ? {} : { notBefore }) });
    }
    // Marked by an executor that gave the terminal up before its read-back: read back here, still never resent.
    for (const t of await store.unreadInterruptions?.() ?? []) {
      if (!this.#running || dispatcher.queued >= this.o.maxQueuedTargets) break;
      const fence = placement.fenceFor(t.terminalId);
      if (fence === undefined || dispatcher.knows(t.commandId, t.meterId)) continue;
      if (!commands.has(t.commandId)) commands.set(t.commandId, await store.get(t.commandId));
      const c = commands.get(t.commandId);
      if (c === undefined || readBackOf(c.type) === undefined) continue;
      dispatcher.enqueue({ ...queuedOf(c, t, 'reverify'), ...(fence === null ? {} : { notBefore: this.#oldSendTimeout(t) }) });
    }
    dispatcher.pump();
    return { resumed, interrupted };
  }

  /** Marks an orphaned send failed (INTERRUPTED), from the status it was found in and under this node's token; undefined when someone moved it first. */
  async #interrupt(c: Command, t: OpenTarget, fence: ReturnType<CommandPlacement['fenceFor']>): Promise<CommandTarget | undefined> {
    try {
      return await this.o.store.transition(c.id, t.meterId, 'failed', this.o.now(), {
        error: { code: 'INTERRUPTED', message: 'its executor stopped or was replaced after sending and before the result was known; not resent' },
        onlyFrom: [t.status],
        ...(fence === null || fence === undefined ? {} : { fence }),
      });
    } catch (err) {
      if (err instanceof TargetMoved || err instanceof StaleFencingToken) return undefined;
      throw err;
    }
  }

  /** When the old executor's send gives up at the latest; bounded by one timeout from now against another node's clock running ahead. */
  #oldSendTimeout(t: OpenTarget): number {
    const sentAt = [...t.transitions].reverse().find((x) => x.status === 'sent')?.at ?? 0;
    const now = this.o.now();
    return Math.min(sentAt + this.o.commandTimeoutMs, now + this.o.commandTimeoutMs);
  }
}

function queuedOf(c: Command, t: Pick<CommandTarget, 'meterId' | 'terminalId' | 'address'>, job: QueuedTarget['job']): QueuedTarget {
  return { commandId: c.id, meterId: t.meterId, terminalId: t.terminalId, address: t.address, type: c.type, params: c.params, job };
}
