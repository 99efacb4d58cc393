/**
 * The fee-control runner: charges accounts from their meters' validated data, decides what the
 * policy says for each, and acts: notices through the account's target, disconnection and
 * reconnection only through the control port, each decision that acts or changes where an
 * account stands recorded. Accounts are walked in bounded batches, keyset on their ids. A
 * payment is followed by polling the ledger for accounts with new rows, so it reconnects within
 * seconds of being booked, whichever node booked it.
 *
 * Every effect is idempotent from the stored state: ledger keys per meter and period start,
 * command keys per account, state version, command and meter; a runner stopped mid-batch, or
 * one taking over on another node, repeats at most what then adds nothing.
 */
import type { ControlPort, ControlResult } from '../../control/port.js';
import type { Meter } from '../../domain/index.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { AuditLog } from '../../control/audit.js';
import type { Balance, FeeAccount, FeeControlStage, FeeDecision, LedgerEntry, PaymentMode } from '../model.js';
import type { FeeAccountRecord as AccountRecord, FeeStore } from '../store.js';
import { decide, type FeePolicy, type PolicyOutcome, type PolicyState } from '../policy/decide.js';
import { AccountCharging } from './charging.js';
import { chargeDetailOf, chargeEntry, tierCycleOf, trueUpEntry, type ChargeEntry, type ChargingTariff } from './charges.js';
import type { FeeRunConfig } from '../../config/feeRun.js';
import type { FeeNotifier } from './notify.js';
import { readMeterUsage, type IntervalSource } from './usage.js';

/** What the runner needs of the fee store. */
export type FeeRunStore = Pick<FeeStore, 'accounts' | 'account' | 'append' | 'balance' | 'entries' | 'changedSince' | 'saveControlState' | 'recordDecisions' | 'emergency'>;

export interface FeeRunnerOptions {
  readonly store: FeeRunStore;
  readonly billing: IntervalSource;
  readonly tariff: (id: string) => ChargingTariff | undefined;
  readonly port: ControlPort;
  readonly notifier: FeeNotifier;
  /** Where decisions that act (warnings, disconnection, reconnection) are audited, beside the commands' own entries. */
  readonly audit: Pick<AuditLog, 'append'>;
  readonly policy: FeePolicy;
  readonly config: FeeRunConfig;
  /** The registry's meter, for its protected flag (保电): an account with a protected meter is never disconnected. */
  readonly meter: (id: string) => Pick<Meter, 'protected'> | undefined;
  readonly now: () => number;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
}

export interface FeeRunStats {
  readonly runs: number;
  readonly accountsDecided: number;
  readonly rowsCharged: number;
  readonly decisionsRecorded: number;
  readonly stateConflicts: number;
  readonly pendingTrueUps: number;
  /** Booked payment to verified reconnection, ms, most recent last (at most `RECONNECT_SAMPLES`). */
  readonly reconnectMs: readonly number[];
}

/** The command origin of fee control: a program of its own in the command log and audit. */
export const FEE_CONTROL_ORIGIN = { kind: 'program', id: 'fee-control', round: 0 } as const;
export const RECONNECT_SAMPLES = 1_000;
/** Who the audit log names for fee control's own decisions. */
export const FEE_CONTROL_ACTOR = 'system:fee-control';
/** Ledger rows read per step when finding the end of the ledger at start. */
const LEDGER_END_PAGE = 100_000;
const QUARTER = 15 * 60_000;
const DAY = 86_400_000;

