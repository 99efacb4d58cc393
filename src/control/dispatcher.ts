/**
 * Sends the targets of commands to their terminals: one target in flight per terminal (the
 * collector lane serialises anyway; this keeps the rate limit honest), at most
 * `maxConcurrentTerminals` terminals at once, each terminal under its token bucket.
 * Every transition is persisted before the next step, and reported to `onFinal` once.
 *
 * Bounds: queued targets ≤ `maxQueuedTargets` (the service refuses new commands beyond);
 * one wake-up timer; no retry of a command (whether one that failed reached the device is
 * unknown). A store write that fails is retried every `storeRetryMs` until it succeeds or the
 * dispatcher stops, holding that terminal (at most `maxConcurrentTerminals` such writes): a
 * command is never sent before `sent` is stored, and an outcome is never reported before it is
 * stored. Stopped mid-retry, the target stays as last stored (pending or sent), which is what
 * a restart settles.
 *
 * Under a leader lease (`leadership`), only the leader talks to devices: `sent` is stored under
 * its fencing token, so a paused or partitioned old leader that wakes up is refused by the
 * store before it touches the device. A target this node may not send (not leading, or its
 * token stale) leaves its queue and stays pending in the store, for the leader to send.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceCommand, DeviceControlState } from '../../protocols/adapter.js';
import { StaleFencingToken, type Leadership } from '../cluster/fencing.js';
import { readBackOf, toDeviceCommand, verify, type CommandParams, type CommandTarget, type CommandType, type TargetStatus } from './commandModel.js';
import type { CommandStore, TransitionExtra } from './commandStore.js';
import type { TerminalRateLimit } from './guardRails.js';

/** Sends one device command to a terminal and returns what the device read back; rejects on error or timeout. */
export type CommandRunner = (terminalId: string, command: DeviceCommand, options: { readonly timeoutMs: number; readonly signal: AbortSignal }) => Promise<DeviceControlState>;

export interface QueuedTarget {
  readonly commandId: string;
  readonly meterId: string;
  readonly terminalId: string;
  readonly address: string;
  readonly type: CommandType;
  readonly params: CommandParams;
  /** 'send': the command itself; 'reverify': a read of the state after an interrupted send. */
  readonly job: 'send' | 'reverify';
}

export interface DispatcherOptions {
  readonly store: CommandStore;
  readonly run: CommandRunner;
  readonly rate: TerminalRateLimit;
  readonly maxConcurrentTerminals: number;
  readonly commandTimeoutMs: number;
  readonly now: () => number;
  /** A target reached a final status (verified, failed, timed-out), stored; awaited before the terminal's next target. */
  readonly onFinal: (target: QueuedTarget, result: CommandTarget) => Promise<void>;
  /** A store write failed; it is retried. Log it throttled. */
  readonly onStoreError: (err: unknown) => void;
  /** Wait between attempts of a failed store write; default 1 s. */
  readonly storeRetryMs?: number;
  /** The leader lease the node runs under; absent in `single` mode, where this node always sends. */
  readonly leadership?: Leadership;
  /** A target left the queue unsent, still pending in the store: this node does not lead, or the store found its token stale. */
  readonly onNotLeading?: (target: QueuedTarget, refusal: StaleFencingToken | undefined) => void;
}

/** Why a target was not sent: no token to carry, or one the store refused. */
interface NotSent { readonly notSent: StaleFencingToken | undefined }

export class CommandDispatcher {
  readonly #queues = new Map<string, QueuedTarget[]>();
  readonly #active = new Map<string, Promise<void>>();
  readonly #stopping = new AbortController();
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;

  constructor(private readonly o: DispatcherOptions) {}

  get queued(): number {
    return this.#queued;
  }

  get inFlight(): number {
    return this.#active.size;
  }

  enqueue(t: QueuedTarget): void {
    let q = this.#queues.get(t.terminalId);
    if (q === undefined) this.#queues.set(t.terminalId, (q = []));
    q.push(t);
    this.#queued++;
  }

  /** Withdraws a queued (not yet sent) target; false when it is not queued. */
  withdraw(commandId: string, meterId: string): boolean {
    for (const [terminal, q] of this.#queues) {
      const i = q.findIndex((t) => t.commandId === commandId && t.meterId === meterId);
      if (i < 0) continue;
      q.splice(i, 1);
      this.#queued--;
      if (q.length === 0) this.#queues.delete(terminal);
      return true;
    }
    return false;
  }

