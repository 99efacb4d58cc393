/**
 * Everything the collector holds for one polled terminal: its session (opened lazily, kept
 * after a request while the SessionKeeper allows, dropped on a session error and reopened by
 * the next request), its health,
 * and its lane — a queue that runs one request at a time, so a terminal never sees two
 * concurrent requests from us whether they come from schedules or from operators.
 */
import type { DeviceCommand, DeviceControlState, ProfileOutcome, ProfileRequest, ReadItem, ReadOutcome, RawReading, TerminalSession, TransportAdapter } from '../../protocols/adapter.js';
import { ConnectionError, TimeoutError } from '../../protocols/adapter.js';
import type { Terminal } from '../domain/topology.js';
import { sleep } from '../../protocols/timers.js';
import { abortReason, linkSignals, toError, untilAborted, type Clock, type Timer } from './clock.js';
import { MissingOutcomeError, NotControllableError, NotPollableError } from './errors.js';
import type { Semaphore } from './semaphore.js';
import type { IdleSessionHolder, SessionKeeper } from './sessionKeeper.js';
import { TerminalHealth } from './terminalHealth.js';

/** How one request is bounded. */
export interface RequestPolicy {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
}

export interface ItemFailure {
  readonly item: ReadItem;
  readonly error: Error;
}

export interface PollResult {
  /** One reading per item that succeeded, in any attempt. */
  readonly readings: readonly RawReading[];
  /** Items that failed in their last attempt. */
  readonly failures: readonly ItemFailure[];
}

/**
 * Where a job queues: `urgent` (someone waits: on-demand reads, commands) ahead of `cycle`
 * (scheduled collection) ahead of `background` (long work in slices, such as a firmware
 * transfer), so background work never delays a read or a command by more than one slice.
 */
export type LanePriority = 'urgent' | 'cycle' | 'background';

const RANK: Readonly<Record<LanePriority, number>> = { urgent: 0, cycle: 1, background: 2 };

/** A unit of work in the lane; `cancel` is called instead of `run` when it never gets to run. */
export interface LaneJob {
  run(laneSignal: AbortSignal): Promise<void>;
  cancel(reason: Error): void;
}

export interface LaneDeps {
  readonly clock: Clock;
  readonly permits: Semaphore;
  readonly adapter: TransportAdapter;
  /** Delivers one batch; must not throw (the scheduler counts and reports sink failures). */
  readonly deliver: (batch: readonly RawReading[], terminal: Terminal) => Promise<void>;
  /** A fault that concerns no request (a session that failed to close). */
  readonly fault: (err: Error) => void;
  /** Whether a session stays open once the lane is idle; counts the sessions held. */
  readonly sessions: SessionKeeper;
  readonly counters: { sessionOpens: number; sessionErrors: number; retries: number };
}

/** Retry delays double from `retryBackoffMs` and stop growing here. */
export const MAX_BACKOFF_MS = 60_000;

export class TerminalLane implements IdleSessionHolder {
  readonly health: TerminalHealth;
  // Per-terminal state is kept small (the target is ≤ 2 KiB per terminal at 100,000
  // terminals, adapter included): no per-lane AbortController, Set or timer while idle.
  /** Profiles with a cycle queued or running: a new cycle of one of them is an overrun. */
  readonly #busy: string[] = [];
  #terminal: Terminal;
  #endpointKey: string;
  #session: TerminalSession | undefined;
  #sessionKey = '';
  /** Settles when every close started so far has settled. */
  #closing: Promise<void> | undefined;
  /** In priority order, first come first served within a priority. */
  readonly #queue: { readonly job: LaneJob; readonly priority: LanePriority }[] = [];
  #running: Promise<void> | undefined;
  /** Aborts the job now running; exists only while one runs. */
  #current: AbortController | undefined;
  #retiredBy: Error | undefined;
  /** Cuts the request on the wire when a retirement's grace runs out; exists only then. */
  #cut: Timer | undefined;

  constructor(terminal: Terminal, private readonly deps: LaneDeps) {
    this.#terminal = terminal;
    this.#endpointKey = endpointKey(terminal);
    this.health = new TerminalHealth(terminal.id);
  }

