/**
 * The command service: the one place that acts on meters for operators (API, CLI) and for
 * load-control programs (it implements ControlPort). It resolves targets, applies the guard
 * rails (protected meters, bulk confirmation, idempotency), persists every command and every
 * per-meter transition, and hands targets to the dispatcher, which sends them through the
 * collector's lanes under per-terminal rate limits.
 *
 * A command is accepted, validated, stored and audited on whichever node the request reached;
 * the node its targets' terminals are placed on sends them (`placement`; pickup.ts says how
 * it finds them: at its start, on a notification, at a takeover, by a slow backstop poll).
 * Start and takeover (`start()`, `placementChanged()`): pending targets are queued; targets a
 * previous executor left `sent` or `acknowledged` are NOT resent — they are marked failed
 * (INTERRUPTED), then a re-verification read of the relay or limit marks them verified when
 * the device already shows the requested state (sync-clock cannot be re-verified without
 * acting and stays failed).
 *
 * A target whose terminal is not placed on this node is left pending in the store for the
 * node that is. A program's request (`execute`) awaits its outcome wherever it executes: on a
 * shared store the other node's `finished` news wakes the wait, which reads the target again;
 * the wait is bounded (`remoteWaitMs`), and past it the program hears REMOTE_WAIT_TIMEOUT while
 * the command finishes on its own. On the embedded store (one node) a target not placed here has
 * nobody to finish it in this process: the program hears NOT_PLACED at once.
 *
 * A program's request with an idempotency key (derived from the program's stored state, the
 * same on the node that takes the program over) makes at most one command: asked again, after a
 * restart or on a new leader, it awaits the command the key made, which the node placed on the
 * terminal takes up as any open command (pending: sent once; sent: verified by reading back).
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StaleFencingToken } from '../cluster/fencing.js';
import { ValidationError } from '../domain/errors.js';
import type { Meter } from '../domain/topology.js';
import type { ControlActionStore } from './actions.js';
import { SYSTEM_ACTOR, type AuditLog } from './audit.js';
import { commandErrors } from './commandErrors.js';
import { ACCOUNT_COMMANDS, commandStatus, outcomeKnown, paramProblems, type Command, type CommandOrigin, type CommandParams, type CommandTarget, type CommandType, type TargetStatus } from './commandModel.js';
import { TargetMoved, type CommandFilter, type CommandStore, type IdempotentCommand } from './commandStore.js';
import { CommandDispatcher, THIS_NODE, type CommandPlacement, type CommandRunner, type QueuedTarget } from './dispatcher.js';
import { CommandPickup, type PickupFound } from './pickup.js';
import { ConfirmationTokens, TerminalRateLimit } from './guardRails.js';
import { OutcomeWatch } from './outcomeWatch.js';
import { TRIPPING_COMMANDS, type ControlError, type ControlPort, type ControlRequest, type ControlResult } from './port.js';

export { CommandError } from './commandErrors.js';
export type { CommandPlacement, CommandRunner } from './dispatcher.js';

export interface CommandSettings {
  /** Commands covering more meters than this need a confirmation token. */
  readonly confirmAbove: number;
  readonly perTerminalRatePerMinute: number;
  readonly commandTimeoutMs: number;
  readonly idempotencyHours: number;
  readonly maxConcurrentTerminals: number;
  /** The backstop of the notifications that wake the executing node: it looks for queued commands this often anyway. Default 30 s. */
  readonly backstopPollMs?: number;
  /**
   * How long a program's request awaits the outcome of a target another node executes (or that
   * waits to be taken up here); default `defaultRemoteWaitMs(commandTimeoutMs)`.
   */
  readonly remoteWaitMs?: number;
}

/**
 * The remote wait by default: the send's own timeout, a re-verification read's after a takeover
 * (which first lets the old send's timeout pass), and a margin for notifications and queueing.
 */
export function defaultRemoteWaitMs(commandTimeoutMs: number): number {
  return 2 * commandTimeoutMs + REMOTE_WAIT_MARGIN_MS;
}

/** What the remote wait allows beyond the command's timeouts: the news's way, a lease's takeover, a queue. */
const REMOTE_WAIT_MARGIN_MS = 5_000;

