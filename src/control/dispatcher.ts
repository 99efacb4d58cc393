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
 * Placement (src/cluster/placement.ts) says which node talks to a terminal's devices now and
 * under which fencing token. A target is claimed before it is sent: `sent` is written only
 * from `pending` and under the token of its terminal's placement, so two nodes that both found
 * it pending never both send it, and a paused or partitioned old executor that wakes up is
 * refused by the store before it touches the device. Every later write of that send carries
 * the claim's token: a send that was in flight when this node lost the terminal finishes
 * under its token, or is refused (`StaleFencingToken`) and left `sent` for the new executor,
 * which verifies it by reading back. A target this node may not send (not placed here, or its
 * token stale) leaves its queue and stays pending in the store, for the node that is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceControlState } from '../../protocols/adapter.js';
import { StaleFencingToken, type FencingToken } from '../cluster/fencing.js';
import type { Placement } from '../cluster/placement.js';
import { readBackOf, targetKey, toDeviceCommand, verify, type CommandParams, type CommandTarget, type CommandType, type StationCommand, type TargetStatus } from './commandModel.js';
import { TargetMoved, type CommandStore, type TransitionExtra } from './commandStore.js';
import type { TerminalRateLimit } from './guardRails.js';

/** Which node acts on a terminal now, and under which token (null: unfenced, one node). */
export type CommandPlacement = Pick<Placement, 'fenceFor'>;

/** Every terminal on this node, unfenced: `single` mode and the embedded store. */
export const THIS_NODE: CommandPlacement = { fenceFor: () => null };

/** Sends one command to a terminal and returns what the device read back; rejects on error or timeout. */
export type CommandRunner = (terminalId: string, command: StationCommand, options: { readonly timeoutMs: number; readonly signal: AbortSignal }) => Promise<DeviceControlState>;

export interface QueuedTarget {
  readonly commandId: string;
  readonly meterId: string;
  readonly terminalId: string;
  readonly address: string;
  readonly type: CommandType;
  readonly params: CommandParams;
  /** 'send': the command itself; 'reverify': a read of the state after an interrupted send. */
  readonly job: 'send' | 'reverify';
  /** Not started before this time (ms epoch): a re-verification waits until the interrupted send's own timeout has passed. */
  readonly notBefore?: number;
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
  /** Which node sends to which terminal; this node to all, unfenced, by default. */
  readonly placement?: CommandPlacement;
  /** A target left the queue unsent, still pending in the store: it is not placed here, or the store found its token stale. */
  readonly onNotPlaced?: (target: QueuedTarget, refusal: StaleFencingToken | undefined) => void;
  /**
   * A write after the claim was refused: the token went stale (another node acts on the
   * terminal now), or the target moved meanwhile. The target is left as stored for the node
   * placed on the terminal to verify.
   */
  readonly onRefused?: (target: QueuedTarget, refusal: StaleFencingToken | TargetMoved) => void;
}

/** A write the store refused on purpose (stale token, target moved): not retried. */
interface Refused { readonly refused: StaleFencingToken | TargetMoved }

export class CommandDispatcher {
  readonly #queues = new Map<string, QueuedTarget[]>();
  /** Keys of the targets queued or in flight here: a target is taken once, however often it is found. */
  readonly #known = new Set<string>();
  readonly #active = new Map<string, Promise<void>>();
  readonly #stopping = new AbortController();
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;

  readonly #placement: CommandPlacement;

  constructor(private readonly o: DispatcherOptions) {
    this.#placement = o.placement ?? THIS_NODE;
  }

  get queued(): number {
    return this.#queued;
  }

  get inFlight(): number {
    return this.#active.size;
  }