export class FeeControlRunner {
  private readonly charging = new Map<string, AccountCharging>();
  private readonly counts = { runs: 0, accountsDecided: 0, rowsCharged: 0, decisionsRecorded: 0, stateConflicts: 0 };
  private readonly reconnectMs: number[] = [];
  /** The ledger followed for payments from here; the first poll starts at the end. */
  private followedSeq: number | undefined;
  /** One run at a time: a prepaid cycle, the daily run and the payment follower take turns. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly decided = new Set<(decision: FeeDecision) => void>();
  private readonly paid = new Set<(payment: LedgerEntry) => void>();

  constructor(private readonly o: FeeRunnerOptions) {}

  /**
   * Tells `listener` each payment the follower finds as an account's newest ledger row, booked
   * on any node (the follower reads the shared ledger); returns the unsubscribe.
   */
  onPayment(listener: (payment: LedgerEntry) => void): () => void {
    this.paid.add(listener);
    return () => { this.paid.delete(listener); };
  }

  /** Tells `listener` each decision recorded (what workflows start from: a second warning opens fee recovery); returns the unsubscribe. */
  onDecision(listener: (decision: FeeDecision) => void): () => void {
    this.decided.add(listener);
    return () => { this.decided.delete(listener); };
  }

  /** Charges and decides the accounts of one payment mode (all when undefined), batch by batch. */
  run(mode?: PaymentMode): Promise<void> {
    return this.inTurn(async () => {
      this.counts.runs += 1;
      const emergency = (await this.o.store.emergency()).active;
      let after: string | undefined;
      for (;;) {
        const page = await this.o.store.accounts({ ...(after === undefined ? {} : { after }), limit: this.o.config.batchSize, ...(mode === undefined ? {} : { mode }) });
        for (const record of page.items) await this.account(record, emergency, true);
        if (page.next === null) return;
        after = page.next;
      }
    });
  }

  /** Decides again for the accounts with new ledger rows (payments, reversals, adjustments) since the last poll. */
  followPayments(): Promise<void> {
    return this.inTurn(async () => {
      this.followedSeq ??= await this.ledgerEnd();
      const changes = await this.o.store.changedSince(this.followedSeq, this.o.config.changesPerPoll);
      this.followedSeq = changes.throughSeq;
      if (changes.accountIds.length === 0) return;
      const emergency = (await this.o.store.emergency()).active;
      for (const id of changes.accountIds) {
        const record = await this.o.store.account(id);
        if (record === undefined) continue;
        // A payment reconnecting the account: how long from booking it to the verified reconnection is measured.
        const [newest] = (await this.o.store.entries(id, { limit: 1 })).items;
        if (newest?.kind === 'payment') this.tell(this.paid, newest, id);
        await this.account(record, emergency, false, newest?.kind === 'payment' ? newest.at : undefined);
      }
    });
  }

  private tell<T>(listeners: ReadonlySet<(value: T) => void>, value: T, accountId: string): void {
    for (const listener of listeners) {
      try { listener(value); } catch (err) { this.o.logger.warn({ err, accountId }, 'a fee-control listener failed'); }
    }
  }

  /** The last ledger row now: what was booked before the runner started is the runs' to decide, not the follower's. */
  private async ledgerEnd(): Promise<number> {
    let seq = 0;
    for (;;) {
      const { throughSeq } = await this.o.store.changedSince(seq, LEDGER_END_PAGE);
      if (throughSeq === seq) return seq;
      seq = throughSeq;
    }
  }

  stats(): FeeRunStats {
    let pending = 0;
    for (const c of this.charging.values()) pending += c.pendingCount;
    return { ...this.counts, pendingTrueUps: pending, reconnectMs: [...this.reconnectMs] };
  }

  /** Resolves once the run in progress (if any) is over. */
  async idle(): Promise<void> {
    await this.turn.catch(() => undefined);
  }

  private inTurn(work: () => Promise<void>): Promise<void> {
    const next = this.turn.catch(() => undefined).then(work);
    this.turn = next;
    return next;
  }

