/**
 * The fee reports (src/fees/reports/store.ts) as SQL over the fee store's tables (migration 17
 * and 18 on SQLite, 24 and 25 on PostgreSQL) and the registry's `meters`, which both drivers
 * keep in the same database. One text per report serves both: the few places the two differ
 * (parameters, byte-wise ordering, LEAST, booleans) go through `Dialect`.
 *
 * Aging is first-in-first-out as receivables are aged: payments settle the oldest debits
 * first, so what is still owed is the newest debit rows, each aged from the day it was booked.
 * A window sum over the account's debit rows, newest first, finds where the debt runs out.
 */
import type { Db } from '../../storage/db.js';
import { settled } from '../../storage/db.js';
import type { PostgresDatabase } from '../../storage/postgres/connection.js';
import type { FeeControlStage } from '../model.js';
import {
  reportLimit,
  type ArrearsAreaRow, type ArrearsQuery, type ArrearsRow, type DisconnectionQuery, type DisconnectionRow, type FeeReportStore,
  type MonthSpan, type ReconnectionRow, type RecoveryRow, type WatchedAccountRow,
} from './store.js';

/** The embedded store's reports. */
export function sqliteFeeReports(db: Db): FeeReportStore {
  return new SqlFeeReports(SQLITE, (text, args) => settled(() => db.prepare(text).all(...args) as Row[]));
}

/** The shared store's reports. */
export function postgresFeeReports(db: PostgresDatabase): FeeReportStore {
  return new SqlFeeReports(POSTGRES, (text, args) => db.run(async (sql) => [...await sql.unsafe<Row[]>(text, args as never[])]));
}

type Row = Record<string, unknown>;
type Runner = (text: string, args: readonly (string | number | null)[]) => Promise<Row[]>;

interface Dialect {
  /** A parameter's placeholder, the value appended to `args` (texts are built left to right, in placeholder order). */
  param(args: (string | number | null)[], value: string | number | null, type: 'bigint' | 'text'): string;
  /** An expression ordered and compared byte-wise, as the embedded store orders ids. */
  bytes(expr: string): string;
  least(a: string, b: string): string;
  readonly no: string;
}

const SQLITE: Dialect = {
  param: (args, value) => { args.push(value); return '?'; },
  bytes: (expr) => expr,
  least: (a, b) => `MIN(${a}, ${b})`,
  no: '0',
};

const POSTGRES: Dialect = {
  param: (args, value, type) => { args.push(value); return `$${args.length}::${type}`; },
  bytes: (expr) => `(${expr}) COLLATE "C"`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  no: 'false',
};

const DAY_MS = 86_400_000;
/** The debit rows of the ledger: every row that adds to what the customer owes. */
const DEBIT = 'l.amount_minor < 0';
const BILLED_KINDS = "('charge', 'provisional-charge', 'true-up')";

class SqlFeeReports implements FeeReportStore {
  constructor(private readonly d: Dialect, private readonly run: Runner) {}