  get terminal(): Terminal {
    return this.#terminal;
  }

  get terminalId(): string {
    return this.#terminal.id;
  }

  /** Closes the session kept since the last request, unless a request has started since. */
  closeIdle(): void {
    if (this.#running === undefined) this.#dropSession();
  }

  /** Retired (removed, stopped, or placed on another node): it starts no further request. */
  get retired(): boolean {
    return this.#retiredBy !== undefined;
  }

  get urgentQueued(): number {
    return this.#queue.filter((q) => q.priority === 'urgent').length;
  }

  get backgroundQueued(): number {
    return this.#queue.filter((q) => q.priority === 'background').length;
  }

  isBusy(profile: string): boolean {
    return this.#busy.includes(profile);
  }

  setBusy(profile: string, busy: boolean): void {
    const i = this.#busy.indexOf(profile);
    if (busy && i < 0) this.#busy.push(profile);
    else if (!busy && i >= 0) this.#busy.splice(i, 1);
  }

  /** Takes a registry update; a changed endpoint closes the session (reopened at the new one when next needed). */
  update(terminal: Terminal): void {
    this.#terminal = terminal;
    this.#endpointKey = endpointKey(terminal);
    if (this.#running === undefined && this.#session !== undefined && this.#sessionKey !== this.#endpointKey) this.#dropSession();
  }

  enqueue(job: LaneJob, priority: LanePriority): void {
    if (this.#retiredBy !== undefined) {
      job.cancel(this.#retiredBy);
      return;
    }
    const rank = RANK[priority];
    const at = this.#queue.findIndex((q) => RANK[q.priority] > rank);
    if (at < 0) this.#queue.push({ job, priority });
    else this.#queue.splice(at, 0, { job, priority });
    this.#running ??= this.#drain();
  }

  /** Takes a job out of the queue if it has not started; true when it was removed. */
  withdraw(job: LaneJob): boolean {
    const i = this.#queue.findIndex((q) => q.job === job);
    if (i >= 0) this.#queue.splice(i, 1);
    return i >= 0;
  }

  /**
   * Reads `items`, retrying only the failed ones up to `policy.retries` times with a
   * doubling backoff. Each attempt holds a global permit (released during backoff) and is
   * bounded by `policy.timeoutMs`, session opening included. Never rejects: an abort of
   * `signal` ends the poll with the remaining items failed with the abort reason.
   */
  async poll(items: readonly ReadItem[], policy: RequestPolicy, signal: AbortSignal, urgent: boolean): Promise<PollResult> {
    const readings: RawReading[] = [];
    let pending = items;
    let failures: ItemFailure[] = [];
    for (let attempt = 0; attempt <= policy.retries && pending.length > 0; attempt++) {
      let release: (() => void) | undefined;
      try {
        if (attempt > 0) {
          this.deps.counters.retries++;
          const backoffMs = Math.min(policy.retryBackoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
          if (!(await sleep(backoffMs, signal, this.deps.clock))) throw abortReason(signal);
        }
        release = await this.deps.permits.acquire(signal, urgent);
        // Retired with a grace: the request on the wire may finish, no further one starts.
        if (this.#retiredBy !== undefined) throw this.#retiredBy;
        const outcomes = await this.#attempt(pending, policy.timeoutMs, signal);
        const ok: RawReading[] = [];
        failures = [];
        for (const o of outcomes) {
          if (o.ok) ok.push(o.reading);
          else failures.push({ item: o.item, error: o.error });
        }
        readings.push(...ok);
        pending = failures.map((f) => f.item);
        // Delivered while the permit is held: a slow pipeline slows polling instead of
        // letting undelivered batches pile up behind every terminal.
        if (ok.length > 0) await this.deps.deliver(ok, this.#terminal);
      } catch (err) {
        // Only an aborted backoff or acquire, or a retired lane, lands here.
        const reason = toError(err);
        failures = pending.map((item) => ({ item, error: reason }));
        break;
      } finally {
        release?.();
      }
      if (signal.aborted) break;
    }
    return { readings, failures };
  }

  /**
   * Reads a stored profile of one meter under a permit and the policy's deadline (no retry:
   * the next cycle starts again from the same cursor, so nothing is lost by failing).
   */
  async readProfile(request: ProfileRequest, policy: RequestPolicy, signal: AbortSignal): Promise<ProfileOutcome> {
    let release: (() => void) | undefined;
    const id = this.#terminal.id;
    const guard = linkSignals([signal], {
      clock: this.deps.clock,
      timeoutMs: policy.timeoutMs,
      onTimeout: () => new TimeoutError(id, policy.timeoutMs, `${request.profile} profile of meter at ${request.address}`),
    });
    try {
      release = await this.deps.permits.acquire(guard.signal, false);
      if (this.#retiredBy !== undefined) return { ok: false, error: this.#retiredBy };
      const session = await this.#ensureSession(guard.signal);
      if (session.readProfile === undefined) return { ok: false, error: new NotPollableError(id) };
      const outcome = await untilAborted(session.readProfile(request, guard.signal), guard.signal);
      if (!outcome.ok && isSessionError(outcome.error)) this.#sessionFailed();
      if (outcome.ok && outcome.readings.length > 0) await this.deps.deliver(outcome.readings, this.#terminal);
      return outcome;
    } catch (err) {
      this.#sessionFailed();
      return { ok: false, error: toError(err) };
    } finally {
      release?.();
      guard.dispose();
    }
  }

  /**
   * Sends one control command under an urgent permit and the deadline, on the lane's session.
   * No retry: whether a command that timed out took effect is unknown, and the caller decides.
   */
  execute(command: DeviceCommand, timeoutMs: number, signal: AbortSignal): Promise<DeviceControlState> {
    return this.withSession(`${command.type} of the meter at ${command.address}`, timeoutMs, signal, (session, s) => {
      if (session.execute === undefined) throw new NotControllableError(this.#terminal.id);
      return session.execute(command, s);
    });
  }

  /**
   * Runs `work` on the lane's session under a permit (urgent unless `urgent` is false) and the
   * deadline: a request that is no quantity read (a command, a protocol's own object such as a
   * DLMS push setup's list, a slice of a firmware transfer).
   * No retry; a failed connection or a deadline drops the session.
   */
  async withSession<T>(what: string, timeoutMs: number, signal: AbortSignal, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>, urgent = true): Promise<T> {
    let release: (() => void) | undefined;
    const id = this.#terminal.id;
    const guard = linkSignals([signal], { clock: this.deps.clock, timeoutMs, onTimeout: () => new TimeoutError(id, timeoutMs, what) });
    try {
      release = await this.deps.permits.acquire(guard.signal, urgent);
      if (this.#retiredBy !== undefined) throw this.#retiredBy;
      const session = await this.#ensureSession(guard.signal);
      return await untilAborted(work(session, guard.signal), guard.signal);
    } catch (err) {
      const error = toError(err);
      if (isSessionError(error) || guard.signal.aborted) this.#sessionFailed();
      throw error;
    } finally {
      release?.();
      guard.dispose();
    }
  }

  /**
   * Ends the lane: cancels queued jobs, starts no further request, and aborts the running job,
   * at once or, with `graceMs`, only if it is still running after that long (a request on the
   * wire may finish, but its retries, or the next meter of a profile cycle, do not start).
   * Closes the session. Called again without a grace, it cuts a running job at once.
   */
  async retire(reason: Error, graceMs = 0): Promise<void> {
    if (this.#retiredBy === undefined) {
      this.#retiredBy = reason;
      for (const q of this.#queue.splice(0)) q.job.cancel(reason);
    }
    if (graceMs <= 0) this.#current?.abort(reason);
    else if (this.#running !== undefined && this.#cut === undefined) {
      this.#cut = this.deps.clock.setTimeout(() => {
        this.#cut = undefined;
        this.#current?.abort(reason);
      }, graceMs);
    }
    await this.#running;
    if (this.#cut !== undefined) this.deps.clock.clearTimeout(this.#cut);
    this.#cut = undefined;
    this.#dropSession();
    await this.#closing;
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next === undefined) return;
        this.deps.sessions.release(this);
        if (this.#sessionKey !== this.#endpointKey) this.#dropSession();
        const current = new AbortController();
        this.#current = current;
        try {
          await next.job.run(current.signal);
        } catch (err) {
          this.deps.fault(toError(err));
        } finally {
          this.#current = undefined;
        }
      }
    } finally {
      this.#running = undefined;
      // A retired lane's session is closed by retire(), which waits for this drain to end.
      if (this.#session !== undefined && this.#retiredBy === undefined && !this.deps.sessions.keep(this)) this.#dropSession();
    }
  }

  /** One attempt; a failure of the session as a whole becomes a failed outcome per item. */
  async #attempt(items: readonly ReadItem[], timeoutMs: number, outer: AbortSignal): Promise<readonly ReadOutcome[]> {
    const id = this.#terminal.id;
    const guard = linkSignals([outer], {
      clock: this.deps.clock,
      timeoutMs,
      onTimeout: () => new TimeoutError(id, timeoutMs, `request of ${items.length} items`),
    });
    try {
      const session = await this.#ensureSession(guard.signal);
      const outcomes = await untilAborted(session.read(items, guard.signal), guard.signal);
      const complete = completeOutcomes(id, items, outcomes);
      if (complete.length > 0 && complete.every((o) => !o.ok && isSessionError(o.error))) this.#sessionFailed();
      return complete;
    } catch (err) {
      // open() or read() rejected, or the deadline passed: the connection is suspect.
      this.#sessionFailed();
      const error = toError(err);
      return items.map((item) => ({ ok: false as const, item, error }));
    } finally {
      guard.dispose();
    }
  }

  async #ensureSession(signal: AbortSignal): Promise<TerminalSession> {
    if (this.#session !== undefined) return this.#session;
    const t = this.#terminal;
    const key = this.#endpointKey;
    this.deps.counters.sessionOpens++;
    const opening = this.deps.adapter.open({ id: t.id, endpoint: endpointOf(t) }, signal);
    const session = await untilAborted(opening, signal, (late) => {
      this.#track(late.close());
    });
    this.#session = session;
    this.#sessionKey = key;
    this.deps.sessions.opened();
    return session;
  }

  #sessionFailed(): void {
    this.deps.counters.sessionErrors++;
    this.#dropSession();
  }

  #dropSession(): void {
    const s = this.#session;
    this.#session = undefined;
    this.#sessionKey = '';
    if (s === undefined) return;
    this.deps.sessions.closed(this);
    this.#track(s.close());
  }

  #track(closing: Promise<void>): void {
    const p = closing.catch((err: unknown) => {
      this.deps.fault(toError(err));
    });
    const before = this.#closing;
    this.#closing = before === undefined ? p : Promise.all([before, p]).then(() => undefined);
  }
}

/** The endpoint an adapter needs for this terminal; exhaustive over the protocols that poll. */
export function endpointOf(t: Terminal): unknown {
  switch (t.protocol) {
    case 'modbus':
      return t.modbus;
    case 'mqtt':
      return t.mqtt;
    case 'dlms':
      return t.dlms;
  }
}

function endpointKey(t: Terminal): string {
  return `${t.protocol}:${JSON.stringify(endpointOf(t))}`;
}

function isSessionError(err: Error): boolean {
  return err instanceof ConnectionError || err instanceof TimeoutError;
}

/** One outcome per asked item, in the asked order; an item the adapter skipped is a failure. */
function completeOutcomes(terminalId: string, items: readonly ReadItem[], outcomes: readonly ReadOutcome[]): ReadOutcome[] {
  const byKey = new Map<string, ReadOutcome>();
  for (const o of outcomes) byKey.set(itemKey(o.item), o);
  return items.map((item) => byKey.get(itemKey(item)) ?? { ok: false, item, error: new MissingOutcomeError(terminalId, item.address, item.quantity) });
}

function itemKey(item: ReadItem): string {
  return `${item.address}\u0000${item.quantity}`;
}