  private async account(record: AccountRecord, emergency: boolean, charge: boolean, paidAt?: number): Promise<void> {
    try {
      const balance = charge ? await this.charge(record) : record.balance;
      const account = this.withMeterProtection(record.account);
      const now = this.o.now();
      const outcome = decide(account, balance, record.control, now, this.o.policy, emergency);
      await this.act(record, account, outcome, now, paidAt);
      this.counts.accountsDecided += 1;
    } catch (err) {
      if (this.o.throttle.pass(`fee-run:${record.account.id}`) >= 0) this.o.logger.error({ account: record.account.id, err }, 'fee-control run failed for an account');
    }
  }

  /** Charges an account's meters up to the last quarter hour, trues up what valid data now covers; answers the balance after. */
  private async charge(record: AccountRecord): Promise<Balance> {
    const { account } = record;
    const tariff = this.o.tariff(account.tariffId);
    if (tariff === undefined) {
      if (this.o.throttle.pass(`fee-tariff:${account.tariffId}`) >= 0) this.o.logger.warn({ account: account.id, tariff: account.tariffId }, 'account not charged: no such tariff');
      return record.balance;
    }
    const now = this.o.now();
    const until = Math.floor(now / QUARTER) * QUARTER;
    const trueUpSince = now - this.o.config.trueUpWithinDays * DAY;
    const standing = await this.standing(account, trueUpSince);
    const rows: ChargeEntry[] = [];
    for (const p of standing.awaitingTrueUp(trueUpSince)) {
      const d = chargeDetailOf(p);
      if (d === undefined) continue;
      const used = await readMeterUsage(this.o.billing, d.meterId, { from: p.periodFrom ?? 0, carryWh: d.carryInWh }, p.periodTo ?? 0);
      const row = used === undefined ? undefined : trueUpEntry(account, p, used, tariff, now);
      if (row === undefined) continue;
      rows.push(row);
      if (d.cycleStart !== null) standing.addCycleWh(d.cycleStart, (chargeDetailOf({ ...row, seq: 0 })?.wh ?? d.wh) - d.wh);
    }
    for (const meterId of account.meterIds) {
      const cursor = standing.cursor(meterId);
      // A period never runs into the next tier cycle: each charge then knows its cycle's consumption before it.
      const cycle = tierCycleOf(tariff, cursor.from);
      const used = await readMeterUsage(this.o.billing, meterId, cursor, Math.min(until, cycle?.next ?? until));
      if (used === undefined) continue;
      rows.push(chargeEntry(account, used, cursor.carryWh, tariff, { start: cycle?.start ?? null, toDateWh: cycle === undefined ? 0 : standing.cycleWh(cycle.start) }, now));
      if (cycle !== undefined) standing.addCycleWh(cycle.start, used.totalWh);
    }
    if (rows.length === 0) return record.balance;
    standing.booked(await this.o.store.append(rows));
    this.counts.rowsCharged += rows.length;
    return (await this.o.store.balance(account.id)) ?? record.balance;
  }

  private async standing(account: FeeAccount, trueUpSince: number): Promise<AccountCharging> {
    const known = this.charging.get(account.id);
    if (known !== undefined) return known;
    const loaded = await AccountCharging.load(account, this.o.store, trueUpSince);
    this.charging.set(account.id, loaded);
    return loaded;
  }

  /** An account with a protected meter is protected: the command service would refuse its disconnection anyway. */
  private withMeterProtection(account: FeeAccount): FeeAccount {
    if (account.protected || !account.meterIds.some((m) => this.o.meter(m)?.protected === true)) return account;
    return { ...account, protected: true };
  }

