/**
 * The collection scheduler: polls every enabled polled terminal on the cycles of its
 * profiles, under one global concurrency limit, one request in flight per terminal, with
 * retries, timeouts, online/offline tracking and success-rate statistics; watches pushing
 * terminals for silence; serves on-demand reads.
 *
 * Several nodes (src/cluster/placement.ts): a node polls only the terminals placed on it.
 * When a terminal is placed elsewhere its queued work is cancelled at once and no further
 * request starts; the one on the wire may finish within `handoverMs` (and its own timeout)
 * and is cut after that, which the composition root keeps inside the lease's trust margin, so
 * the request is over before another node can take the terminal's lease. A terminal placed on
 * this node joins its profiles' next cycles, and its cycles start no sooner than `handoverMs`
 * after it came: a node that gave it up of its own accord (not by its lease running late) has
 * released the lease just then, and may still have its last request on the wire. A stored
 * profile goes on from the cursor in the shared store, where the previous node left it.
 *
 * Bounds: queued cycles ≤ terminals × their profiles (a cycle still queued or running when
 * the next of the same terminal and profile is due is skipped and counted as an overrun);
 * permit waiters ≤ terminals; on-demand reads ≤ `maxQueuedOnDemand` per terminal;
 * retries ≤ profile.retries with backoff capped at MAX_BACKOFF_MS; sessions open ≤
 * `concurrency` in use + `keepSessions.max` kept between requests (sessionKeeper.ts).
 */
import type { DeviceCommand, DeviceControlState, ProfileOutcome, ProfileRequest, ProtocolName, RawReading, ReadItem, TerminalSession, TransportAdapter } from '../../protocols/adapter.js';
import { KEEP_SESSIONS_DEFAULTS, type CollectProfileConfig, type GridheadConfig } from '../config/schema.js';
import type { Meter, Terminal } from '../domain/topology.js';
import { systemClock, toError, type Clock } from './clock.js';
import { zeroCollectCounters, type CollectCounters } from './counters.js';
import {
  CollectBusyError, NoAdapterError, NotPollableError, PlacedElsewhereError, SchedulerStoppedError, SinkError, UnknownProfileError, UnknownTerminalError,
} from './errors.js';
import { queueBackgroundWork, queueCommand, queueOnDemand, queueProfile, queueSessionWork, toOnDemandResult, type OnDemandRequest, type OnDemandResult } from './onDemand.js';
import { MemoryProfileCursors, type ProfileCursorStore } from './profileCursors.js';
import { runStoredProfileCycle } from './storedProfileCycle.js';
import { ProfileCycle } from './profileCycle.js';
import { PushWatch } from './pushWatch.js';
import { Semaphore } from './semaphore.js';
import { SessionKeeper } from './sessionKeeper.js';
import type { CollectionStats } from './stats.js';
import type { StateChange, TerminalState } from './terminalHealth.js';
import { TerminalLane, type LaneDeps, type RequestPolicy } from './terminalLane.js';

/** What the collector needs of the registry. Call `refresh()` after a change. */
export interface CollectTopology {
  /** Every terminal, enabled or not. */
  terminals(): Iterable<Terminal>;
  terminal(id: string): Terminal | undefined;
  metersOf(terminalId: string): readonly Meter[];
}

/** Which terminals this node polls (src/cluster/placement.ts). */
export interface CollectPlacement {
  owns(terminalId: string): boolean;
}

/** Where readings go; awaited, so a slow pipeline slows polling. */
export type CollectSink = (batch: readonly RawReading[], terminal: Terminal) => void | Promise<void>;

export type CollectSettings = Pick<GridheadConfig['collect'], 'concurrency' | 'offlineAfterFailures' | 'pushSilenceMs' | 'profiles'>
  & Partial<Pick<GridheadConfig['collect'], 'keepSessions'>>;

