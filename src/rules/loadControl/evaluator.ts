/**
 * Runs the load-control programs: every tick it measures each program's load from live
 * values, steps its state machine (machine.ts), performs the effects (alarm signals, rounds
 * through the control port, restores) and persists the state. Time comes from `now`.
 *
 * A program works on one thing at a time: while a round or a restore is in progress its
 * ticks are skipped. Config `enabled` is only the initial state: enable/disable through the
 * API persist across restarts. Dry-run programs go through every state and record what they
 * would have done (status 'dry-run', or 'refused' for a protected meter) without a command.
 *
 * Under a leader lease (`leadership`) only the leader acts: a node that does not lead skips
 * its ticks, and every state a program stores, a round above all, carries the leader's token.
 * A save the store refuses (a newer leader exists, this one was paused or cut off) stops the
 * program on this node before the effects that state would lead to; when this node leads again
 * under a newer token, it takes the program up from the state the store holds.
 *
 * Every request to the control port carries an idempotency key made of what the stored state
 * says the request is (requestKey): a round resumed after a restart or by a new leader asks
 * again for the meters it has no result for with the same keys, so it awaits the commands the
 * round made before instead of sending them twice.
 *
 * A purchase-energy program's purchases live in the store beside its state: a top-up is
 * recorded by whichever node takes it (`purchase`), and every tick sums them again, so the
 * leader sees a top-up taken anywhere and a new leader starts from all of them.
 */
import type { RegisterRules } from '../../billing/replacements.js';
import { StaleFencingToken, type Leadership } from '../../cluster/fencing.js';
import { wattHoursOf } from '../../config/loadControl.js';
import type { LoadControlProgramConfig } from '../../config/schema.js';
import type { ControlAction } from '../../control/actions.js';
import type { ControlPort } from '../../control/port.js';
import { DEFAULT_AREA_LOAD, type AlarmSignal, type AlarmSubject, type AreaId, type AreaLoadSettings, type MeterId } from '../../domain/index.js';
import { explained } from '../detectors/condition.js';
import { say, type ExplanationArg, type ExplanationPart } from '../explanation.js';
import {
  clearExplanation, enoughEnergyExplanation, lowEnergyExplanation, preview, raiseExplanation, restoredAction, restoreFailedExplanation, roundExplanation,
  type ProgramPreview,
} from './explain.js';
import { basisOf, floatingLimit, targetAt, type Target } from './limits.js';
import { initialState, nextRound, step, type Effect, type ProgramState, type TrippedAction } from './machine.js';
import { boundMeters, measure, type EnergyCount, type LiveValues, type MeterDirectory } from './measure.js';
import {
  crossedThresholds, kwhOf, PurchaseError, purchaseOutcome, purchaseView, purchaseWh, type PurchaseRequest, type PurchaseView,
} from './purchases.js';
import type { Purchase, ProgramStateStore, PurchaseTotal } from './stateStore.js';

export interface LoadControlOptions {
  readonly programs: readonly LoadControlProgramConfig[];
  readonly port: ControlPort;
  readonly live: LiveValues;
  readonly meters: MeterDirectory;
  /** The station's one definition of area load: freshness and the meters an area leaves out; default DEFAULT_AREA_LOAD. */
  readonly areaLoad?: AreaLoadSettings;
  readonly store: ProgramStateStore;
  readonly utcOffsetMinutes: number;
  readonly onSignal: (signal: AlarmSignal) => void;
  readonly now?: () => number;
  /** A fault that is not a device's answer (a store write failed, a bug): the station logs it. */
  readonly onError?: (programId: string, err: Error) => void;
  /** The action log of a program, newest first, for the API. */
  readonly history?: (programId: string, limit: number) => Promise<readonly ControlAction[]>;
  /** Meters one round acts on at once (default 8). */
  readonly roundConcurrency?: number;
  /** The leader lease the node runs under; absent in `single` mode, where the programs always act. */
  readonly leadership?: Leadership;
  /** A program stopped on this node: its state was not stored under a current token (a refusal, or none to carry). Log it. */
  readonly onFenced?: (programId: string, refusal: StaleFencingToken | undefined) => void;
  /** How register deltas are read (rollover, meter replacements): billing's rules; default: never wraps, nothing replaced. */
  readonly registers?: RegisterRules;
  /** The most kWh one purchase may load (`loadControl.maxPurchaseKwh`, default 100,000). */
  readonly maxPurchaseKwh?: number;
}

