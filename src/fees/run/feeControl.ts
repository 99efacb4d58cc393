/**
 * Fee control as the station runs it: the runner on its timers (the prepaid cycle, the daily
 * run, the payment follower), the emergency flag operators declare, and the dry run of the next
 * daily runs. The timers are a leader duty: one node charges and decides at a time.
 */
import type { AuditLog } from '../../control/audit.js';
import { clockMinutes } from '../../rules/loadControl/limits.js';
import type { EmergencyFlag } from '../model.js';
import { dryRun, upcomingRuns } from '../policy/dryRun.js';
import type { DecisionDraft, FeePolicy } from '../policy/decide.js';
import { MAX_FEE_PAGE, type FeeStore } from '../store.js';
import type { FeeRunConfig } from '../../config/feeRun.js';
import type { MeterCreditCheck, MeterCreditReading } from './meterCredit.js';
import type { FeeControlRunner } from './runner.js';

export interface DryRunPage {
  /** The runs shown, oldest first. */
  readonly runs: readonly number[];
  readonly decisions: readonly DecisionDraft[];
  /** The account id to ask the next page after; null on the last. */
  readonly next: string | null;
}

export interface FeeControlOptions {
  readonly runner: FeeControlRunner;
  /** The comparison of meters that keep their own account with the station's balance, on its own timer (`meterCreditEveryMs`). */
  readonly meterCredit?: MeterCreditCheck;
  readonly store: Pick<FeeStore, 'accounts' | 'emergency' | 'setEmergency'>;
  readonly audit: AuditLog;
  readonly policy: FeePolicy;
  readonly config: FeeRunConfig;
  readonly now: () => number;
  readonly onError: (what: string, err: unknown) => void;
}

export class FeeControl {
  private readonly timers: NodeJS.Timeout[] = [];
  private dailyTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FeeControlOptions) {}

  get runner(): FeeControlRunner {
    return this.o.runner;
  }

  /** The compiled warning and disconnection policy this fee control decides by (others ask it, rather than copy its rules). */
  get policy(): FeePolicy {
    return this.o.policy;
  }

  /** The account's meters that keep their own account, as last read and compared; undefined when none was read. */
  meterCredit(accountId: string): readonly MeterCreditReading[] | undefined {
    return this.o.meterCredit?.readings(accountId);
  }

  emergency(): Promise<EmergencyFlag> {
    return this.o.store.emergency();
  }

  /** Declares or lifts the emergency flag, audited; a declared flag holds every disconnection at the next decision. */
  async setEmergency(active: boolean, reason: string | null, who: { readonly actor: string; readonly source: string | null }): Promise<EmergencyFlag> {
    const flag: EmergencyFlag = { active, reason, setBy: who.actor, since: this.o.now() };
    await this.o.store.setEmergency(flag);
    await this.o.audit.append({ actor: who.actor, source: who.source, action: active ? 'fees.emergency.declare' : 'fees.emergency.lift', target: 'fees:emergency', outcome: 'ok', detail: { reason } });
    return flag;
  }

  /** What the given runs (tonight's and tomorrow's daily runs by default) would decide for a page of accounts; recorded nowhere. */
  async dryRun(q: { readonly at?: readonly number[]; readonly after?: string; readonly limit: number }): Promise<DryRunPage> {
    const runs = q.at !== undefined && q.at.length > 0 ? [...q.at].sort((a, b) => a - b) : upcomingRuns(this.o.now(), clockMinutes(this.o.config.dailyAt), this.o.policy);
    const page = await this.o.store.accounts({ ...(q.after === undefined ? {} : { after: q.after }), limit: Math.min(q.limit, MAX_FEE_PAGE) });
    const emergency = (await this.o.store.emergency()).active;
    const decisions = dryRun(page.items.map((r) => ({ account: r.account, balance: r.balance, state: r.control })), runs, this.o.policy, emergency);
    return { runs, decisions, next: page.next };
  }

  /** Starts the timers; the daily run is scheduled on the policy's wall clock, afresh each day. */
  start(): void {
    if (this.timers.length > 0) return;
    const every = (ms: number, what: string, work: () => Promise<void>) => {
      const t = setInterval(() => { work().catch((err: unknown) => { this.o.onError(what, err); }); }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.config.prepaidEveryMs, 'prepaid run', () => this.o.runner.run('prepaid'));
    every(this.o.config.paymentPollMs, 'payment follower', () => this.o.runner.followPayments());
    const credit = this.o.meterCredit;
    if (credit !== undefined && this.o.config.meterCreditEveryMs > 0) every(this.o.config.meterCreditEveryMs, 'meter credit comparison', () => credit.run());
    this.scheduleDaily();
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    clearTimeout(this.dailyTimer);
    this.dailyTimer = undefined;
    await this.o.runner.idle();
    await this.o.meterCredit?.idle();
  }

  private scheduleDaily(): void {
    const [next] = upcomingRuns(this.o.now(), clockMinutes(this.o.config.dailyAt), this.o.policy);
    this.dailyTimer = setTimeout(() => {
      this.o.runner.run().catch((err: unknown) => { this.o.onError('daily run', err); }).finally(() => {
        if (this.timers.length > 0) this.scheduleDaily();
      });
    }, Math.max(0, next - this.o.now()));
    this.dailyTimer.unref();
  }
}
