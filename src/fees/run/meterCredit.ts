/**
 * The comparison of meters that keep their own account (本地费控) with the station's balance: on
 * its own timer, every account whose meters' terminals offer payment metering has each such
 * meter's account read through the control port (read-account), its available credit compared
 * with the account's balance (`creditMismatch`, within `fees.run.meterCreditToleranceMinor`), and
 * an alarm (METER_CREDIT_MISMATCH, on the meter) raised while they disagree, cleared once they
 * agree again. The last reading per meter is kept in memory for the account's view, for the
 * accounts seen in the last run only, so it is bounded by the number of accounts.
 *
 * A read that fails keeps the previous reading and alarm as they are: one throttled log line,
 * and the next run reads again.
 */
import type { AccountAmount, MeterAccountState } from '../../../protocols/adapter.js';
import type { FeeRunConfig } from '../../config/feeRun.js';
import type { ControlPort } from '../../control/port.js';
import type { AlarmSignal, AlarmSubject } from '../../domain/alarm.js';
import { minorUnitsOf } from '../../domain/currency.js';
import type { AreaId, MeterId } from '../../domain/index.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import { creditMismatch, METER_CREDIT_MISMATCH, type CreditComparison } from '../meterAccount.js';
import type { Money } from '../model.js';
import { formatMoney } from '../policy/decide.js';
import type { FeeAccountRecord, FeeStore } from '../store.js';
import { FEE_CONTROL_ORIGIN } from './runner.js';

/** The alarm rule of a meter whose own credit and the station's balance disagree (one alarm per meter). */
export const METER_CREDIT_RULE = 'fees:meter-credit';

/** A meter's own account as last read, and how it compared with the station's balance then. */
export interface MeterCreditReading {
  readonly meterId: string;
  /** The meter's available credit in minor units of `currency`; null when it holds no whole number of them. */
  readonly availableMinor: number | null;
  readonly currency: string;
  readonly mode: MeterAccountState['mode'];
  readonly status: MeterAccountState['status'];
  /** The credit status flags set (inCredit, lowCredit, …). */
  readonly creditStatus: readonly string[];
  readonly credits: readonly { readonly credit: string; readonly type: string; readonly status: string; readonly amountMinor: number | null }[];
  /** When it was read, ms since the epoch. */
  readonly at: number;
  /** The station's balance it was compared with. */
  readonly stationMinor: number;
  readonly toleranceMinor: number;
  readonly comparison: CreditComparison;
}

export interface MeterCreditStats {
  readonly runs: number;
  readonly reads: number;
  readonly readFailures: number;
  readonly mismatches: number;
}

export interface MeterCreditOptions {
  readonly store: Pick<FeeStore, 'accounts'>;
  readonly port: ControlPort;
  /** Whether the meter's terminal offers payment metering (its adapter's capability); only such meters are read. */
  readonly paymentMetering: (meterId: string) => boolean;
  /** The meter's area, for the alarm's filters; null when none. */
  readonly areaOf: (meterId: string) => string | null;
  readonly alarms: {
    readonly signal: (s: AlarmSignal) => void;
    /** The open alarm of the rule on the subject, if any: one left open before a restart is cleared when they agree. */
    readonly openFor: (ruleId: string, subject: AlarmSubject) => unknown;
  };
  readonly config: Pick<FeeRunConfig, 'batchSize' | 'meterCreditToleranceMinor'>;
  readonly now: () => number;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
}

export class MeterCreditCheck {
  private readonly last = new Map<string, ReadonlyMap<string, MeterCreditReading>>();
  private readonly counts = { runs: 0, reads: 0, readFailures: 0, mismatches: 0 };
  private running: Promise<void> | undefined;

  constructor(private readonly o: MeterCreditOptions) {}

  /** Reads and compares every account's meters that keep their own account; a run asked for while one is in progress joins it. */
  run(): Promise<void> {
    this.running ??= this.walk().finally(() => { this.running = undefined; });
    return this.running;
  }

  /** The account's meters as last read, or undefined when none of them was read. */
  readings(accountId: string): readonly MeterCreditReading[] | undefined {
    const known = this.last.get(accountId);
    return known === undefined ? undefined : [...known.values()];
  }

