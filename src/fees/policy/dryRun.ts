/**
 * A dry run: the decisions the next runs would make for some accounts, as they stand now, so an
 * operator sees tonight which disconnections tomorrow brings. Each run starts from the state the
 * run before it would leave; balances are taken as they are. Nothing is recorded or sent.
 */
import type { Balance, FeeAccount } from '../model.js';
import { decide, type DecisionDraft, type PolicyState, type FeePolicy } from './decide.js';
import type { TimeZone } from '../tariffs/timeZone.js';

export interface DryRunAccount {
  readonly account: FeeAccount;
  readonly balance: Balance;
  readonly state: PolicyState;
}

/** Decisions per account, run by run in the order of `at`, each marked `dryRun`. */
export function dryRun(accounts: Iterable<DryRunAccount>, at: readonly number[], policy: FeePolicy, emergency: boolean): DecisionDraft[] {
  const runs = [...at].sort((a, b) => a - b);
  const out: DecisionDraft[] = [];
  for (const { account, balance, state } of accounts) {
    let s = state;
    for (const ts of runs) {
      const { decision, next } = decide(account, balance, s, ts, policy, emergency);
      out.push({ ...decision, dryRun: true });
      s = next;
    }
  }
  return out;
}

/** The next two daily runs after `now` (tonight's and tomorrow's), at `dailyAt` (minutes since midnight) on the policy's wall clock. */
export function upcomingRuns(now: number, dailyAtMinute: number, policy: FeePolicy): [number, number] {
  const first = nextWallTime(policy.calendar.zone, now, dailyAtMinute);
  return [first, nextWallTime(policy.calendar.zone, first, dailyAtMinute)];
}

/** The first instant after `after` at which the zone's wall clock shows `minuteOfDay`. */
function nextWallTime(zone: TimeZone, after: number, minuteOfDay: number): number {
  const l = zone.local(after);
  const today = zone.instantOf(l.year, l.month, l.day, minuteOfDay);
  // Date.UTC carries day 32 into the next month.
  return today > after ? today : zone.instantOf(l.year, l.month, l.day + 1, minuteOfDay);
}
