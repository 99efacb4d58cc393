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
 * node that is; a program awaiting it here hears NOT_PLACED.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { StaleFencingToken } from '../cluster/fencing.js';
import type { Meter } from '../domain/topology.js';
import type { ControlActionStore } from './actions.js';
import { SYSTEM_ACTOR, type AuditLog } from './audit.js';
import { commandErrors } from './commandErrors.js';
import { commandStatus, paramProblems, type Command, type CommandOrigin, type CommandParams, type CommandTarget, type CommandType, type TargetStatus } from './commandModel.js';
import { TargetMoved, type CommandFilter, type CommandStore } from './commandStore.js';
import { CommandDispatcher, THIS_NODE, type CommandPlacement, type CommandRunner, type QueuedTarget } from './dispatcher.js';
import { CommandPickup, type PickupFound } from './pickup.js';
import { ConfirmationTokens, TerminalRateLimit } from './guardRails.js';
import { TRIPPING_COMMANDS, type ControlPort, type ControlRequest, type ControlResult } from './port.js';

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
}

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
  readonly #waiters = new Map<string, (t: CommandTarget) => void>();
  readonly #maxQueued: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #onStoreError: (err: unknown) => void;

  constructor(options: CommandServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#onStoreError = options.onStoreError;
    const s = options.settings;
    this.#maxQueued = options.maxQueuedTargets ?? 100_000;
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
    this.#listening ??= this.#listen();
    await this.#listening;
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

  async #listen(): Promise<{ stop(): Promise<void> } | undefined> {
    const { store } = this.#o;
    if (store.listen === undefined) return undefined;
    return store.listen({
      queued: (id) => { this.#pickup.queued(id).catch(this.#o.onPickupError ?? this.#onStoreError); },
      finished: () => undefined,
      missed: () => { this.#pickup.request(); },
    });
  }

  /** Creates a command, or answers with the one this idempotency key already made, or with a bulk preview. */
  async submit(req: CommandRequest, idempotencyKey: string, who: Principal): Promise<SubmitOutcome> {
    const bodyHash = hashBody(req);
    const prior = await this.#o.store.byIdempotencyKey(who.actor, idempotencyKey);
    if (prior !== undefined && prior.command.createdAt >= this.#now() - this.#o.settings.idempotencyHours * 3_600_000) {
      if (prior.bodyHash !== bodyHash) throw commandErrors.idempotencyConflict(idempotencyKey, prior.command.id);
      return { kind: 'existing', command: prior.command };
    }
    if (prior !== undefined) await this.#o.store.expireIdempotencyKeys(this.#now() - this.#o.settings.idempotencyHours * 3_600_000);
    const params = req.params ?? {};
    const problems = paramProblems(req.type, params);
    if (problems.length > 0) throw commandErrors.badParams(problems);
    const { send, skipped } = await this.#resolve(req, who);
    if (send.length === 0) throw commandErrors.noTargets(skipped.length);
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

  list(filter: CommandFilter): Promise<{ items: Command[]; next: string | null }> {
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
      this.#waiters.get(`${id}/${t.meterId}`)?.(done);
    }
    if (cancelled === 0 && commandStatus(command.targets) !== 'open') throw commandErrors.notCancellable(id);
    await this.#audit(who.actor, who.source, 'command.cancel', `command:${id}`, 'ok', { cancelled });
    return { command: (await this.#o.store.get(id)) ?? command, cancelled };
  }

  /** ControlPort: a load-control program's (or any caller's) single-meter request, awaited to its end. */
  async execute(request: ControlRequest, signal?: AbortSignal): Promise<ControlResult> {
    const actionId = await this.#o.actions?.begin(request, this.#now());
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
    const origin = request.origin;
    const refuse = meter.protected && origin.kind === 'program' && TRIPPING_COMMANDS.has(request.command);
    const command = await this.#create(request.command, params, { meterIds: [meter.id] }, origin, null, refuse ? [] : [meter], refuse ? [meter] : [], {
      reason: request.reason, overrideReason: null, idempotencyKey: null, bodyHash: null,
    });
    if (refuse) {
      return { status: 'refused', error: { code: 'PROTECTED_METER', message: `meter ${meter.id} is protected (保电): a program may not ${request.command} it` } };
    }
    // Stored for the node its terminal is placed on, which sends it; this node has no outcome to wait for.
    if (!this.#dispatcher.knows(command.id, meter.id)) return { status: 'failed', error: notPlacedError(meter.terminalId) };
    const key = `${command.id}/${meter.id}`;
    const final = await new Promise<CommandTarget>((resolve) => {
      const onAbort = (): void => {
        if (!this.#dispatcher.withdraw(command.id, meter.id)) return;
        this.#waiters.delete(key);
        const at = this.#now();
        const error = { code: 'ABORTED', message: 'the caller gave up before it was sent' };
        this.#o.store.transition(command.id, meter.id, 'cancelled', at, { error }).then(resolve, (err: unknown) => {
          // Withdrawn, so never sent; the store still says pending, and a restart would send it.
          this.#onStoreError(err);
          const target = command.targets.find((t) => t.meterId === meter.id);
          if (target !== undefined) resolve({ ...target, status: 'cancelled', error, updatedAt: at });
        });
      };
      this.#waiters.set(key, (t) => {
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(key);
        resolve(t);
      });
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    const state = final.state ?? undefined;
    if (final.status === 'verified') return { status: 'verified', ...(state === undefined ? {} : { state }) };
    return { status: 'failed', ...(state === undefined ? {} : { state }), error: final.error ?? { code: final.status.toUpperCase(), message: final.status } };
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

  /** Left pending for the node placed on its terminal: whoever waits here hears that this node could not act, not that the command failed. */
  #notPlaced(t: QueuedTarget, refusal: StaleFencingToken | undefined): void {
    this.#o.onNotPlaced?.(t, refusal);
    const waiter = this.#waiters.get(`${t.commandId}/${t.meterId}`);
    if (waiter === undefined) return;
    const at = this.#now();
    waiter({
      meterId: t.meterId, terminalId: t.terminalId, address: t.address, status: 'pending', state: null, updatedAt: at, transitions: [],
      error: refusal === undefined ? notPlacedError(t.terminalId) : { code: 'NOT_PLACED', message: refusal.message },
    });
  }

  /** The outcome is stored already (the dispatcher did it); this audits it and answers whoever waits. */
  async #final(t: QueuedTarget, result: CommandTarget): Promise<void> {
    try {
      const command = await this.#o.store.get(t.commandId);
      if (command !== undefined) await this.#auditOutcome(command, result, t.job === 'reverify' ? { reverified: true } : {});
    } catch (err) {
      this.#onStoreError(err);
    }
    this.#waiters.get(`${t.commandId}/${t.meterId}`)?.(result);
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

function auditOutcomeOf(status: TargetStatus): 'ok' | 'failed' | 'refused' {
  if (status === 'verified') return 'ok';
  return status === 'refused' ? 'refused' : 'failed';
}

function actorOf(origin: CommandOrigin): string {
  return origin.kind === 'operator' ? origin.actor : `${SYSTEM_ACTOR}:program:${origin.id}`;
}

/** Hash of everything that makes two requests "the same command" (the confirmation token excluded). */
export function hashBody(req: CommandRequest): string {
  const canonical = {
    type: req.type,
    meterIds: req.meterIds === undefined ? null : [...new Set(req.meterIds)].sort(),
    areaId: req.areaId ?? null,
    limitKw: req.params?.limitKw ?? null,
    time: req.params?.time ?? null,
    reason: req.reason ?? null,
    override: req.override?.reason ?? null,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