  private async act(record: AccountRecord, account: FeeAccount, outcome: PolicyOutcome, now: number, paidAt: number | undefined): Promise<void> {
    let { decision } = outcome;
    let next: PolicyState = outcome.next;
    let commandId: string | undefined;
    let message = decision.message;
    let unverified = false;
    if (decision.action === 'disconnect' || decision.action === 'reconnect') {
      const results = await this.command(record, account, decision.action, decision.message);
      const ids = results.map((r) => r.commandId).filter((id): id is string => id !== undefined);
      commandId = ids.length === 0 ? undefined : ids.join(',');
      const failed = results.filter((r) => r.status !== 'verified');
      if (failed.length > 0) {
        unverified = true;
        message += ` Not verified on ${failed.length} of ${results.length} meters (${failed.map((r) => r.error?.code ?? r.status).join(', ')}): tried again at the next run.`;
        next = decision.action === 'disconnect' ? { ...next, stage: 'disconnect-pending', disconnectedAt: null } : { ...next, stage: 'disconnected' };
      } else if (decision.action === 'reconnect') {
        // Recorded as the verified reconnection, at the moment it was verified: what the payment-to-reconnection report measures.
        decision = { ...decision, reason: 'reconnected', at: this.o.now() };
        message += ' Reconnected: the relay reads connected.';
        next = { ...next, stage: stageAfterReconnect(next), disconnectedAt: null };
        if (paidAt !== undefined) this.sampleReconnect(this.o.now() - paidAt);
      }
    }
    const changed = next.stage !== record.control.stage || next.nextWindowAt !== record.control.nextWindowAt;
    if ((decision.action !== 'none' && decision.action !== 'wait') || changed) {
      const [recorded] = await this.o.store.recordDecisions([{ ...decision, message, ...(commandId === undefined ? {} : { commandId }) }]);
      this.counts.decisionsRecorded += 1;
      if (recorded !== undefined) {
        this.o.notifier.notify(account, recorded);
        this.tell(this.decided, recorded, account.id);
        if (recorded.action !== 'none' && recorded.action !== 'wait') {
          await this.o.audit.append({
            actor: FEE_CONTROL_ACTOR, source: null, action: `fees.${recorded.action}`, target: `fee-account:${account.id}`, outcome: unverified ? 'failed' : 'ok',
            detail: { reason: recorded.reason, message: recorded.message, balanceMinor: recorded.balanceMinor, ...(recorded.commandId === undefined ? {} : { commandId: recorded.commandId }) },
          });
        }
      }
    }
    if (!changed && !stateMoved(record.control, next) && commandId === undefined) return;
    try {
      await this.o.store.saveControlState({ ...next, accountId: account.id, lastCommandId: commandId ?? record.control.lastCommandId, updatedAt: now }, record.control.version);
    } catch (err) {
      // Another node or an operator wrote the state first: theirs stands, the next run decides from it.
      this.counts.stateConflicts += 1;
      if (this.o.throttle.pass(`fee-state:${account.id}`) >= 0) this.o.logger.warn({ account: account.id, err }, 'fee-control state changed meanwhile; not saved');
    }
  }

  /** One command per meter, keyed by the state version it was decided from: asked again before the state moves, it makes nothing new. */
  private async command(record: AccountRecord, account: FeeAccount, command: 'disconnect' | 'reconnect', reason: string): Promise<ControlResult[]> {
    const out: ControlResult[] = [];
    for (const meterId of account.meterIds) {
      out.push(await this.o.port.execute({
        meterId, command, origin: FEE_CONTROL_ORIGIN, reason: `fee control, account ${account.id}: ${reason}`,
        idempotencyKey: `fee/${account.id}/${record.control.version}/${command}/${meterId}`,
      }));
    }
    return out;
  }

  private sampleReconnect(ms: number): void {
    this.reconnectMs.push(ms);
    if (this.reconnectMs.length > RECONNECT_SAMPLES) this.reconnectMs.shift();
  }
}

function stageAfterReconnect(s: PolicyState): FeeControlStage {
  return s.warnedSecondAt !== null ? 'warned-second' : s.warnedFirstAt !== null ? 'warned-first' : 'normal';
}

function stateMoved(a: PolicyState, b: PolicyState): boolean {
  return a.warnedFirstAt !== b.warnedFirstAt || a.warnedSecondAt !== b.warnedSecondAt || a.disconnectDueAt !== b.disconnectDueAt || a.disconnectedAt !== b.disconnectedAt;
}