export interface ProgramView {
  readonly id: string;
  readonly name: string;
  readonly kind: LoadControlProgramConfig['kind'];
  readonly dryRun: boolean;
  readonly state: ProgramState['phase'];
  readonly round: number;
  readonly since: number;
  readonly load: number | null;
  readonly limit: number | null;
  readonly unit: 'kW' | 'kWh';
  readonly basis: string;
  /** The present basis as explanation data, for the reader's language. */
  readonly basisData: ExplanationPart;
  readonly overSince: number | null;
  readonly nextRound: { readonly round: number; readonly dueAt: number | null } | null;
}

export interface ProgramDetail extends ProgramView {
  /** Actions in force (what a restore would undo), with their results. */
  readonly tripped: readonly TrippedAction[];
  /** The program's control requests from the action log, newest first. */
  readonly actions: readonly ControlAction[];
  /** purchase-energy: purchased, consumed and remaining kWh, and the latest purchases. */
  readonly purchase?: PurchaseView;
}

export interface PurchaseOutcome {
  /** `existing`: this purchase was loaded before (a retry); nothing was added. */
  readonly kind: 'created' | 'existing';
  readonly purchase: Purchase;
  readonly program: ProgramDetail;
}

/** Floating-down samples kept per program, at most (bounds memory whatever the tick and window). */
const MAX_SAMPLES = 4_000;
const RESTORE_RETRY_MIN_MS = 30_000;
const RESTORE_RETRY_MAX_MS = 600_000;
/** Failed restores in a row after which the signal says an operator must look. */
const RESTORE_ALERT_AFTER = 3;
/** Purchases a program's detail lists, newest first. */
const PURCHASES_SHOWN = 100;

interface Program {
  readonly config: LoadControlProgramConfig;
  state: ProgramState;
  busy: Promise<void> | undefined;
  samples: { t: number; kw: number }[];
  target: Target;
  /** The program's store writes, in order: each awaits the one before, so an older state never lands after a newer one. */
  saving: Promise<boolean>;
  /**
   * Set when a save was refused for want of a current token: the program acts no more on this
   * node until it leads under a token above this one (−∞: it had none to carry).
   */
  fencedAt: number | undefined;
  /** purchase-energy: the configured load and every top-up in the store, Wh; it only grows. */
  purchasedWh: number;
  purchaseCount: number;
}

export class LoadControlEvaluator {
  private readonly programs = new Map<string, Program>();
  /** The leader token this node last acted under; a different one is a new term. */
  #actingToken: number | undefined;
  readonly #restored: Promise<void>;
  private readonly now: () => number;
  private readonly areaLoad: AreaLoadSettings;

  constructor(private readonly o: LoadControlOptions) {
    this.now = o.now ?? Date.now;
    this.areaLoad = o.areaLoad ?? DEFAULT_AREA_LOAD;
    this.#restored = this.#restore();
    // Surfaced through `ready()`, which every asynchronous entry point awaits; this only keeps
    // Node from calling the rejection unhandled before the first of them runs.
    this.#restored.catch(() => undefined);
  }

  /**
   * Resolves once every program's stored state is loaded; rejects when the store cannot be read
   * (the start stops). `list` and `preview` answer from memory: call them after this resolved.
   */
  ready(): Promise<void> {
    return this.#restored;
  }

  async #restore(): Promise<void> {
    const t = this.now();
    const stored = await Promise.all(this.o.programs.map((config) => this.o.store.load(config.id)));
    this.o.programs.forEach((config, i) => {
      let state = stored[i] ?? initialState(config.enabled, t);
      if (config.kind === 'floating-down' && state.phase !== 'disabled' && state.floating === null) state = { ...state, floating: { armedAt: t, limitKw: null } };
      this.programs.set(config.id, {
        config, state, busy: undefined, samples: [],
        target: { limit: undefined, unit: config.kind === 'monthly-energy' || config.kind === 'purchase-energy' ? 'kWh' : 'kW', ...basisOf(say('lc-basis.unevaluated')`not evaluated yet`) },
        saving: Promise.resolve(true), fencedAt: undefined, purchasedWh: initialWh(config), purchaseCount: 0,
      });
    });
    if (this.#purchasing) this.#learnPurchases(await this.o.store.purchaseTotals());
  }