export interface CommandServiceOptions {
  readonly store: CommandStore;
  readonly audit: AuditLog;
  readonly meters: {
    meter(id: string): Meter | undefined;
    /** Meters of the area and its sub-areas; undefined when the area does not exist. */
    metersOfArea(areaId: string): readonly Meter[] | undefined;
  };
  readonly run: CommandRunner;
  readonly settings: CommandSettings;
  readonly now?: () => number;
  /** Program requests are also written to the load-control action log (program history views). */
  readonly actions?: ControlActionStore;
  /** Confirmation tokens live this long; default 2 minutes. */
  readonly confirmationTtlMs?: number;
  /** Targets waiting to be sent, at most; default 100,000. */
  readonly maxQueuedTargets?: number;
  /** A store or audit write failed (the dispatcher retries its writes); log it throttled. */
  readonly onStoreError: (err: unknown) => void;
  /** Wait between attempts of a failed store write; default 1 s. */
  readonly storeRetryMs?: number;
  /** Which node sends to which terminal, under which token; this node to all, unfenced, when absent (`single` mode). */
  readonly placement?: CommandPlacement;
  /** A target this node queued was left pending for the node placed on its terminal (see the file comment); log it throttled. */
  readonly onNotPlaced?: (target: { readonly commandId: string; readonly meterId: string }, refusal: StaleFencingToken | undefined) => void;
  /** A write after a send's claim was refused (its token went stale): left for the new executor to verify. Log it throttled. */
  readonly onRefused?: (target: { readonly commandId: string; readonly meterId: string }, refusal: StaleFencingToken | TargetMoved) => void;
  /** Looking at the store for queued commands failed (tried again at the next poll); log it throttled. Default: `onStoreError`. */
  readonly onPickupError?: (err: unknown) => void;
  /**
   * Whether the terminal's adapter declares payment metering (its meters may keep their own
   * account); read-account and add-credit to a meter whose terminal does not are refused. Absent: none does.
   */
  readonly paymentMetering?: (terminalId: string) => boolean;
}

/** A command request as the API receives it (the route validated its shape). */
export interface CommandRequest {
  readonly type: CommandType;
  readonly meterIds?: readonly string[];
  readonly areaId?: string;
  readonly params?: CommandParams;
  readonly reason?: string;
  readonly override?: { readonly reason: string };
  readonly confirmationToken?: string;
}

export interface Principal {
  readonly actor: string;
  readonly source: string | null;
  readonly isAdmin: boolean;
}

export interface CommandPreview {
  readonly type: CommandType;
  readonly meters: readonly { readonly meterId: string; readonly terminalId: string; readonly customerRef: string | null }[];
  readonly skippedProtected: readonly string[];
  readonly confirmationToken: string;
  readonly expiresAt: number;
}

export type SubmitOutcome =
  | { readonly kind: 'created'; readonly command: Command }
  | { readonly kind: 'existing'; readonly command: Command }
  | { readonly kind: 'preview'; readonly preview: CommandPreview };

export class CommandService implements ControlPort {
  readonly #o: CommandServiceOptions;
  readonly #now: () => number;
  readonly #dispatcher: CommandDispatcher;
  readonly #pickup: CommandPickup;
  readonly #placement: CommandPlacement;
  #listening: Promise<{ stop(): Promise<void> } | undefined> | undefined;
  readonly #confirmations: ConfirmationTokens;
  readonly #watch = new OutcomeWatch();
  readonly #remoteWaitMs: number;
  readonly #maxQueued: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #onStoreError: (err: unknown) => void;