export interface CollectionSchedulerOptions {
  readonly config: CollectSettings;
  readonly topology: CollectTopology;
  readonly adapters: Partial<Record<ProtocolName, TransportAdapter>>;
  readonly sink: CollectSink;
  /** Started and stopped (flushed) with the scheduler. */
  readonly stats: CollectionStats;
  /** Station offset from UTC, for aligned cycles; default 0. */
  readonly utcOffsetMinutes?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** On-demand reads waiting per terminal, at most; default 8. */
  readonly maxQueuedOnDemand?: number;
  /** Background slices (firmware transfers) waiting per terminal; default 2. */
  readonly maxBackgroundQueued?: number;
  /** Bounds of an on-demand read when the terminal has no profile; default 3 s, no retry. */
  readonly onDemandPolicy?: RequestPolicy;
  /** Where stored-profile collection stands per meter; in memory when absent. */
  readonly cursors?: ProfileCursorStore;
  /** Which terminals this node polls; every one when absent. Call `placementChanged()` when it changes. */
  readonly placement?: CollectPlacement;
  /**
   * How long a request on the wire may go on after its terminal was placed on another node,
   * ms (also bounded by its own timeout); default 0: cut at once.
   */
  readonly handoverMs?: number;
  /** One call per online/offline transition. */
  readonly onStateChange?: (change: StateChange) => void;
  /** Faults that are not a terminal's failure to answer: sink errors, config gaps, close errors. */
  readonly onError?: (err: Error) => void;
}

const DEFAULT_ON_DEMAND: RequestPolicy = { timeoutMs: 3_000, retries: 0, retryBackoffMs: 0 };

export class CollectionScheduler {
  readonly #o: CollectionSchedulerOptions;
  readonly #clock: Clock;
  readonly #permits: Semaphore;
  readonly #sessions: SessionKeeper;
  readonly #cycles = new Map<string, ProfileCycle>();
  readonly #lanes = new Map<string, TerminalLane>();
  readonly #depsByAdapter = new Map<TransportAdapter, LaneDeps>();
  readonly #push: PushWatch;
  readonly #cursors: ProfileCursorStore;
  readonly #retiring = new Map<TerminalLane, Promise<void>>();
  /** Terminals placed here a moment ago: no cycle before this time (the previous node's request may still be on the wire). */
  readonly #notBefore = new Map<string, number>();
  /** Polled terminals placed on another node now: not polled here, counted in `coverage()`. */
  readonly #elsewhere = new Set<string>();
  #resyncQueued = false;
  // Config faults already reported, per terminal: reported once, forgotten when the terminal goes.
  readonly #reported = new Map<string, Set<string>>();
  readonly #counters: CollectCounters = zeroCollectCounters();
  #started = false;