  /** Starts what may start now; sets one timer for the earliest terminal waiting on its rate limit. */
  pump(): void {
    if (this.#stopping.signal.aborted) return;
    let nextWait = Number.POSITIVE_INFINITY;
    for (const [terminal, q] of this.#queues) {
      if (this.#active.size >= this.o.maxConcurrentTerminals) break;
      if (this.#active.has(terminal)) continue;
      const head = q[0];
      if (head === undefined) continue;
      // A re-verification sends nothing, so it does not spend the terminal's command budget.
      const wait = head.job === 'reverify' ? 0 : this.o.rate.take(terminal);
      if (wait > 0) {
        nextWait = Math.min(nextWait, wait);
        continue;
      }
      q.shift();
      this.#queued--;
      if (q.length === 0) this.#queues.delete(terminal);
      const running = this.#execute(head).finally(() => {
        this.#active.delete(terminal);
        this.pump();
      });
      this.#active.set(terminal, running);
    }
    if (Number.isFinite(nextWait)) this.#wakeIn(nextWait);
  }

  /** Stops sending: queued targets stay pending in the store, in-flight ones stay `sent` (a restart re-verifies them). */
  async close(): Promise<void> {
    this.#stopping.abort(new Error('command service stopping'));
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#active.values()]);
  }

  #wakeIn(ms: number): void {
    const at = this.o.now() + ms;
    if (this.#timer !== undefined && this.#wakeAt <= at) return;
    clearTimeout(this.#timer);
    this.#wakeAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wakeAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, ms);
    this.#timer.unref();
  }

  /** Runs `write` until it succeeds; undefined when the dispatcher stops first. */
  async #stored<T>(write: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      if (this.#stopping.signal.aborted) return undefined;
      try {
        return await write();
      } catch (err) {
        this.o.onStoreError(err);
      }
      try {
        await sleep(this.o.storeRetryMs ?? 1_000, undefined, { signal: this.#stopping.signal });
      } catch {
        return undefined;
      }
    }
  }

  /** Stores the final status of a target, then reports it. */
  async #finish(t: QueuedTarget, status: TargetStatus, at: number, extra: TransitionExtra = {}): Promise<void> {
    const result = await this.#stored(() => this.o.store.transition(t.commandId, t.meterId, status, at, extra));
    if (result !== undefined) await this.o.onFinal(t, result);
  }

  async #execute(t: QueuedTarget): Promise<void> {
    if (t.job === 'reverify') {
      await this.#reverify(t);
      return;
    }
    const { store, now } = this.o;
    const sentAt = now();
    const sent = await this.#stored(() => this.#markSent(t, sentAt));
    if (sent === undefined) return;
    if ('notSent' in sent) {
      this.o.onNotLeading?.(t, sent.notSent);
      return;
    }
    let state: DeviceControlState;
    try {
      state = await this.o.run(t.terminalId, toDeviceCommand(t.type, t.params, t.address, sentAt), { timeoutMs: this.o.commandTimeoutMs, signal: this.#stopping.signal });
    } catch (err) {
      // Stopping: whether the device got it is unknown; the target stays `sent` for the restart to settle.
      if (this.#stopping.signal.aborted) return;
      const e = toTargetError(err);
      await this.#finish(t, e.code === 'TIMEOUT' ? 'timed-out' : 'failed', now(), { error: e });
      return;
    }
    if (this.#stopping.signal.aborted) return;
    const at = now();
    if (await this.#stored(() => store.transition(t.commandId, t.meterId, 'acknowledged', at, { state })) === undefined) return;
    const check = verify(t.type, t.params, state, { sentAt, readAt: at });
    if (check.ok) await this.#finish(t, 'verified', at);
    else await this.#finish(t, 'failed', at, { error: { code: 'NOT_VERIFIED', message: check.reason } });
  }

  /**
   * Stores `sent` under the token this node leads with now, taken at each attempt so a retry
   * after a failed write never carries a token from before it. A stale token writes nothing.
   */
  async #markSent(t: QueuedTarget, at: number): Promise<CommandTarget | NotSent> {
    const { leadership, store } = this.o;
    if (leadership === undefined) return store.transition(t.commandId, t.meterId, 'sent', at);
    const fence = leadership.fence();
    if (fence === undefined) return { notSent: undefined };
    try {
      return await store.transition(t.commandId, t.meterId, 'sent', at, { fence });
    } catch (err) {
      if (err instanceof StaleFencingToken) return { notSent: err };
      throw err;
    }
  }

  /** Reads the state an interrupted command concerns; verified when it already shows the command's effect. */
  async #reverify(t: QueuedTarget): Promise<void> {
    const of = readBackOf(t.type);
    if (of === undefined) return;
    // Only the leader talks to devices, a read included; the leader re-verifies it instead.
    if (this.o.leadership !== undefined && this.o.leadership.fence() === undefined) {
      this.o.onNotLeading?.(t, undefined);
      return;
    }
    const { now } = this.o;
    let state: DeviceControlState;
    try {
      state = await this.o.run(t.terminalId, { type: 'read-state', address: t.address, of }, { timeoutMs: this.o.commandTimeoutMs, signal: this.#stopping.signal });
    } catch (err) {
      if (this.#stopping.signal.aborted) return;
      const e = toTargetError(err);
      await this.#finish(t, 'failed', now(), { error: { code: 'INTERRUPTED', message: `interrupted by a restart; the re-verification read failed: ${e.code} ${e.message}` } });
      return;
    }
    if (this.#stopping.signal.aborted) return;
    const check = verify(t.type, t.params, state);
    if (check.ok) await this.#finish(t, 'verified', now(), { state, error: null });
    else await this.#finish(t, 'failed', now(), { state, error: { code: 'INTERRUPTED', message: `interrupted by a restart; read back: ${check.reason}` } });
  }
}

export function toTargetError(err: unknown): { code: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : e.name, message: e.message };
}