  constructor(options: CommandServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#onStoreError = options.onStoreError;
    const s = options.settings;
    this.#maxQueued = options.maxQueuedTargets ?? 100_000;
    this.#remoteWaitMs = s.remoteWaitMs ?? defaultRemoteWaitMs(s.commandTimeoutMs);
    this.#confirmations = new ConfirmationTokens(options.confirmationTtlMs ?? 120_000, 10_000, this.#now);
    const rate = new TerminalRateLimit(s.perTerminalRatePerMinute, Math.max(1, Math.ceil(s.perTerminalRatePerMinute / 60)), this.#now);
    this.#placement = options.placement ?? THIS_NODE;
    this.#dispatcher = new CommandDispatcher({
      store: options.store, run: options.run, rate, maxConcurrentTerminals: s.maxConcurrentTerminals,
      commandTimeoutMs: s.commandTimeoutMs, now: this.#now, onFinal: (t, r) => this.#final(t, r), onStoreError: this.#onStoreError,
      ...(options.storeRetryMs === undefined ? {} : { storeRetryMs: options.storeRetryMs }),
      placement: this.#placement,
      onNotPlaced: (t, refusal) => { this.#notPlaced(t, refusal); },
      onRefused: (t, refusal) => {
        options.onRefused?.(t, refusal);
        // This node may be placed on the terminal again under a newer token: then it verifies the send itself.
        this.#pickup.request();
      },
    });
    this.#pickup = new CommandPickup({
      store: options.store, dispatcher: this.#dispatcher, placement: this.#placement, maxQueuedTargets: this.#maxQueued,
      commandTimeoutMs: s.commandTimeoutMs, backstopPollMs: s.backstopPollMs ?? 30_000, now: this.#now,
      onInterrupted: (c, t) => this.#auditOutcome(c, t, { interrupted: true }),
      onDropped: (targets) => { for (const t of targets) this.#notPlaced(t, undefined); },
      onError: options.onPickupError ?? this.#onStoreError,
    });
    this.#sweep = setInterval(() => {
      rate.sweep();
      // Missed once, the keys expire at the next sweep; `submit` checks the age of a key anyway.
      options.store.expireIdempotencyKeys(this.#now() - s.idempotencyHours * 3_600_000).catch(this.#onStoreError);
    }, 60_000);
    this.#sweep.unref();
  }

  /**
   * Starts executing: listens for commands other nodes store (a shared store), settles what a
   * previous executor left open (see the file comment) and sends what is queued for the
   * terminals placed here. Returns what it found. Called again after `stop()`, it does it again.
   */
  async start(): Promise<PickupFound> {
    await this.#listened();
    return this.#pickup.start();
  }

  /** Stops executing (this node stepped down): what is queued stays pending for the node placed on it; sends in flight finish under their token. */
  stop(): void {
    this.#pickup.stop();
  }

  /** Placement changed (areas moved, leadership gained or lost): stops sending for terminals no longer placed here at once, and takes up the ones that now are. */
  placementChanged(): void {
    this.#pickup.placementChanged();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#pickup.close();
    await (await this.#listening?.catch(() => undefined))?.stop();
    await this.#dispatcher.close();
  }

  /** Listens to the store's news once (a shared store): commands to send, targets other nodes finished. */
  async #listened(): Promise<void> {
    this.#listening ??= this.#listen();
    await this.#listening;
  }

  async #listen(): Promise<{ stop(): Promise<void> } | undefined> {
    const { store } = this.#o;
    if (store.listen === undefined) return undefined;
    return store.listen({
      queued: (id) => { this.#pickup.queued(id).catch(this.#o.onPickupError ?? this.#onStoreError); },
      finished: (id, meterId) => { this.#watch.wake(id, meterId); },
      missed: () => {
        this.#pickup.request();
        this.#watch.wakeAll();
      },
    });
  }

  /** Creates a command, or answers with the one this idempotency key already made, or with a bulk preview. */
  async submit(req: CommandRequest, idempotencyKey: string, who: Principal): Promise<SubmitOutcome> {
    const bodyHash = hashBody(req);
    const prior = await this.#prior(who.actor, idempotencyKey);
    if (prior !== undefined) {
      if (prior.bodyHash !== bodyHash) throw commandErrors.idempotencyConflict(idempotencyKey, prior.command.id);
      return { kind: 'existing', command: prior.command };
    }
    const params = req.params ?? {};
    const problems = paramProblems(req.type, params);
    if (problems.length > 0) throw commandErrors.badParams(problems);
    const { send, skipped } = await this.#resolve(req, who);
    if (send.length === 0) throw commandErrors.noTargets(skipped.length);
    if (ACCOUNT_COMMANDS.has(req.type)) {
      const without = send.filter((m) => this.#o.paymentMetering?.(m.terminalId) !== true);
      if (without.length > 0) throw commandErrors.paymentMeteringUnsupported(req.type, without.map((m) => m.id));
    }
    let confirmed = false;
    if (send.length > this.#o.settings.confirmAbove) {
      if (req.confirmationToken === undefined) {
        const { token, expiresAt } = this.#confirmations.issue(who.actor, bodyHash);
        return {
          kind: 'preview',
          preview: {
            type: req.type, meters: send.map((m) => ({ meterId: m.id, terminalId: m.terminalId, customerRef: m.customerRef })),
            skippedProtected: skipped.map((m) => m.id), confirmationToken: token, expiresAt,
          },
        };
      }
      const check = this.#confirmations.redeem(req.confirmationToken, who.actor, bodyHash);
      if (!check.ok) throw commandErrors.confirmation(check.code, check.message);
      confirmed = true;
    }
    if (this.#dispatcher.queued + send.length > this.#maxQueued) throw commandErrors.queueFull(this.#maxQueued);
    const scope = req.areaId !== undefined ? { areaId: req.areaId } : { meterIds: [...new Set(req.meterIds ?? [])] };
    const command = await this.#create(req.type, params, scope, { kind: 'operator', actor: who.actor }, who.source, send, skipped, {
      reason: req.reason ?? null, overrideReason: req.override?.reason ?? null, idempotencyKey, bodyHash,
    });
    const detail = { commandId: command.id, type: req.type, meters: send.length, skippedProtected: skipped.length, reason: req.reason ?? null };
    await this.#audit(who.actor, who.source, 'command.create', `command:${command.id}`, 'ok', detail);
    if (confirmed) await this.#audit(who.actor, who.source, 'command.confirm', `command:${command.id}`, 'ok', detail);
    if (req.override !== undefined) await this.#audit(who.actor, who.source, 'command.override', `command:${command.id}`, 'ok', { ...detail, overrideReason: req.override.reason });
    return { kind: 'created', command };
  }

  get(id: string): Promise<Command | undefined> {
    return this.#o.store.get(id);
  }

  /** Newest first; `before` must name a stored command (a page's `next`), else a ValidationError. */
  async list(filter: CommandFilter): Promise<{ items: Command[]; next: string | null }> {
    // A cursor naming no command would page from nowhere: an empty list that reads as "no commands".
    if (filter.before !== undefined && await this.#o.store.get(filter.before) === undefined) {
      throw new ValidationError('`before` is not a command this API returned', 'before');
    }
    return this.#o.store.list(filter);
  }

  /** Cancels the targets not sent yet; returns the command and how many were cancelled. */
  async cancel(id: string, who: Principal): Promise<{ readonly command: Command; readonly cancelled: number }> {
    const command = await this.#o.store.get(id);
    if (command === undefined) throw commandErrors.notFound(id);
    let cancelled = 0;
    for (const t of command.targets) {
      if (t.status !== 'pending') continue;
      // Queued here or on the node placed on its terminal: cancelled in the store unless a node claimed it first.
      this.#dispatcher.withdraw(id, t.meterId);
      let done: CommandTarget;
      try {
        done = await this.#o.store.transition(id, t.meterId, 'cancelled', this.#now(), { onlyFrom: ['pending'] });
      } catch (err) {
        if (err instanceof TargetMoved) continue;
        throw err;
      }
      cancelled++;
      this.#watch.wake(id, done.meterId);
    }
    if (cancelled === 0 && commandStatus(command.targets) !== 'open') throw commandErrors.notCancellable(id);
    await this.#audit(who.actor, who.source, 'command.cancel', `command:${id}`, 'ok', { cancelled });
    return { command: (await this.#o.store.get(id)) ?? command, cancelled };
  }

  /** ControlPort: a load-control program's (or any caller's) single-meter request, awaited to its end. */
  async execute(request: ControlRequest, signal?: AbortSignal): Promise<ControlResult> {
    // The action log keeps what programs did to meters; reading a meter's own account does nothing to it.
    const actionId = request.command === 'read-account' ? undefined : await this.#o.actions?.begin(request, this.#now());
    const result = await this.#executeOne(request, signal);
    if (actionId !== undefined) await this.#o.actions?.finish(actionId, result, this.#now());
    return result;
  }

  /** Targets waiting to be sent and in flight (metrics, health). */
  load(): { readonly queued: number; readonly inFlight: number } {
    return { queued: this.#dispatcher.queued, inFlight: this.#dispatcher.inFlight };
  }

  async #executeOne(request: ControlRequest, signal: AbortSignal | undefined): Promise<ControlResult> {
    const meter = this.#o.meters.meter(request.meterId);
    if (meter === undefined) return { status: 'failed', error: { code: 'UNKNOWN_METER', message: `meter ${JSON.stringify(request.meterId)} does not exist` } };
    const params = request.limitKw === undefined ? {} : { limitKw: request.limitKw };
    const problems = paramProblems(request.command, params);
    if (problems.length > 0) return { status: 'failed', error: { code: 'BAD_PARAMS', message: problems.map(([p, m]) => `${p}: ${m}`).join('; ') } };
    if (ACCOUNT_COMMANDS.has(request.command) && this.#o.paymentMetering?.(meter.terminalId) !== true) {
      const refused = commandErrors.paymentMeteringUnsupported(request.command, [meter.id]);
      return { status: 'failed', error: { code: refused.code, message: refused.message } };
    }
    const made = await this.#programCommand(request, meter, params);
    if ('conflict' in made) return { status: 'failed', error: made.conflict };
    const { command, fresh } = made;
    const target = command.targets.find((t) => t.meterId === meter.id);
    if (target === undefined) return { status: 'failed', error: { code: 'IDEMPOTENCY_CONFLICT', message: `command ${command.id} made under this key has no target ${meter.id}` } };
    if (target.status === 'refused') {
      return { status: 'refused', commandId: command.id, error: { code: 'PROTECTED_METER', message: `meter ${meter.id} is protected (保电): a program may not ${request.command} it` } };
    }
    if (outcomeKnown(command.type, target)) return resultOf(command.id, target);
    // Made before (another node's, or this node's before a restart): taken up at once when placed here.
    if (!fresh && target.status === 'pending') await this.#pickup.queued(command.id).catch(this.#o.onPickupError ?? this.#onStoreError);
    return resultOf(command.id, await this.#outcome(command, target, signal));
  }

  /**
   * The command for a program's request: the one its idempotency key made already (fresh:
   * false), or a new one stored under the key. Two nodes storing the same key at once: the
   * store's unique key refuses the second insert, which then takes the first's command.
   */
  async #programCommand(request: ControlRequest, meter: Meter, params: CommandParams): Promise<{ readonly command: Command; readonly fresh: boolean } | { readonly conflict: ControlError }> {
    const origin = request.origin;
    const key = request.idempotencyKey;
    // The reason's words (the load now) differ between two asks of one request; the request is what it does.
    const bodyHash = key === undefined ? null : hashBody({ type: request.command, meterIds: [meter.id], params });
    const existing = async (): Promise<{ readonly command: Command; readonly fresh: false } | { readonly conflict: ControlError } | undefined> => {
      if (key === undefined) return undefined;
      const prior = await this.#prior(originIdOf(origin), key);
      if (prior === undefined) return undefined;
      if (prior.bodyHash !== bodyHash) return { conflict: { code: 'IDEMPOTENCY_CONFLICT', message: commandErrors.idempotencyConflict(key, prior.command.id).message } };
      return { command: prior.command, fresh: false };
    };
    const found = await existing();
    if (found !== undefined) return found;
    const refuse = meter.protected && origin.kind === 'program' && TRIPPING_COMMANDS.has(request.command);
    try {
      const command = await this.#create(request.command, params, { meterIds: [meter.id] }, origin, null, refuse ? [] : [meter], refuse ? [meter] : [], {
        reason: request.reason, overrideReason: null, idempotencyKey: key ?? null, bodyHash,
      });
      return { command, fresh: true };
    } catch (err) {
      const raced = await existing();
      if (raced === undefined) throw err;
      return raced;
    }
  }

  /** The command an idempotency key made, while the key lives; an expired key the sweep has not cleared yet is cleared now, so a new command may take it. */
  async #prior(originId: string, key: string): Promise<IdempotentCommand | undefined> {
    const prior = await this.#o.store.byIdempotencyKey(originId, key);
    if (prior === undefined) return undefined;
    const horizon = this.#now() - this.#o.settings.idempotencyHours * 3_600_000;
    if (prior.command.createdAt >= horizon) return prior;
    await this.#o.store.expireIdempotencyKeys(horizon);
    return undefined;
  }

  /**
   * Awaits the target's outcome, reading it from the store at every wake (see OutcomeWatch).
   * Queued or in flight here, the dispatcher bounds it; anywhere else (another node, or here
   * but not taken up yet) the wait is bounded by `remoteWaitMs`, counted from the first look
   * that found it so, and ends with REMOTE_WAIT_TIMEOUT, the command left to finish on its own.
   */
  async #outcome(c: Command, first: CommandTarget, signal: AbortSignal | undefined): Promise<CommandTarget> {
    const { meterId, terminalId } = first;
    let expiry: { readonly expired: Promise<'expired'>; readonly timer: NodeJS.Timeout } | undefined;
    let abortHandled = false;
    let onAbort: (() => void) | undefined;
    const aborted = signal === undefined ? undefined : new Promise<'aborted'>((resolve) => {
      onAbort = () => { resolve('aborted'); };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      for (;;) {
        const wake = this.#watch.next(c.id, meterId);
        try {
          let target: CommandTarget | undefined;
          let readFailed = false;
          try {
            target = await this.#o.store.target(c.id, meterId);
          } catch (err) {
            this.#onStoreError(err);
            readFailed = true;
          }
          if (target !== undefined && outcomeKnown(c.type, target)) return target;
          const local = this.#dispatcher.knows(c.id, meterId);
          // The embedded store, and the terminal placed on no node of this process: nobody here finishes it.
          if (!local && this.#o.store.listen === undefined && this.#placement.fenceFor(terminalId) === undefined) {
            return { ...(target ?? first), error: notPlacedError(terminalId) };
          }
          if (!local && expiry === undefined) {
            await this.#listened();
            let timer!: NodeJS.Timeout;
            const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => { resolve('expired'); }, this.#remoteWaitMs); });
            timer.unref();
            expiry = { expired, timer };
          }
          if (aborted !== undefined && signal?.aborted === true && !abortHandled) {
            abortHandled = true;
            const given = await this.#giveUp(c, meterId, target);
            if (given !== undefined) return given;
          }
          const why = await Promise.race([
            wake.woken.then(() => 'woken' as const),
            ...(local || expiry === undefined ? [] : [expiry.expired]),
            ...(aborted === undefined || abortHandled ? [] : [aborted]),
            ...(readFailed ? [sleep(this.#o.storeRetryMs ?? 1_000, 'retry' as const, { ref: false })] : []),
          ]);
          if (why === 'expired' && !this.#dispatcher.knows(c.id, meterId)) {
            const last = await this.#o.store.target(c.id, meterId).catch(() => undefined);
            if (last !== undefined && outcomeKnown(c.type, last)) return last;
            return remoteTimeout(c.id, last ?? target ?? first, this.#remoteWaitMs, this.#now());
          }
        } finally {
          wake.dispose();
        }
      }
    } finally {
      clearTimeout(expiry?.timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The caller gave up: a target not sent yet is cancelled (withdrawn from this node's queue, or
   * still pending in the store for another node); one sent already is awaited to its outcome
   * (undefined). A cancel the store could not write is answered anyway: the target was withdrawn
   * here, so it is not sent from here, and a restart settles what the store still says.
   */
  async #giveUp(c: Command, meterId: string, seen: CommandTarget | undefined): Promise<CommandTarget | undefined> {
    const withdrawn = this.#dispatcher.withdraw(c.id, meterId);
    if (!withdrawn && seen?.status !== 'pending') return undefined;
    const at = this.#now();
    const error = { code: 'ABORTED', message: 'the caller gave up before it was sent' };
    try {
      return await this.#o.store.transition(c.id, meterId, 'cancelled', at, { error, onlyFrom: ['pending'] });
    } catch (err) {
      if (err instanceof TargetMoved) return undefined;
      this.#onStoreError(err);
      const target = seen ?? c.targets.find((t) => t.meterId === meterId);
      return target === undefined || !withdrawn ? undefined : { ...target, status: 'cancelled', error, updatedAt: at };
    }
  }

  /** Meters to send to, and protected meters skipped; throws for unknown meters and refused protected ones. */
  async #resolve(req: CommandRequest, who: Principal): Promise<{ send: Meter[]; skipped: Meter[] }> {
    let meters: Meter[];
    if (req.areaId !== undefined) {
      const inArea = this.#o.meters.metersOfArea(req.areaId);
      if (inArea === undefined) throw commandErrors.unknownArea(req.areaId);
      meters = [...inArea];
    } else {
      const ids = [...new Set(req.meterIds ?? [])];
      const missing = ids.filter((id) => this.#o.meters.meter(id) === undefined);
      if (missing.length > 0) throw commandErrors.unknownMeters(missing);
      meters = ids.map((id) => this.#o.meters.meter(id)).filter((m): m is Meter => m !== undefined);
    }
    if (req.override !== undefined && !who.isAdmin) throw commandErrors.overrideForbidden();
    const guarded = req.type === 'disconnect' && req.override === undefined;
    const skipped = guarded ? meters.filter((m) => m.protected) : [];
    // Named explicitly, a protected meter is a mistake to point out; in an area it is skipped.
    if (skipped.length > 0 && req.areaId === undefined) {
      await this.#audit(who.actor, who.source, 'command.refused', null, 'refused', { type: req.type, protected: skipped.map((m) => m.id) });
      throw commandErrors.protectedMeters(skipped.map((m) => m.id));
    }
    return { send: guarded ? meters.filter((m) => !m.protected) : meters, skipped };
  }

  async #create(type: CommandType, params: CommandParams, scope: Command['scope'], origin: CommandOrigin, source: string | null, send: readonly Meter[], skipped: readonly Meter[],
    extra: { reason: string | null; overrideReason: string | null; idempotencyKey: string | null; bodyHash: string | null }): Promise<Command> {
    const id = `cmd-${randomUUID()}`;
    const refused = { code: 'PROTECTED_METER', message: 'protected meter (保电): skipped without an admin override' };
    // Stored before anything is queued: a command the store refused is never sent.
    await this.#o.store.insert({
      id, type, params, scope, origin, source, createdAt: this.#now(), ...extra,
      targets: [
        ...send.map((m) => ({ meterId: m.id, terminalId: m.terminalId, address: m.address, status: 'pending' as const })),
        ...skipped.map((m) => ({ meterId: m.id, terminalId: m.terminalId, address: m.address, status: 'refused' as const, error: refused })),
      ],
    });
    const command = await this.#o.store.get(id);
    if (command === undefined) throw new Error(`command ${id} vanished after insert`);
    for (const t of command.targets) if (t.status === 'refused') await this.#auditOutcome(command, t);
    // The targets placed here are sent from here at once; the others wait in the store for their node, which the store notifies.
    for (const m of send) {
      const target: QueuedTarget = { commandId: id, meterId: m.id, terminalId: m.terminalId, address: m.address, type, params, job: 'send' };
      if (this.#placement.fenceFor(m.terminalId) !== undefined) this.#dispatcher.enqueue(target);
    }
    this.#dispatcher.pump();
    return command;
  }

  /** Left pending for the node placed on its terminal: whoever waits here goes on waiting for that node's outcome, bounded. */
  #notPlaced(t: QueuedTarget, refusal: StaleFencingToken | undefined): void {
    this.#o.onNotPlaced?.(t, refusal);
    this.#watch.wake(t.commandId, t.meterId);
  }

  /** The outcome is stored already (the dispatcher did it); this audits it and answers whoever waits. */
  async #final(t: QueuedTarget, result: CommandTarget): Promise<void> {
    try {
      const command = await this.#o.store.get(t.commandId);
      if (command !== undefined) await this.#auditOutcome(command, result, t.job === 'reverify' ? { reverified: true } : {});
    } catch (err) {
      this.#onStoreError(err);
    }
    this.#watch.wake(t.commandId, result.meterId);
  }

  async #auditOutcome(c: Command, t: CommandTarget, extra: Record<string, unknown> = {}): Promise<void> {
    const outcome = auditOutcomeOf(t.status);
    await this.#audit(actorOf(c.origin), c.source, `command.${c.type}`, `meter:${t.meterId}`, outcome, {
      commandId: c.id, status: t.status, ...(t.error === null ? {} : { error: t.error }), ...(t.state === null ? {} : { state: t.state }),
      ...(c.overrideReason === null ? {} : { overrideReason: c.overrideReason }), ...extra,
    });
  }

  async #audit(actor: string, source: string | null, action: string, target: string | null, outcome: 'ok' | 'failed' | 'refused', detail: Record<string, unknown>): Promise<void> {
    await this.#o.audit.append({ actor, source, action, target, outcome, detail });
  }
}

