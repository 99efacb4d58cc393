/**
 * Where charging stands per account: each meter's cursor (the end of its last charged period and
 * the rounding it left) and the provisional charges awaiting valid data. The ledger is the truth:
 * an account's standing is read back from its newest rows the first time it is charged after a
 * start (bounded: `MAX_SCAN_ROWS`), and kept up to date in memory from the rows appended since.
 */
import type { FeeAccount, LedgerEntry } from '../model.js';
import { MAX_FEE_PAGE, type FeeStore } from '../store.js';
import { chargeDetailOf, chargeKey } from './charges.js';
import type { ChargeCursor } from './usage.js';

/** Ledger rows read back per account, newest first, looking for its meters' cursors. */
export const MAX_SCAN_ROWS = 10_000;
const QUARTER = 15 * 60_000;

/** The ledger reads this needs. */
export type LedgerReader = Pick<FeeStore, 'entries'>;

export class AccountCharging {
  private readonly cursors = new Map<string, ChargeCursor>();
  /** Provisional rows without a true-up, oldest first. */
  private readonly pending: LedgerEntry[] = [];
  /** The account's consumption so far in its current tier cycle. */
  private cycle: { start: number; wh: number } | undefined;

  private constructor(private readonly account: FeeAccount) {}

  /** Reads an account's standing back from its ledger. */
  static async load(account: FeeAccount, ledger: LedgerReader, trueUpSince: number): Promise<AccountCharging> {
    const c = new AccountCharging(account);
    const trued = new Set<string>();
    const provisional: LedgerEntry[] = [];
    let before: number | undefined;
    for (let read = 0; read < MAX_SCAN_ROWS;) {
      const page = await ledger.entries(account.id, { ...(before === undefined ? {} : { before }), limit: MAX_FEE_PAGE });
      for (const e of page.items) {
        const d = chargeDetailOf(e);
        if (d === undefined) continue;
        // The newest row knows the cycle's consumption before it; with its own, the cycle's so far.
        if (c.cycle === undefined && e.kind !== 'true-up' && d.cycleStart !== null) c.cycle = { start: d.cycleStart, wh: d.cycleToDateWh + d.wh };
        if (e.kind === 'true-up') trued.add(chargeKey('provisional-charge', d.meterId, e.periodFrom ?? 0));
        else if (!c.cursors.has(d.meterId) && e.periodTo !== undefined) c.cursors.set(d.meterId, { from: e.periodTo, carryWh: d.carryWh });
        if (e.kind === 'provisional-charge' && e.at >= trueUpSince && !trued.has(e.key)) provisional.push(e);
      }
      read += page.items.length;
      const oldest = page.items[page.items.length - 1];
      const done = account.meterIds.every((m) => c.cursors.has(m)) && (oldest === undefined || oldest.at < trueUpSince);
      if (page.next === null || done) break;
      before = page.next;
    }
    c.pending.push(...provisional.reverse());
    return c;
  }

  /** A meter's cursor; a meter never charged starts at the first quarter hour after the account was created. */
  cursor(meterId: string): ChargeCursor {
    return this.cursors.get(meterId) ?? { from: Math.ceil(this.account.createdAt / QUARTER) * QUARTER, carryWh: 0 };
  }

  /** Provisional charges awaiting valid data, dropping (standing as charged) those older than `since`. */
  awaitingTrueUp(since: number): readonly LedgerEntry[] {
    while (this.pending.length > 0 && (this.pending[0]?.at ?? 0) < since) this.pending.shift();
    return this.pending;
  }

  /** What the account used in the tier cycle starting at `start` before now (0 for a cycle it has not charged in). */
  cycleWh(start: number): number {
    return this.cycle?.start === start ? this.cycle.wh : 0;
  }

  /** Counts a charge in (or a true-up's correction of) the cycle starting at `start`. */
  addCycleWh(start: number, wh: number): void {
    if (this.cycle === undefined || start > this.cycle.start) this.cycle = { start, wh: 0 };
    if (start === this.cycle.start) this.cycle.wh += wh;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Takes in rows the ledger holds now (appended, or found there under the same key). */
  booked(rows: readonly LedgerEntry[]): void {
    for (const e of rows) {
      const d = chargeDetailOf(e);
      if (d === undefined || e.periodTo === undefined) continue;
      if (e.kind === 'true-up') {
        const key = chargeKey('provisional-charge', d.meterId, e.periodFrom ?? 0);
        const i = this.pending.findIndex((p) => p.key === key);
        if (i >= 0) this.pending.splice(i, 1);
        continue;
      }
      const known = this.cursors.get(d.meterId);
      if (known === undefined || e.periodTo > known.from) this.cursors.set(d.meterId, { from: e.periodTo, carryWh: d.carryWh });
      if (e.kind === 'provisional-charge' && !this.pending.some((p) => p.key === e.key)) this.pending.push(e);
    }
  }
}