  /** Resolves once the run in progress (if any) is over. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  stats(): MeterCreditStats {
    return { ...this.counts };
  }

  private async walk(): Promise<void> {
    this.counts.runs += 1;
    const runAt = this.o.now();
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.o.store.accounts({ ...(after === undefined ? {} : { after }), limit: this.o.config.batchSize });
      for (const record of page.items) {
        const meters = record.account.meterIds.filter((m) => this.o.paymentMetering(m));
        if (meters.length === 0) continue;
        seen.add(record.account.id);
        await this.account(record, meters, runAt);
      }
      if (page.next === null) break;
      after = page.next;
    }
    for (const id of this.last.keys()) if (!seen.has(id)) this.last.delete(id);
  }

  private async account(record: FeeAccountRecord, meters: readonly string[], runAt: number): Promise<void> {
    const { account } = record;
    const before = this.last.get(account.id);
    const next = new Map<string, MeterCreditReading>();
    for (const meterId of meters) {
      const reading = await this.read(record, meterId, runAt);
      const kept = reading ?? before?.get(meterId);
      if (kept !== undefined) next.set(meterId, kept);
      if (reading !== undefined) this.signal(account.id, record.balance, reading, before?.get(meterId));
    }
    if (next.size > 0) this.last.set(account.id, next);
    else this.last.delete(account.id);
  }

  /** The meter's account read through the control port and compared; undefined when it could not be read. */
  private async read(record: FeeAccountRecord, meterId: string, runAt: number): Promise<MeterCreditReading | undefined> {
    const { account, balance } = record;
    const result = await this.o.port.execute({
      meterId, command: 'read-account', origin: FEE_CONTROL_ORIGIN,
      reason: `fee control, account ${account.id}: the meter's own credit compared with the station's balance`,
      idempotencyKey: `fee-credit/${account.id}/${runAt}/${meterId}`,
    });
    const state = result.state?.account;
    if (result.status !== 'verified' || state === undefined) {
      this.counts.readFailures += 1;
      if (this.o.throttle.pass(`fee-credit:${meterId}`) >= 0) {
        this.o.logger.warn({ account: account.id, meter: meterId, status: result.status, error: result.error, commandId: result.commandId }, 'meter\'s own account not read; compared again at the next run');
      }
      return undefined;
    }
    this.counts.reads += 1;
    const toleranceMinor = this.o.config.meterCreditToleranceMinor;
    const comparison = creditMismatch({ amountMinor: balance.amountMinor, currency: balance.currency }, state.availableCredit, toleranceMinor);
    if (comparison.kind === 'incomparable' && this.o.throttle.pass(`fee-credit-incomparable:${meterId}`) >= 0) {
      this.o.logger.warn({ account: account.id, meter: meterId, reason: comparison.reason }, 'meter\'s own credit cannot be compared with the station\'s balance');
    }
    return {
      meterId, availableMinor: minorOrNull(state.availableCredit), currency: state.availableCredit.currency.trim().toUpperCase(), mode: state.mode, status: state.status,
      creditStatus: [...state.creditStatus], credits: state.credits.map((c) => ({ credit: c.credit, type: c.type, status: c.status, amountMinor: minorOrNull(c.amount) })),
      at: this.o.now(), stationMinor: balance.amountMinor, toleranceMinor, comparison,
    };
  }

  /** Raised (or its figures updated) while they disagree; cleared when they agree and an alarm is, or may be, open. Incomparable changes nothing. */
  private signal(accountId: string, balance: Money, r: MeterCreditReading, before: MeterCreditReading | undefined): void {
    const subject: AlarmSubject = { kind: 'meter', id: r.meterId as MeterId };
    const c = r.comparison;
    const base = { ruleId: METER_CREDIT_RULE, detector: METER_CREDIT_MISMATCH, subject, severity: 'warning' as const, at: r.at, areaId: this.o.areaOf(r.meterId) as AreaId | null };
    if (c.kind === 'mismatch') {
      this.counts.mismatches += 1;
      const since = before?.comparison.kind === 'mismatch' ? before.at : r.at;
      this.o.alarms.signal({ ...base, kind: 'raise', since, explanation: mismatchWords(accountId, balance.currency, r, c), value: c.differenceMinor });
      return;
    }
    if (c.kind !== 'agree') return;
    if (before?.comparison.kind !== 'mismatch' && this.o.alarms.openFor(METER_CREDIT_RULE, subject) === undefined) return;
    const words = `Meter ${r.meterId} holds ${formatMoney(r.availableMinor ?? 0, balance.currency)} of credit and account ${accountId}'s balance at the station is ${formatMoney(r.stationMinor, balance.currency)}: they agree again, within ${formatMoney(r.toleranceMinor, balance.currency)}.`;
    this.o.alarms.signal({ ...base, kind: 'clear', since: r.at, explanation: words, value: c.differenceMinor });
  }
}

function mismatchWords(accountId: string, currency: string, r: MeterCreditReading, c: Extract<CreditComparison, { kind: 'mismatch' }>): string {
  const more = c.differenceMinor > 0 ? 'more' : 'less';
  return `Meter ${r.meterId} holds ${formatMoney(c.meterMinor, currency)} of credit, but account ${accountId}'s balance at the station is ${formatMoney(c.stationMinor, currency)}: `
    + `the meter holds ${formatMoney(Math.abs(c.differenceMinor), currency)} ${more}, beyond the tolerance of ${formatMoney(r.toleranceMinor, currency)}.`;
}

function minorOrNull(amount: AccountAmount): number | null {
  return minorUnitsOf(amount) ?? null;
}