  /** Queues `t`; false when it is queued or in flight here already. */
  enqueue(t: QueuedTarget): boolean {
    const key = targetKey(t.commandId, t.meterId);
    if (this.#known.has(key)) return false;
    this.#known.add(key);
    let q = this.#queues.get(t.terminalId);
    if (q === undefined) this.#queues.set(t.terminalId, (q = []));
    q.push(t);
    this.#queued++;
    return true;
  }

  /** Whether the target is queued or in flight here. */
  knows(commandId: string, meterId: string): boolean {
    return this.#known.has(targetKey(commandId, meterId));
  }

  /**
   * Step-down: takes out of the queue every target whose terminal is no longer placed on this
   * node; they stay as stored (pending, or failed INTERRUPTED awaiting its read) for the node
   * that is. Targets in flight go on under their claim's token. Returns what was taken out.
   */
  dropUnplaced(): QueuedTarget[] {
    const dropped: QueuedTarget[] = [];
    for (const [terminal, q] of this.#queues) {
      if (this.#placement.fenceFor(terminal) !== undefined) continue;
      for (const t of q) this.#known.delete(targetKey(t.commandId, t.meterId));
      dropped.push(...q);
      this.#queued -= q.length;
      this.#queues.delete(terminal);
    }
    return dropped;
  }

  /** Withdraws a queued (not yet sent) target; false when it is not queued. */
  withdraw(commandId: string, meterId: string): boolean {
    for (const [terminal, q] of this.#queues) {
      const i = q.findIndex((t) => t.commandId === commandId && t.meterId === meterId);
      if (i < 0) continue;
      q.splice(i, 1);
      this.#queued--;
      this.#known.delete(targetKey(commandId, meterId));
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
      const wait = head.job === 'reverify' ? Math.max(0, (head.notBefore ?? 0) - this.o.now()) : this.o.rate.take(terminal);
      if (wait > 0) {
        nextWait = Math.min(nextWait, wait);
        continue;
      }
      q.shift();
      this.#queued--;
      if (q.length === 0) this.#queues.delete(terminal);
      const running = this.#execute(head).finally(() => {
        this.#active.delete(terminal);
        this.#known.delete(targetKey(head.commandId, head.meterId));
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

  /**
   * Runs `write` until it succeeds; undefined when the dispatcher stops first. A refusal on
   * purpose (stale token, target moved) is not a failure to retry: it comes back as `Refused`.
   */
  async #stored<T>(write: () => Promise<T>): Promise<T | Refused | undefined> {
    for (;;) {
      if (this.#stopping.signal.aborted) return undefined;
      try {
        return await write();
      } catch (err) {
        if (err instanceof StaleFencingToken || err instanceof TargetMoved) return { refused: err };
        this.o.onStoreError(err);
      }
      try {
        await sleep(this.o.storeRetryMs ?? 1_000, undefined, { signal: this.#stopping.signal });
      } catch {
        return undefined;
      }
    }
  }

  /** Stores a step of a target's send under `fence`; false (and `onRefused` told) when the store refused it or the dispatcher stops. */
  async #step(t: QueuedTarget, status: TargetStatus, at: number, fence: FencingToken | null, extra: TransitionExtra): Promise<CommandTarget | undefined> {
    const written = await this.#stored(() => this.o.store.transition(t.commandId, t.meterId, status, at, { ...extra, ...(fence === null ? {} : { fence }) }));
    if (written === undefined) return undefined;
    if ('refused' in written) {
      // No longer ours: a look at the store may take it up again (this node placed on the terminal anew).
      this.#known.delete(targetKey(t.commandId, t.meterId));
      this.o.onRefused?.(t, written.refused);
      return undefined;
    }
    return written;
  }

  /** Stores the final status of a target, then reports it. */
  async #finish(t: QueuedTarget, status: TargetStatus, at: number, fence: FencingToken | null, extra: TransitionExtra): Promise<void> {
    const result = await this.#step(t, status, at, fence, extra);
    if (result !== undefined) await this.o.onFinal(t, result);
  }

  async #execute(t: QueuedTarget): Promise<void> {
    if (t.job === 'reverify') {
      await this.#reverify(t);
      return;
    }
    const { now } = this.o;
    const sentAt = now();
    const claim = await this.#stored(() => this.#claim(t, sentAt));
    if (claim === undefined) return;
    if ('refused' in claim) {
      // Moved: another node claimed it, or an operator cancelled it; nothing of ours to do.
      if (claim.refused instanceof StaleFencingToken) this.o.onNotPlaced?.(t, claim.refused);
      return;
    }
    if ('notPlaced' in claim) {
      this.o.onNotPlaced?.(t, undefined);
      return;
    }
    const { fence } = claim;
    let state: DeviceControlState;
    try {
      state = await this.o.run(t.terminalId, toDeviceCommand(t.type, t.params, t.address, sentAt), { timeoutMs: this.o.commandTimeoutMs, signal: this.#stopping.signal });
    } catch (err) {
      // Stopping: whether the device got it is unknown; the target stays `sent` for the restart to settle.
      if (this.#stopping.signal.aborted) return;
      const e = toTargetError(err);
      await this.#finish(t, e.code === 'TIMEOUT' ? 'timed-out' : 'failed', now(), fence, { error: e, onlyFrom: ['sent'] });
      return;
    }
    if (this.#stopping.signal.aborted) return;
    const at = now();
    if (await this.#step(t, 'acknowledged', at, fence, { state, onlyFrom: ['sent'] }) === undefined) return;
    const check = verify(t.type, t.params, state, { sentAt, readAt: at });
    if (check.ok) await this.#finish(t, 'verified', at, fence, { onlyFrom: ['acknowledged'] });
    else await this.#finish(t, 'failed', at, fence, { error: { code: 'NOT_VERIFIED', message: check.reason }, onlyFrom: ['acknowledged'] });
  }

  /**
   * Claims the target: `sent`, from `pending` only, under the token its terminal is placed
   * here with now, taken at each attempt so a retry after a failed write never carries a
   * token from before it. Not placed here: nothing is written.
   */
  async #claim(t: QueuedTarget, at: number): Promise<{ readonly fence: FencingToken | null } | { readonly notPlaced: true }> {
    const fence = this.#placement.fenceFor(t.terminalId);
    if (fence === undefined) return { notPlaced: true };
    await this.o.store.transition(t.commandId, t.meterId, 'sent', at, { onlyFrom: ['pending'], ...(fence === null ? {} : { fence }) });
    return { fence };
  }

  /** Reads the state an interrupted command concerns; verified when it already shows the command's effect. */
  async #reverify(t: QueuedTarget): Promise<void> {
    const of = readBackOf(t.type);
    if (of === undefined) return;
    // Only the node placed on the terminal talks to its devices, a read included.
    const fence = this.#placement.fenceFor(t.terminalId);
    if (fence === undefined) {
      this.o.onNotPlaced?.(t, undefined);
      return;
    }
    const { now } = this.o;
    // The read settles the INTERRUPTED mark the takeover wrote, and nothing else.
    const onlyFrom: TargetStatus[] = ['failed'];
    let state: DeviceControlState;
    try {
      state = await this.o.run(t.terminalId, { type: 'read-state', address: t.address, of }, { timeoutMs: this.o.commandTimeoutMs, signal: this.#stopping.signal });
    } catch (err) {
      if (this.#stopping.signal.aborted) return;
      const e = toTargetError(err);
      await this.#finish(t, 'failed', now(), fence, { error: { code: 'INTERRUPTED', message: `interrupted by a restart; the re-verification read failed: ${e.code} ${e.message}` }, onlyFrom });
      return;
    }
    if (this.#stopping.signal.aborted) return;
    const check = verify(t.type, t.params, state);
    if (check.ok) await this.#finish(t, 'verified', now(), fence, { state, error: null, onlyFrom });
    else await this.#finish(t, 'failed', now(), fence, { state, error: { code: 'INTERRUPTED', message: `interrupted by a restart; read back: ${check.reason}` }, onlyFrom });
  }
}

export function toTargetError(err: unknown): { code: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : e.name, message: e.message };
}