  constructor(options: CollectionSchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#permits = new Semaphore(options.config.concurrency);
    this.#cursors = options.cursors ?? new MemoryProfileCursors();
    this.#sessions = new SessionKeeper({
      policy: options.config.keepSessions ?? KEEP_SESSIONS_DEFAULTS,
      clock: this.#clock,
      nextDue: (id) => this.#nextDue(id),
    });
    for (const [name, p] of Object.entries(options.config.profiles)) {
      this.#cycles.set(name, new ProfileCycle({
        intervalMs: p.intervalSeconds * 1000,
        align: p.align,
        jitterMs: p.jitterMs,
        utcOffsetMs: (options.utcOffsetMinutes ?? 0) * 60_000,
        clock: this.#clock,
        random: options.random ?? Math.random,
        onDue: (id, cycleStart) => {
          this.#due(id, name, cycleStart);
        },
      }));
    }
    this.#push = new PushWatch({
      clock: this.#clock,
      silenceMs: options.config.pushSilenceMs,
      emit: (c) => {
        this.#emit(c);
      },
      record: (id, ts, count) => {
        options.stats.record(id, ts, count, count);
      },
    });
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#syncAll();
    for (const c of this.#cycles.values()) c.start();
    this.#push.start();
    this.#o.stats.start();
  }

  /** Stops scheduling, ends in-flight and queued work, closes every session, flushes statistics. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const c of this.#cycles.values()) c.stop();
    this.#push.stop();
    const lanes = [...this.#lanes.values(), ...this.#retiring.keys()];
    this.#lanes.clear();
    this.#elsewhere.clear();
    this.#notBefore.clear();
    for (const id of [...this.#push.ids()]) this.#push.remove(id);
    const stopped = new SchedulerStoppedError();
    // Lanes handed over and still in their grace are cut now too.
    await Promise.all(lanes.map((l) => l.retire(stopped)));
    await Promise.all([...this.#retiring.values()]);
    await this.#o.stats.stop();
  }

  /**
   * Re-reads the topology (one terminal, or all): added terminals join their profiles'
   * next cycles, removed or disabled ones are retired (session closed), a changed endpoint
   * reconnects. Resolves when retired sessions are closed.
   */
  async refresh(terminalId?: string): Promise<void> {
    if (!this.#started) return;
    if (terminalId === undefined) this.#syncAll();
    else this.#sync(terminalId, this.#o.topology.terminal(terminalId));
    await Promise.all([...this.#retiring.values()]);
  }

  /**
   * The placement changed (areas taken or given up, leadership, the registry): terminals
   * placed elsewhere now are handed over, those placed here join their next cycles. Changes
   * that arrive together (a registry import, several areas at one beat) are looked at once,
   * in a microtask.
   */
  placementChanged(): void {
    if (!this.#started || this.#resyncQueued) return;
    this.#resyncQueued = true;
    queueMicrotask(() => {
      this.#resyncQueued = false;
      if (this.#started) this.#syncAll();
    });
  }

  /** How many polled terminals this node polls, and how many the placement puts on other nodes. */
  coverage(): { readonly polled: number; readonly placedElsewhere: number } {
    return { polled: this.#lanes.size, placedElsewhere: this.#elsewhere.size };
  }

  /** The lane an urgent request (read, command, profile) queues in, or why there is none. */
  #urgentLane(terminalId: string): TerminalLane | Error {
    if (!this.#started) return new SchedulerStoppedError();
    const lane = this.#lanes.get(terminalId);
    if (lane === undefined) {
      if (this.#elsewhere.has(terminalId)) return new PlacedElsewhereError(terminalId);
      return this.#push.has(terminalId) ? new NotPollableError(terminalId) : new UnknownTerminalError(terminalId);
    }
    const limit = this.#o.maxQueuedOnDemand ?? 8;
    return lane.urgentQueued >= limit ? new CollectBusyError(terminalId, limit) : lane;
  }

  #profilesOf(lane: TerminalLane): CollectProfileConfig[] {
    return lane.terminal.profiles.flatMap((n) => this.#o.config.profiles[n] ?? []);
  }

  /** Timeout and retries of an urgent request: the terminal's first profile's, else the on-demand default. */
  #basePolicy(lane: TerminalLane): RequestPolicy {
    return this.#profilesOf(lane)[0] ?? this.#o.onDemandPolicy ?? DEFAULT_ON_DEMAND;
  }

  /** Reads now, queued behind the terminal's in-flight request; readings also go to the sink. */
  pollNow(terminalId: string, request: OnDemandRequest = {}): Promise<OnDemandResult> {
    const lane = this.#urgentLane(terminalId);
    if (lane instanceof Error) return Promise.reject(lane);
    const profiles = this.#profilesOf(lane);
    const quantities = request.quantities ?? [...new Set(profiles.flatMap((p) => p.quantities))];
    const wanted = request.addresses === undefined ? undefined : new Set(request.addresses);
    const meters = this.#o.topology.metersOf(terminalId).filter((m) => wanted?.has(m.address) ?? true);
    const items = itemsFor(meters, quantities);
    const base = this.#basePolicy(lane);
    const policy: RequestPolicy = { timeoutMs: request.timeoutMs ?? base.timeoutMs, retries: base.retries, retryBackoffMs: base.retryBackoffMs };
    if (items.length === 0) return Promise.resolve({ terminalId, readings: [], failures: [] });
    this.#counters.onDemand++;
    lane.health.attempted(this.#clock.now());
    return queueOnDemand(lane, items, policy, request.signal).then((result) => {
      this.#counters.itemsCollected += result.readings.length;
      this.#counters.itemsFailed += result.failures.length;
      const now = this.#clock.now();
      const failed = result.failures.at(-1);
      if (failed !== undefined) lane.health.noteError(failed.error, now);
      if (result.readings.length > 0) this.#emit(lane.health.succeeded(now, 'on-demand read succeeded'));
      return toOnDemandResult(terminalId, result);
    });
  }

  /**
   * Sends a control command to a meter of a polled terminal through its lane, so it queues
   * behind the request in flight on the terminal's one connection instead of opening another.
   */
  executeNow(terminalId: string, command: DeviceCommand, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<DeviceControlState> {
    const lane = this.#urgentLane(terminalId);
    if (lane instanceof Error) return Promise.reject(lane);
    const base = this.#basePolicy(lane);
    return queueCommand(lane, command, options.timeoutMs ?? base.timeoutMs, options.signal);
  }

  /**
   * Runs `work` on the terminal's session through its lane, like a command: for a protocol's
   * own requests (the DLMS push intake reads a meter's push object lists this way), so they
   * share the terminal's one connection with polling instead of opening another.
   */
  sessionNow<T>(
    terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<T> {
    const lane = this.#urgentLane(terminalId);
    if (lane instanceof Error) return Promise.reject(lane);
    return queueSessionWork(lane, what, options.timeoutMs ?? this.#basePolicy(lane).timeoutMs, options.signal, work);
  }

  /**
   * Runs `work` on the terminal's session through its lane behind every read and command
   * (queueBackgroundWork): one slice of long work such as a firmware transfer. At most
   * `maxBackgroundQueued` (default 2) slices wait per terminal; more is CollectBusyError.
   */
  sessionInBackground<T>(
    terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<T> {
    const lane = this.#urgentLane(terminalId);
    if (lane instanceof Error) return Promise.reject(lane);
    const limit = this.#o.maxBackgroundQueued ?? 2;
    if (lane.backgroundQueued >= limit) return Promise.reject(new CollectBusyError(terminalId, limit, 'background slices'));
    return queueBackgroundWork(lane, what, options.timeoutMs ?? this.#basePolicy(lane).timeoutMs, options.signal, work);
  }

  /** Reads a stored profile of one meter now, queued like an on-demand read (no retry); entries also go to the sink. */
  profileNow(terminalId: string, request: ProfileRequest, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<ProfileOutcome> {
    const lane = this.#urgentLane(terminalId);
    if (lane instanceof Error) return Promise.reject(lane);
    const base = this.#basePolicy(lane);
    this.#counters.onDemand++;
    return queueProfile(lane, request, { timeoutMs: options.timeoutMs ?? base.timeoutMs, retries: 0, retryBackoffMs: 0 }, options.signal);
  }

  /** A pushing terminal delivered `count` readings at `ts`; false for a terminal not watched as pushing. */
  notePush(terminalId: string, count: number, ts: number = this.#clock.now()): boolean {
    const lane = this.#lanes.get(terminalId);
    // A polled terminal that also pushes (e.g. a DLMS data-notification) is alive; its rate stays poll-based.
    if (lane !== undefined) {
      this.#emit(lane.health.succeeded(ts, 'push received'));
      return true;
    }
    return this.#push.notePush(terminalId, count, ts);
  }

  /** A pushing terminal's status message (MQTT birth / last will). */
  noteStatus(terminalId: string, online: boolean, ts: number = this.#clock.now()): boolean {
    return this.#push.noteStatus(terminalId, online, ts);
  }

  terminalState(terminalId: string): TerminalState | undefined {
    return this.#lanes.get(terminalId)?.health.snapshot() ?? this.#push.state(terminalId);
  }

  states(): TerminalState[] {
    return [...this.#lanes.values()].map((l) => l.health.snapshot()).concat(this.#push.states());
  }

  counters(): Readonly<CollectCounters> & {
    readonly permitsInUse: number; readonly permitsWaiting: number; readonly sessionsOpen: number; readonly sessionsKept: number;
  } {
    return {
      ...this.#counters, permitsInUse: this.#permits.inUse, permitsWaiting: this.#permits.waiting,
      sessionsOpen: this.#sessions.open, sessionsKept: this.#sessions.kept,
    };
  }

  /** When the terminal's next scheduled cycle is due, the soonest of its profiles'. */
  #nextDue(id: string): number | undefined {
    const lane = this.#lanes.get(id);
    if (lane === undefined) return undefined;
    const now = this.#clock.now();
    let soonest: number | undefined;
    for (const name of lane.terminal.profiles) {
      const due = this.#cycles.get(name)?.nextDue(id, now);
      if (due !== undefined && (soonest === undefined || due < soonest)) soonest = due;
    }
    return soonest;
  }

  #syncAll(): void {
    const seen = new Set<string>();
    for (const t of this.#o.topology.terminals()) {
      seen.add(t.id);
      this.#sync(t.id, t);
    }
    for (const id of [...this.#lanes.keys(), ...this.#push.ids(), ...this.#elsewhere]) if (!seen.has(id)) this.#sync(id, undefined);
  }

  #sync(id: string, t: Terminal | undefined): void {
    const active = t?.enabled === true ? t : undefined;
    const adapter = active === undefined ? undefined : this.#o.adapters[active.protocol];
    // The adapter says how its terminals are collected: read in a lane, or watched as they push.
    const pollable = adapter?.capabilities.pollable === true;
    // Pollable, but the placement puts it on another node, which polls it.
    const elsewhere = pollable && this.#o.placement?.owns(id) === false;
    const polled = pollable && !elsewhere;
    const pushed = adapter?.capabilities.pollable === false;
    if (elsewhere) this.#elsewhere.add(id);
    else this.#elsewhere.delete(id);
    const lane = this.#lanes.get(id);
    if (lane !== undefined && !polled) {
      if (elsewhere) this.#retire(lane, new PlacedElsewhereError(id), this.#o.handoverMs ?? 0);
      else this.#retire(lane, new UnknownTerminalError(id), 0);
    }
    if (!pushed) this.#push.remove(id);
    if (active === undefined) {
      this.#reported.delete(id);
      return;
    }
    if (adapter === undefined) {
      this.#reportOnce(id, 'adapter', new NoAdapterError(id, active.protocol));
    } else if (elsewhere) {
      // Another node polls it.
    } else if (pushed) {
      this.#push.sync(active);
    } else if (lane === undefined) {
      const created = new TerminalLane(active, this.#laneDeps(adapter));
      this.#lanes.set(id, created);
      const handoverMs = this.#o.handoverMs ?? 0;
      if (handoverMs > 0) this.#notBefore.set(id, this.#clock.now() + handoverMs);
      this.#join(id, [], active.profiles);
    } else {
      const before = lane.terminal.profiles;
      lane.update(active);
      this.#join(id, before, active.profiles);
    }
  }

  /**
   * The lanes of one adapter share one deps object: a hundred thousand lanes each holding its
   * own copy (and two closures keeping `#sync`'s scope alive) cost some 350 bytes a terminal.
   */
  #laneDeps(adapter: TransportAdapter): LaneDeps {
    let deps = this.#depsByAdapter.get(adapter);
    if (deps === undefined) {
      deps = {
        clock: this.#clock,
        permits: this.#permits,
        adapter,
        deliver: (batch, terminal) => this.#deliver(batch, terminal),
        fault: (err) => {
          this.#fault(err);
        },
        sessions: this.#sessions,
        counters: this.#counters,
      };
      this.#depsByAdapter.set(adapter, deps);
    }
    return deps;
  }

  #join(id: string, before: readonly string[], after: readonly string[]): void {
    for (const name of before) if (!after.includes(name)) this.#cycles.get(name)?.remove(id);
    for (const name of after) {
      const cycle = this.#cycles.get(name);
      if (cycle === undefined) this.#reportOnce(id, `profile:${name}`, new UnknownProfileError(id, name));
      else cycle.add(id);
    }
  }

  /** Takes the lane out of every cycle; the request on the wire is cut at once, or after `graceMs`. */
  #retire(lane: TerminalLane, reason: Error, graceMs: number): void {
    const id = lane.terminal.id;
    this.#lanes.delete(id);
    this.#notBefore.delete(id);
    for (const c of this.#cycles.values()) c.remove(id);
    const p = lane.retire(reason, graceMs);
    this.#retiring.set(lane, p);
    void p.finally(() => this.#retiring.delete(lane));
  }

  #due(id: string, profileName: string, cycleStart: number): void {
    const lane = this.#lanes.get(id);
    const profile = this.#o.config.profiles[profileName];
    if (lane === undefined || profile === undefined) return;
    const notBefore = this.#notBefore.get(id);
    if (notBefore !== undefined) {
      // Just placed here: this cycle is the previous node's (not counted against either).
      if (this.#clock.now() < notBefore) return;
      this.#notBefore.delete(id);
    }
    const kind = profile.profile;
    if (kind !== undefined) {
      const meters = this.#o.topology.metersOf(id);
      this.#enqueueCycle(lane, profileName, meters, meters.length, cycleStart, (signal) => runStoredProfileCycle(lane, kind, profile, meters, cycleStart, signal, {
        clock: this.#clock, cursors: this.#cursors, counters: this.#counters, stats: this.#o.stats,
        offlineAfterFailures: this.#o.config.offlineAfterFailures, emit: (c) => { this.#emit(c); },
      }));
      return;
    }
    let items: ReadItem[];
    let meters: readonly Meter[];
    try {
      meters = this.#o.topology.metersOf(id);
      items = itemsFor(meters, profile.quantities);
    } catch (err) {
      this.#fault(toError(err));
      return;
    }
    this.#enqueueCycle(lane, profileName, meters, items.length, cycleStart, (signal) => this.#cycle(lane, meters, items, profile, cycleStart, signal));
  }

  /**
   * Queues one cycle of a profile on the terminal's lane. A cycle still queued or running when
   * the next one is due is an overrun: the new one is skipped and counted, never piled up.
   */
  #enqueueCycle(
    lane: TerminalLane, profileName: string, meters: readonly Meter[], expected: number, cycleStart: number, run: (signal: AbortSignal) => Promise<void>,
  ): void {
    if (expected === 0) return;
    if (lane.isBusy(profileName)) {
      this.#counters.overruns++;
      this.#o.stats.record(lane.terminal.id, cycleStart, expected, 0);
      this.#o.stats.recordMeters(meters, cycleStart, () => false);
      return;
    }
    lane.setBusy(profileName, true);
    lane.enqueue({
      run: async (signal) => {
        try {
          await run(signal);
        } finally {
          lane.setBusy(profileName, false);
        }
      },
      cancel: () => {
        lane.setBusy(profileName, false);
      },
    }, 'cycle');
  }

  async #cycle(lane: TerminalLane, meters: readonly Meter[], items: readonly ReadItem[], policy: RequestPolicy, cycleStart: number, signal: AbortSignal): Promise<void> {
    this.#counters.cycles++;
    lane.health.attempted(this.#clock.now());
    const result = await lane.poll(items, policy, signal, false);
    this.#counters.itemsCollected += result.readings.length;
    this.#counters.itemsFailed += result.failures.length;
    // Ended by stop(), the terminal's removal or its handover to another node: neither counted nor held against the terminal.
    if (signal.aborted || lane.retired) return;
    const id = lane.terminal.id;
    this.#o.stats.record(id, cycleStart, items.length, result.readings.length);
    // A meter is read when none of its items failed: every quantity of the cycle came.
    const incomplete = new Set(result.failures.map((f) => f.item.address));
    this.#o.stats.recordMeters(meters, cycleStart, (m) => !incomplete.has(m.address));
    const now = this.#clock.now();
    const failed = result.failures.at(-1);
    if (result.readings.length > 0) {
      if (failed !== undefined) lane.health.noteError(failed.error, now);
      this.#emit(lane.health.succeeded(now, 'poll succeeded'));
    } else {
      this.#counters.cyclesFailed++;
      this.#emit(lane.health.cycleFailed(now, failed?.error ?? new Error('nothing collected'), this.#o.config.offlineAfterFailures));
    }
  }

  async #deliver(batch: readonly RawReading[], terminal: Terminal): Promise<void> {
    try {
      await this.#o.sink(batch, terminal);
    } catch (err) {
      this.#counters.sinkErrors++;
      this.#fault(new SinkError(terminal.id, batch.length, err));
    }
  }

  #emit(change: StateChange | undefined): void {
    if (change === undefined || this.#o.onStateChange === undefined) return;
    try {
      this.#o.onStateChange(change);
    } catch (err) {
      this.#fault(toError(err));
    }
  }

  #reportOnce(terminalId: string, what: string, err: Error): void {
    let seen = this.#reported.get(terminalId);
    if (seen === undefined) this.#reported.set(terminalId, (seen = new Set()));
    if (seen.has(what)) return;
    seen.add(what);
    this.#fault(err);
  }

  #fault(err: Error): void {
    this.#counters.faults++;
    try {
      this.#o.onError?.(err);
    } catch {
      // A failing error listener has nowhere left to report to; the fault is counted above.
    }
  }
}

/** Every quantity of every meter; the meter's address is its address on the terminal. */
export function itemsFor(meters: readonly Meter[], quantities: readonly string[]): ReadItem[] {
  const items: ReadItem[] = [];
  for (const m of meters) for (const quantity of quantities) items.push({ address: m.address, quantity });
  return items;
}