  /** Some program counts purchases. */
  get #purchasing(): boolean {
    return this.o.programs.some((c) => c.kind === 'purchase-energy');
  }

  #learnPurchases(totals: ReadonlyMap<string, PurchaseTotal>): void {
    for (const p of this.programs.values()) {
      const total = totals.get(p.config.id);
      if (p.config.kind !== 'purchase-energy' || total === undefined) continue;
      // Purchases are only ever added: a sum read before a top-up this node just stored never takes it back.
      p.purchasedWh = Math.max(p.purchasedWh, initialWh(p.config) + total.wh);
      p.purchaseCount = Math.max(p.purchaseCount, total.count);
    }
  }

  /** Evaluates every program not busy; resolves when the work this tick started has finished. */
  async tick(): Promise<void> {
    await this.#restored;
    const { leadership } = this.o;
    const fence = leadership?.fence();
    // A node that does not lead leaves the programs to the leader, machines untouched.
    if (leadership !== undefined && fence === undefined) return;
    if (fence !== undefined && fence.token !== this.#actingToken) {
      // A new term for this node: another node may have led since this one last read the
      // store (a standby taking over), so every program is first taken up from what the store
      // holds, never from what this node remembers.
      for (const p of this.programs.values()) p.fencedAt ??= Number.NEGATIVE_INFINITY;
      this.#actingToken = fence.token;
    }
    // Top-ups another node took reach the programs here; without the sum a purchase program waits.
    let purchasesKnown = true;
    if (this.#purchasing) {
      try {
        this.#learnPurchases(await this.o.store.purchaseTotals());
      } catch (err) {
        purchasesKnown = false;
        for (const p of this.programs.values()) if (p.config.kind === 'purchase-energy') this.fault(p, err);
      }
    }
    const t = this.now();
    const started: Promise<void>[] = [];
    for (const p of this.programs.values()) {
      if (p.busy !== undefined) continue;
      if (!purchasesKnown && p.config.kind === 'purchase-energy') continue;
      if (p.fencedAt !== undefined && (fence === undefined || fence.token <= p.fencedAt)) continue;
      const work = (p.fencedAt === undefined ? this.evaluate(p, t) : this.takeUp(p).then(() => this.evaluate(p, t))).catch((err: unknown) => { this.fault(p, err); }).finally(() => { p.busy = undefined; });
      p.busy = work;
      started.push(work);
    }
    await Promise.all(started);
  }

  /** Resolves when every program's work in progress has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.programs.values()].flatMap((p) => (p.busy === undefined ? [] : [p.busy])));
  }

  list(): ProgramView[] {
    return [...this.programs.values()].map((p) => this.view(p));
  }

  async get(id: string): Promise<ProgramDetail | undefined> {
    await this.#restored;
    const p = this.programs.get(id);
    if (p === undefined) return undefined;
    const actions = (await this.o.history?.(id, 100)) ?? [];
    if (p.config.kind !== 'purchase-energy') return { ...this.view(p), tripped: p.state.tripped, actions };
    const latest = await this.o.store.purchases(id, PURCHASES_SHOWN);
    const purchase = purchaseView({
      purchasedWh: p.purchasedWh, initialWh: initialWh(p.config), consumed: p.state.purchase?.consumed, warnKwh: p.config.warnKwh ?? [],
      warned: p.state.purchase?.warned ?? [], purchaseCount: p.purchaseCount, latest,
    });
    return { ...this.view(p), tripped: p.state.tripped, actions, purchase };
  }

  /**
   * Loads a top-up into a purchase-energy program, once (purchases.ts): stored before it is
   * answered; the next tick counts it, and restores the program if it leaves energy to use.
   * Undefined for an unknown program; throws ValidationError or PurchaseError.
   */
  async purchase(id: string, request: PurchaseRequest, idempotencyKey: string, actor: string): Promise<PurchaseOutcome | undefined> {
    await this.#restored;
    const p = this.programs.get(id);
    if (p === undefined) return undefined;
    if (p.config.kind !== 'purchase-energy') throw new PurchaseError('NOT_PURCHASE_PROGRAM', 409, `program ${JSON.stringify(id)} is a ${p.config.kind} program: only a purchase-energy program takes purchases`);
    const asked: Purchase = { purchaseId: request.purchaseId, wh: purchaseWh(request.kwh, this.o.maxPurchaseKwh ?? 100_000), idempotencyKey, actor, at: this.now() };
    const record = await this.o.store.addPurchase(id, asked);
    const kind = purchaseOutcome(id, asked, record);
    if (kind === 'created') {
      p.purchasedWh += asked.wh;
      p.purchaseCount += 1;
    }
    const program = await this.get(id);
    if (program === undefined) return undefined;
    return { kind, purchase: record.stored, program };
  }

  /** Arms a disabled program (a floating-down program fixes its limit from the window before now). */
  async enable(id: string): Promise<ProgramDetail | undefined> {
    await this.#restored;
    const p = this.programs.get(id);
    if (p === undefined) return undefined;
    await p.busy;
    if (p.state.phase === 'disabled') {
      const t = this.now();
      // Trips left behind by a disable whose restore failed are undone first.
      const phase = p.state.tripped.length > 0 ? 'restoring' : 'armed';
      await this.save(p, {
        ...initialState(true, t), phase, tripped: p.state.tripped, monthly: p.state.monthly, purchase: p.state.purchase ?? null,
        floating: p.config.kind === 'floating-down' ? { armedAt: t, limitKw: null } : null,
      });
    }
    return this.get(id);
  }

  /** Restores what the program tripped, clears its alarm and disables it. */
  async disable(id: string): Promise<ProgramDetail | undefined> {
    await this.#restored;
    const p = this.programs.get(id);
    if (p === undefined) return undefined;
    await p.busy;
    if (p.state.phase !== 'disabled') {
      const work = (async () => {
        const t = this.now();
        const alarmed = p.state.phase !== 'armed';
        if (p.state.tripped.length > 0) await this.restore(p, t, 'the program was disabled');
        else if (alarmed) this.signal(p, 'clear', t, clearExplanation(p.config, p.config, p.state.last?.value ?? null, p.target, []));
        await this.save(p, { ...p.state, phase: 'disabled', since: this.now(), executingRound: null, overSince: null, underSince: null });
      })();
      p.busy = work.finally(() => { p.busy = undefined; });
      await p.busy;
    }
    return this.get(id);
  }

  /** What the program would do now, without doing anything. */
  preview(id: string): ProgramPreview | undefined {
    const p = this.programs.get(id);
    if (p === undefined) return undefined;
    const t = this.now();
    const m = measure(p.config, t, this.o.live, this.o.meters, p.state, this.o.utcOffsetMinutes, this.areaLoad, this.o.registers);
    return preview(p.config, p.state, t, m.value, this.targetOf(p, t), this.o.meters);
  }

  /** Leading again under a newer token: the program goes on from the state the leader before it stored. */
  private async takeUp(p: Program): Promise<void> {
    const stored = await this.o.store.load(p.config.id);
    if (stored !== undefined) p.state = stored;
    p.fencedAt = undefined;
  }

  private async evaluate(p: Program, t: number): Promise<void> {
    const c = p.config;
    const m = measure(c, t, this.o.live, this.o.meters, p.state, this.o.utcOffsetMinutes, this.areaLoad, this.o.registers);
    if (c.kind === 'floating-down' && m.value !== undefined) this.sample(p, t, m.value);
    let state = m.monthly === undefined ? p.state : { ...p.state, monthly: m.monthly };
    const warnedBefore = p.state.purchase?.warned ?? [];
    if (m.consumed !== undefined) {
      const remaining = kwhOf(p.purchasedWh) - m.consumed.kwh;
      // A disabled program counts on but warns of nothing; enabled again, it warns of where it stands.
      const warned = state.phase === 'disabled' ? warnedBefore : crossedThresholds(c.warnKwh ?? [], remaining);
      state = { ...state, purchase: { consumed: m.consumed, warned } };
    }
    const f = state.floating;
    if (c.kind === 'floating-down' && f !== null && f.limitKw === null) {
      // Without samples before arming (a fresh start), the first window after it stands in.
      const limitKw = floatingLimit(p.samples, f.armedAt, c.windowMs ?? 0, c.percent ?? 0) ?? floatingLimit(p.samples, t, c.windowMs ?? 0, c.percent ?? 0);
      if (limitKw !== null) state = { ...state, floating: { armedAt: f.armedAt, limitKw } };
    }
    p.target = this.targetOf(p, t, state);
    const before = p.state;
    const result = step(state, { t, value: m.value, target: p.target }, c);
    p.state = result.state;
    // Stored before any effect: a restart finds the round it must resume, not re-trip; a state
    // the store refused (not the leader's) leads to no effect at all.
    if ((result.effects.length > 0 || moved(before, result.state)) && !(await this.save(p, result.state))) return;
    this.warnLowEnergy(p, warnedBefore, t);
    for (const e of result.effects) {
      if (p.fencedAt !== undefined) return;
      await this.perform(p, e, t, m.value);
    }
    // A round resumed after a restart: the machine holds while executingRound is set.
    const resume = p.state.executingRound;
    if (p.fencedAt !== undefined) return;
    if (resume !== null && result.effects.length === 0) await this.runRound(p, resume);
  }

  private async perform(p: Program, e: Effect, t: number, value: number | undefined): Promise<void> {
    switch (e.kind) {
      case 'raise':
        this.signal(p, 'raise', t, raiseExplanation(p.config, p.state, p.config, value ?? 0, p.target));
        return;
      case 'clear':
        this.signal(p, 'clear', t, clearExplanation(p.config, p.config, value ?? null, p.target, []));
        return;
      case 'round':
        await this.runRound(p, e.round);
        return;
      case 'restore':
        await this.restore(p, t, p.target.exhaustedAtLimit === true ? 'a purchase left energy to use' : 'the load is back under the limit');
        return;
    }
  }

  private async runRound(p: Program, round: number): Promise<void> {
    const config = p.config.rounds[round - 1];
    if (config === undefined) return;
    const done = new Set(p.state.tripped.filter((a) => a.round === round).map((a) => a.meterId));
    const todo = config.meters.filter((id) => !done.has(id));
    const width = this.o.roundConcurrency ?? 8;
    for (let i = 0; i < todo.length; i += width) {
      if (p.fencedAt !== undefined) return;
      // Each result is persisted as it comes: after a crash only the unanswered ones are resent.
      await Promise.all(todo.slice(i, i + width).map(async (meterId) => {
        const result = await this.act(p, round, config.action, config.limitKw, meterId);
        await this.save(p, { ...p.state, tripped: [...p.state.tripped, result] });
      }));
    }
    if (!(await this.save(p, { ...p.state, executingRound: null }))) return;
    const t = this.now();
    this.signal(p, 'raise', t, roundExplanation(p.config, p.state, p.config, round, p.state.last?.value ?? null, p.target));
  }

  private async act(p: Program, round: number, command: 'disconnect' | 'set-limit', limitKw: number | undefined, meterId: string): Promise<TrippedAction> {
    const base = { meterId, command, round, ...(limitKw === undefined ? {} : { limitKw }) };
    if (p.config.dryRun) {
      const m = this.o.meters.meter(meterId);
      const at = this.now();
      if (m === undefined) return { ...base, status: 'failed', at, error: { code: 'UNKNOWN_METER', message: `meter ${meterId} does not exist` } };
      return m.protected
        ? { ...base, status: 'refused', at, error: { code: 'PROTECTED_METER', message: `meter ${meterId} is protected (保电) and would be skipped` } }
        : { ...base, status: 'dry-run', at };
    }
    const result = await this.o.port.execute({
      meterId, command, ...(limitKw === undefined ? {} : { limitKw }),
      origin: { kind: 'program', id: p.config.id, round },
      idempotencyKey: requestKey(p.state, { step: 'round', round, command, meterId }),
      reason: `round ${round} of program ${p.config.id}: ${p.target.basis}, load ${p.state.last?.value?.toFixed(1) ?? '?'} over ${p.target.limit ?? '?'} ${p.target.unit}`,
    });
    return { ...base, status: result.status, at: this.now(), ...(result.error === undefined ? {} : { error: result.error }) };
  }

  /** Undoes the program's actions latest first; what could not be undone stays, retried with a capped backoff. */
  private async restore(p: Program, t: number, why: string): Promise<void> {
    const left: TrippedAction[] = [];
    const restored: ExplanationArg[] = [];
    for (const a of [...p.state.tripped].reverse()) {
      if (p.fencedAt !== undefined) return;
      if (a.status === 'refused' || a.status === 'dry-run') continue;
      const command = a.command === 'disconnect' ? 'reconnect' : 'clear-limit';
      if (p.config.dryRun) {
        restored.push(restoredAction(command, a.meterId, true));
        continue;
      }
      const result = await this.o.port.execute({
        meterId: a.meterId, command, origin: { kind: 'program', id: p.config.id, round: a.round }, reason: `restore by program ${p.config.id}: ${why}`,
        idempotencyKey: requestKey(p.state, { step: 'restore', round: a.round, command, meterId: a.meterId }),
      });
      if (result.status === 'verified') restored.push(restoredAction(command, a.meterId, false));
      else left.unshift({ ...a, ...(result.error === undefined ? {} : { error: result.error }) });
    }
    const now = this.now();
    if (left.length === 0) {
      if (!(await this.save(p, { ...p.state, phase: 'armed', round: 0, since: now, tripped: [], overSince: null, underSince: null, restoreFailures: 0, nextRestoreAt: 0 }))) return;
      this.signal(p, 'clear', now, clearExplanation(p.config, p.config, p.state.last?.value ?? null, p.target, restored));
      return;
    }
    const failures = p.state.restoreFailures + 1;
    const nextRestoreAt = now + Math.min(RESTORE_RETRY_MAX_MS, RESTORE_RETRY_MIN_MS * 2 ** (failures - 1));
    if (!(await this.save(p, { ...p.state, phase: 'restoring', tripped: left, restoreFailures: failures, nextRestoreAt }))) return;
    if (failures === RESTORE_ALERT_AFTER) this.signal(p, 'raise', t, restoreFailedExplanation(p.config, left, nextRestoreAt), 'critical');
  }

  /**
   * A purchase program's remaining energy warnings: one signal as it falls to a threshold it was
   * above (naming the lowest reached, when one tick passes several), one clear once a purchase
   * lifts it above them all. Their own alarm (rule `load-control:<id>:low-energy`), beside the
   * program's: the warnings stand while the rounds run and end with the top-up.
   */
  private warnLowEnergy(p: Program, before: readonly number[], at: number): void {
    const now = p.state.purchase?.warned ?? [];
    const remaining = (p.target.limit ?? 0) - (p.state.last?.value ?? 0);
    const reached = now.filter((x) => !before.includes(x));
    const lowest = reached.at(-1);
    if (lowest !== undefined) this.signal(p, 'raise', at, lowEnergyExplanation(p.config, remaining, lowest, p.target), 'warning', LOW_ENERGY);
    else if (now.length === 0 && before.length > 0) this.signal(p, 'clear', at, enoughEnergyExplanation(p.config, remaining), 'warning', LOW_ENERGY);
  }

  private signal(p: Program, kind: 'raise' | 'clear', at: number, parts: readonly ExplanationPart[], severity = p.config.severity, rule = ''): void {
    const subject = this.subjectOf(p.config);
    const areaId = p.config.area ?? (subject.kind === 'meter' ? this.o.meters.meter(subject.id)?.areaId ?? null : null);
    try {
      this.o.onSignal({
        ruleId: `load-control:${p.config.id}${rule}`, detector: 'load-control', subject, kind, severity, at,
        since: p.state.overSince ?? p.state.since, ...explained(at, parts), value: p.state.last?.value ?? 0, areaId: areaId as AreaId | null,
      });
    } catch (err) {
      this.fault(p, err);
    }
  }

  /** An area program alarms on its area; a meter-bound one on its total meter, or its first meter. */
  private subjectOf(c: LoadControlProgramConfig): AlarmSubject {
    if (c.area !== undefined) return { kind: 'area', id: c.area as AreaId };
    return { kind: 'meter', id: (boundMeters(c, this.o.meters, this.areaLoad.excluded)[0] ?? c.id) as MeterId };
  }

  private targetOf(p: Program, t: number, s: ProgramState = p.state): Target {
    return targetAt(p.config, t, this.o.utcOffsetMinutes, { floating: s.floating, purchasedKwh: kwhOf(p.purchasedWh) });
  }

  private sample(p: Program, t: number, kw: number): void {
    const from = t - (p.config.windowMs ?? 0);
    p.samples.push({ t, kw });
    let drop = 0;
    while (drop < p.samples.length && ((p.samples[drop]?.t ?? t) < from || p.samples.length - drop > MAX_SAMPLES)) drop++;
    if (drop > 0) p.samples.splice(0, drop);
  }

  /**
   * The state in memory at once (authoritative for this node), then in the store, in order.
   * A failed write is reported as a fault and not retried: each save writes the whole state,
   * so the next one supersedes it; a crash before then resumes from the last state stored.
   * Under a leader lease the write carries the token this node leads with when it runs; false
   * when there is none or the store refused it: the program then stops on this node (fencedAt).
   */
  private save(p: Program, state: ProgramState): Promise<boolean> {
    p.state = state;
    const at = this.now();
    p.saving = p.saving.then(async () => {
      if (p.fencedAt !== undefined) return false;
      const { leadership } = this.o;
      const fence = leadership?.fence();
      if (leadership !== undefined && fence === undefined) return this.fenceOut(p, undefined);
      try {
        await this.o.store.save(p.config.id, state, at, fence);
      } catch (err) {
        if (err instanceof StaleFencingToken) return this.fenceOut(p, err);
        this.fault(p, err);
      }
      return true;
    });
    return p.saving;
  }

  private fenceOut(p: Program, refusal: StaleFencingToken | undefined): false {
    p.fencedAt = refusal?.token ?? Number.NEGATIVE_INFINITY;
    try {
      this.o.onFenced?.(p.config.id, refusal);
    } catch (err) {
      this.fault(p, err);
    }
    return false;
  }

  private fault(p: Program, err: unknown): void {
    this.o.onError?.(p.config.id, err instanceof Error ? err : new Error(String(err)));
  }

  private view(p: Program): ProgramView {
    const s = p.state;
    const next = nextRound(s, p.config);
    return {
      id: p.config.id, name: p.config.name ?? p.config.id, kind: p.config.kind, dryRun: p.config.dryRun, state: s.phase, round: s.round, since: s.since,
      load: s.last?.value ?? null, limit: s.last?.limit ?? null, unit: p.target.unit, basis: s.last?.basis ?? p.target.basis, basisData: p.target.basisData, overSince: s.overSince,
      nextRound: next === undefined || s.phase === 'disabled' ? null : { round: next.round, dueAt: next.dueAt },
    };
  }
}