function notPlacedError(terminalId: string): { code: string; message: string } {
  return { code: 'NOT_PLACED', message: `terminal ${terminalId} is not placed on this node now: the command is stored, and the node it is placed on sends it` };
}

/** A program's result from its target's outcome. */
function resultOf(commandId: string, t: CommandTarget): ControlResult {
  const state = t.state ?? undefined;
  if (t.status === 'verified') return { status: 'verified', commandId, ...(state === undefined ? {} : { state }) };
  return { status: 'failed', commandId, ...(state === undefined ? {} : { state }), error: t.error ?? { code: t.status.toUpperCase(), message: t.status } };
}

/** The remote wait ran out: the target as last seen, timed out for this caller only (the store keeps it as it is). */
function remoteTimeout(commandId: string, seen: CommandTarget, waitedMs: number, at: number): CommandTarget {
  const error = {
    code: 'REMOTE_WAIT_TIMEOUT',
    message: `no outcome of command ${commandId} for meter ${seen.meterId} within ${String(waitedMs)} ms (it is ${seen.status}; terminal ${seen.terminalId}): `
      + 'it finishes on its own on the node its terminal is placed on (control.remoteWaitMs)',
  };
  return { ...seen, status: 'timed-out', error, updatedAt: at };
}

function originIdOf(origin: CommandOrigin): string {
  return origin.kind === 'operator' ? origin.actor : origin.id;
}