  /** `a`'s area: its first meter's, '' when that meter has none or the registry does not know it. */
  #area(account: string): string {
    return this.d.bytes(`COALESCE((SELECT m.area_id FROM fee_account_meters fm LEFT JOIN meters m ON m.id = fm.meter_id
      WHERE fm.account_id = ${account} ORDER BY fm.position LIMIT 1), '')`);
  }

  /** The aging CTEs over `owing` (id, debt): `parts` holds each still-owed share of a debit with its age in days. */
  #aging(args: (string | number | null)[], asOf: number): string {
    const p = (v: number) => this.d.param(args, v, 'bigint');
    return `debits AS (
        SELECT l.account_id, l.at, -l.amount_minor AS amt,
          SUM(-l.amount_minor) OVER (PARTITION BY l.account_id ORDER BY l.seq DESC ROWS UNBOUNDED PRECEDING) AS upto
        FROM fee_ledger l WHERE l.account_id IN (SELECT id FROM owing) AND ${DEBIT}
      ),
      parts AS (
        SELECT d.account_id, (${p(asOf)} - d.at) / ${DAY_MS} AS age, ${this.d.least('d.amt', 'o.debt - (d.upto - d.amt)')} AS part
        FROM debits d JOIN owing o ON o.id = d.account_id WHERE d.upto - d.amt < o.debt
      )`;
  }

  async arrears(q: ArrearsQuery): Promise<ArrearsRow[]> {
    const args: (string | number | null)[] = [];
    const t = (v: string) => this.d.param(args, v, 'text');
    const where: string[] = [];
    if (q.areaId !== undefined) where.push(`o.area = ${t(q.areaId ?? '')}`);
    if (q.after !== undefined) {
      const area = q.after.areaId ?? '';
      where.push(`(o.area > ${t(area)} OR (o.area = ${t(area)} AND o.id > ${t(q.after.accountId)}))`);
    }
    const owing = `owing AS (
        SELECT * FROM (${this.#owingRows()}) o ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
        ORDER BY o.area, o.id LIMIT ${this.d.param(args, reportLimit(q.limit), 'bigint')}
      )`;
    const rows = await this.run(`WITH ${owing}, ${this.#aging(args, q.asOf)}
      SELECT o.id, o.name, o.customer_ref, o.currency, o.area, o.debt, ${BUCKET_SUMS}
      FROM owing o LEFT JOIN parts p ON p.account_id = o.id
      GROUP BY o.id, o.name, o.customer_ref, o.currency, o.area, o.debt
      ORDER BY o.area, o.id`, args);
    return rows.map((r) => ({
      accountId: String(r.id), name: String(r.name), customerRef: String(r.customer_ref), areaId: areaOf(r.area),
      debtMinor: Number(r.debt), currency: String(r.currency), ...buckets(r),
    }));
  }

  async arrearsByArea(asOf: number): Promise<ArrearsAreaRow[]> {
    const args: (string | number | null)[] = [];
    const rows = await this.run(`WITH owing AS (${this.#owingRows()}), ${this.#aging(args, asOf)},
      per_account AS (
        SELECT o.id, o.area, o.currency, o.debt, ${BUCKET_SUMS}
        FROM owing o LEFT JOIN parts p ON p.account_id = o.id GROUP BY o.id, o.area, o.currency, o.debt
      )
      SELECT area, currency, COUNT(*) AS accounts, CAST(SUM(debt) AS BIGINT) AS debt,
        CAST(SUM(b0) AS BIGINT) AS b0, CAST(SUM(b31) AS BIGINT) AS b31, CAST(SUM(b61) AS BIGINT) AS b61, CAST(SUM(b91) AS BIGINT) AS b91
      FROM per_account GROUP BY area, currency ORDER BY area, currency`, args);
    return rows.map((r) => ({ areaId: areaOf(r.area), currency: String(r.currency), accounts: Number(r.accounts), debtMinor: Number(r.debt), ...buckets(r) }));
  }

  #owingRows(): string {
    return `SELECT a.id, a.name, a.customer_ref, a.currency, -b.balance_minor AS debt, ${this.#area('a.id')} AS area
      FROM fee_accounts a JOIN fee_balances b ON b.account_id = a.id WHERE b.balance_minor < 0`;
  }

  async recovery(months: readonly MonthSpan[]): Promise<RecoveryRow[]> {
    if (months.length === 0) return [];
    const args: (string | number | null)[] = [];
    const n = (v: number) => this.d.param(args, v, 'bigint');
    const values = months.map((m) => `(${this.d.param(args, m.month, 'text')}, ${n(m.start)}, ${n(m.end)})`).join(', ');
    const from = Math.min(...months.map((m) => m.start));
    const to = Math.max(...months.map((m) => m.end));
    // A reversal counts against the month of the payment it undoes: that money never came in.
    const rows = await this.run(`WITH months (month, s, e) AS (VALUES ${values}),
      flows AS (
        SELECT l.account_id, l.at, 0 AS paid, -l.amount_minor AS billed FROM fee_ledger l
          WHERE l.kind IN ${BILLED_KINDS} AND l.at >= ${n(from)} AND l.at < ${n(to)}
        UNION ALL
        SELECT l.account_id, l.at, l.amount_minor, 0 FROM fee_ledger l
          WHERE l.kind = 'payment' AND l.at >= ${n(from)} AND l.at < ${n(to)}
        UNION ALL
        SELECT r.account_id, p.at, r.amount_minor, 0 FROM fee_ledger r JOIN fee_ledger p ON p.payment_id = r.payment_id AND p.kind = 'payment'
          WHERE r.kind = 'reversal' AND p.at >= ${n(from)} AND p.at < ${n(to)}
      )
      SELECT ${this.#area('a.id')} AS area, months.month, a.currency, CAST(SUM(f.paid) AS BIGINT) AS paid, CAST(SUM(f.billed) AS BIGINT) AS billed
      FROM flows f JOIN months ON f.at >= months.s AND f.at < months.e JOIN fee_accounts a ON a.id = f.account_id
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args);
    return rows.map((r) => ({ areaId: areaOf(r.area), month: String(r.month), currency: String(r.currency), paidMinor: Number(r.paid), billedMinor: Number(r.billed) }));
  }

  /**
   * Disconnection periods from the decisions: a disconnect opens one (a repeated disconnect
   * while open changes nothing), the verified reconnection (`reconnect`, reason `reconnected`)
   * closes it. Dry-run decisions never acted and are left out.
   */
  #periods(): string {
    return `ev AS (
        SELECT account_id, seq, at, action FROM fee_decisions
        WHERE dry_run = ${this.d.no} AND (action = 'disconnect' OR (action = 'reconnect' AND reason = 'reconnected'))
      ),
      edges AS (
        SELECT * FROM (SELECT ev.*, LAG(action) OVER (PARTITION BY account_id ORDER BY seq) AS prev FROM ev) x
        WHERE prev IS NULL OR prev <> action
      ),
      periods AS (
        SELECT account_id, action, at AS started, LEAD(at) OVER (PARTITION BY account_id ORDER BY seq) AS ended FROM edges
      )`;
  }

  async disconnections(q: DisconnectionQuery): Promise<{ open: DisconnectionRow[]; closed: DisconnectionRow[] }> {
    const limit = reportLimit(q.limit);
    const openArgs: (string | number | null)[] = [];
    const open = await this.run(`SELECT s.account_id, a.name, ${this.#area('a.id')} AS area, COALESCE(s.disconnected_at, s.updated_at) AS started,
        NULL AS ended, s.stage, b.balance_minor, a.currency
      FROM fee_control_states s JOIN fee_accounts a ON a.id = s.account_id JOIN fee_balances b ON b.account_id = s.account_id
      WHERE s.stage IN ('disconnected', 'reconnecting') ORDER BY started, s.account_id LIMIT ${this.d.param(openArgs, limit, 'bigint')}`, openArgs);
    const args: (string | number | null)[] = [];
    const n = (v: number) => this.d.param(args, v, 'bigint');
    const closed = await this.run(`WITH ${this.#periods()}
      SELECT p.account_id, a.name, ${this.#area('a.id')} AS area, p.started, p.ended, NULL AS stage, b.balance_minor, a.currency
      FROM periods p JOIN fee_accounts a ON a.id = p.account_id JOIN fee_balances b ON b.account_id = p.account_id
      WHERE p.action = 'disconnect' AND p.ended IS NOT NULL AND p.ended >= ${n(q.from)} AND p.ended < ${n(q.to)}
      ORDER BY p.ended DESC, p.account_id LIMIT ${n(limit)}`, args);
    return { open: open.map(disconnectionOf), closed: closed.map(disconnectionOf) };
  }

  async reconnections(from: number, to: number, limit: number): Promise<ReconnectionRow[]> {
    const args: (string | number | null)[] = [];
    const n = (v: number) => this.d.param(args, v, 'bigint');
    // The payment that brought the balance from below the account's reconnection threshold to
    // at least it, the last such one between the disconnection and the verified reconnection
    // (an earlier one may have been reversed, or eaten by a charge, before the account was reconnected).
    const rows = await this.run(`WITH ${this.#periods()},
      closed AS (
        SELECT account_id, started, ended FROM periods
        WHERE action = 'disconnect' AND ended IS NOT NULL AND ended >= ${n(from)} AND ended < ${n(to)}
      ),
      running AS (
        SELECT l.account_id, l.seq, l.at, l.kind, l.payment_id, l.amount_minor,
          SUM(l.amount_minor) OVER (PARTITION BY l.account_id ORDER BY l.seq ROWS UNBOUNDED PRECEDING) AS bal
        FROM fee_ledger l WHERE l.account_id IN (SELECT account_id FROM closed)
      ),
      crossings AS (
        SELECT r.account_id, r.seq, r.at, r.payment_id FROM running r JOIN fee_accounts a ON a.id = r.account_id
        WHERE r.kind = 'payment' AND r.bal >= a.reconnect_minor AND r.bal - r.amount_minor < a.reconnect_minor
      )
      SELECT c.account_id, ${this.#area('c.account_id')} AS area, c.started, c.ended, x.at AS paid_at, x.payment_id
      FROM closed c JOIN crossings x ON x.account_id = c.account_id AND x.at >= c.started AND x.at <= c.ended
      WHERE NOT EXISTS (SELECT 1 FROM crossings y WHERE y.account_id = c.account_id AND y.at >= c.started AND y.at <= c.ended AND y.seq > x.seq)
      ORDER BY c.ended, c.account_id LIMIT ${n(Math.max(1, Math.trunc(limit)))}`, args);
    return rows.map((r) => ({
      accountId: String(r.account_id), areaId: areaOf(r.area), disconnectedAt: Number(r.started), paidAt: Number(r.paid_at),
      paymentId: textOrNull(r.payment_id), reconnectedAt: Number(r.ended),
    }));
  }

  async watched(limit: number): Promise<WatchedAccountRow[]> {
    const args: (string | number | null)[] = [];
    const rows = await this.run(`SELECT * FROM (
        SELECT s.account_id, a.name, ${this.#area('a.id')} AS area, s.stage, b.balance_minor, a.currency, a.warn_first_minor,
          a.credit_limit_minor, a.reconnect_minor, s.next_window_at, s.disconnected_at, s.updated_at,
          ROW_NUMBER() OVER (PARTITION BY s.stage ORDER BY b.balance_minor, ${this.d.bytes('s.account_id')}) AS rn
        FROM fee_control_states s JOIN fee_accounts a ON a.id = s.account_id JOIN fee_balances b ON b.account_id = s.account_id
        WHERE s.stage <> 'normal' OR b.balance_minor < 2 * a.warn_first_minor - a.warn_second_minor
      ) w WHERE rn <= ${this.d.param(args, reportLimit(limit), 'bigint')} ORDER BY stage, balance_minor, ${this.d.bytes('account_id')}`, args);
    return rows.map((r) => ({
      accountId: String(r.account_id), name: String(r.name), areaId: areaOf(r.area), stage: r.stage as FeeControlStage,
      balanceMinor: Number(r.balance_minor), currency: String(r.currency), warnFirstMinor: Number(r.warn_first_minor),
      creditLimitMinor: Number(r.credit_limit_minor), reconnectMinor: Number(r.reconnect_minor),
      nextWindowAt: numberOrNull(r.next_window_at), disconnectedAt: numberOrNull(r.disconnected_at), updatedAt: Number(r.updated_at),
    }));
  }
}

const BUCKET_SUMS = `CAST(COALESCE(SUM(CASE WHEN p.age <= 30 THEN p.part END), 0) AS BIGINT) AS b0,
  CAST(COALESCE(SUM(CASE WHEN p.age > 30 AND p.age <= 60 THEN p.part END), 0) AS BIGINT) AS b31,
  CAST(COALESCE(SUM(CASE WHEN p.age > 60 AND p.age <= 90 THEN p.part END), 0) AS BIGINT) AS b61,
  CAST(COALESCE(SUM(CASE WHEN p.age > 90 THEN p.part END), 0) AS BIGINT) AS b91`;

function buckets(r: Row) {
  return { d0to30Minor: Number(r.b0), d31to60Minor: Number(r.b31), d61to90Minor: Number(r.b61), over90Minor: Number(r.b91) };
}

function areaOf(v: unknown): string | null {
  return v === '' ? null : textOrNull(v);
}

function textOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function disconnectionOf(r: Row): DisconnectionRow {
  return {
    accountId: String(r.account_id), name: String(r.name), areaId: areaOf(r.area), disconnectedAt: Number(r.started),
    reconnectedAt: numberOrNull(r.ended), stage: r.stage === null ? null : r.stage as FeeControlStage,
    balanceMinor: Number(r.balance_minor), currency: String(r.currency),
  };
}