/**
 * The idempotency key of a program's request, from its stored state: the phase's onset (`since`,
 * fixed when a round or a restore begins, so one shedding episode's round differs from the
 * next's), the round, the command and the meter; a restore also counts its attempt, so a retry
 * after a failed restore is a new command while a restore resumed on another node is not.
 */
function requestKey(s: ProgramState, r: { readonly step: 'round' | 'restore'; readonly round: number; readonly command: string; readonly meterId: string }): string {
  const attempt = r.step === 'restore' ? `/attempt-${String(s.restoreFailures + 1)}` : '';
  return `${r.step}/${String(s.since)}${attempt}/round-${String(r.round)}/${r.command}/${r.meterId}`;
}

/** Whether a step changed what a restart must know (the per-tick observation alone is not worth a write). */
function moved(a: ProgramState, b: ProgramState): boolean {
  return a.phase !== b.phase || a.overSince !== b.overSince || a.underSince !== b.underSince
    || a.monthly?.month !== b.monthly?.month || newMeters(a.monthly?.count, b.monthly?.count)
    || a.floating?.limitKw !== b.floating?.limitKw
    || newMeters(a.purchase?.consumed, b.purchase?.consumed) || a.purchase?.warned.length !== b.purchase?.warned.length;
}

/**
 * Whether an energy count gained or held a meter. The kWh alone need no write: a count stored
 * with its marks is whole at any moment, and a restart counts again from those marks.
 */
function newMeters(a: EnergyCount | undefined, b: EnergyCount | undefined): boolean {
  return Object.keys(a?.marks ?? {}).length !== Object.keys(b?.marks ?? {}).length || (a?.held.length ?? 0) !== (b?.held.length ?? 0);
}

/** The rule id suffix of a purchase program's low-energy warnings. */
const LOW_ENERGY = ':low-energy';

/** A purchase program's configured load, Wh (checked exact by the configuration). */
function initialWh(c: LoadControlProgramConfig): number {
  return wattHoursOf(c.purchasedKwh ?? 0) ?? 0;
}