function auditOutcomeOf(status: TargetStatus): 'ok' | 'failed' | 'refused' {
  if (status === 'verified') return 'ok';
  return status === 'refused' ? 'refused' : 'failed';
}

/** Workflows act through the program origin (the same guard rails); their audit actor is the instance itself, as they name it. */
const WORKFLOW_ACTOR_PREFIX = 'workflow:';

function actorOf(origin: CommandOrigin): string {
  if (origin.kind === 'operator') return origin.actor;
  return origin.id.startsWith(WORKFLOW_ACTOR_PREFIX) ? origin.id : `${SYSTEM_ACTOR}:program:${origin.id}`;
}

/** Hash of everything that makes two requests "the same command" (the confirmation token excluded). */
export function hashBody(req: CommandRequest): string {
  const canonical = {
    type: req.type,
    meterIds: req.meterIds === undefined ? null : [...new Set(req.meterIds)].sort(),
    areaId: req.areaId ?? null,
    limitKw: req.params?.limitKw ?? null,
    time: req.params?.time ?? null,
    // Absent for the other types, so their hashes (and the keys stored with them) are as before.
    ...(req.params?.amountMinor === undefined ? {} : { amountMinor: req.params.amountMinor }),
    ...(req.params?.currency === undefined ? {} : { currency: req.params.currency }),
    ...(req.params?.token === undefined ? {} : { token: req.params.token }),
    reason: req.reason ?? null,
    override: req.override?.reason ?? null,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
