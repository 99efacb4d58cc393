/**
 * The fee store (src/fees/store.ts) on PostgreSQL, migration 24, shared by every node.
 *
 * Every append takes one transaction-scoped advisory lock before it reads or writes: appends
 * from all nodes run one after the other, so a row's sequence number is drawn and committed
 * before the next append draws one. A reader of `changedSince` therefore never sees seq 12
 * while 11 is still to commit, and the checks made before the insert (the key, the paymentId,
 * the request key) cannot be raced by another node. A batch of rows is a few statements
 * however many rows it holds (the fee run books 100,000 charges at a time).
 */
import { ADVISORY_LOCK_SPACE, refusalsKept, type PostgresDatabase, type Queryable } from '../storage/postgres/connection.js';
import {
  AccountHasLedger, FeeAccountExists, FeeStateChanged, IdempotencyConflict, LedgerCurrencyMismatch, MeterInOtherAccount, PaymentExists, UnknownFeeAccount,
} from './errors.js';
import type { Balance, EmergencyFlag, FeeAccount, FeeControlState, FeeDecision, LedgerEntry } from './model.js';
import {
  accountOf, balanceOf, controlStateOf, decisionOf, entryOf,
  type AccountRow, type BalanceRow, type ControlRow, type DecisionRow, type LedgerRow,
} from './rows.js';
import {
  NO_EMERGENCY, initialControlState, pageLimit, seqPage,
  type AccountQuery, type AppendedEntry, type FeeAccountRecord, type FeeControlUpdate, type FeeStore, type LedgerChanges,
  type NewFeeDecision, type NewLedgerEntry, type Page, type RequestedEntry, type SeqPage,
} from './store.js';

/** pg_advisory_xact_lock key under ADVISORY_LOCK_SPACE: 'fees'. */
export const LOCK_FEE_LEDGER = 0x66656573;

export class PostgresFeeStore implements FeeStore {
  readonly #db: PostgresDatabase;
  /** The pool, with the store's own refusals (thrown inside a transaction to roll it back) coming out as themselves, not as a query failure. */
  private readonly db: Pick<PostgresDatabase, 'run'>;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.db = { run: (work) => refusalsKept(this.#db, work) };
  }

  createAccount(a: FeeAccount): Promise<void> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      const inserted = await tx`INSERT INTO fee_accounts ${tx(accountParams(tx, a))} ON CONFLICT (id) DO NOTHING RETURNING id`;
      if (inserted.length === 0) throw new FeeAccountExists(a.id);
      await putMeters(tx, a);
      await tx`INSERT INTO fee_balances (account_id, balance_minor, through_seq) VALUES (${a.id}, 0, 0)`;
      const s = initialControlState(a.id, a.createdAt);
      await tx`INSERT INTO fee_control_states (account_id, stage, updated_at, version) VALUES (${a.id}, ${s.stage}, ${s.updatedAt}, ${s.version})`;
    }));
  }

  updateAccount(a: FeeAccount): Promise<void> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      const { id: _id, created_at: _created, ...columns } = accountParams(tx, a);
      const updated = await tx`UPDATE fee_accounts SET ${tx(columns)} WHERE id = ${a.id} RETURNING id`;
      if (updated.length === 0) throw new UnknownFeeAccount(a.id);
      await tx`DELETE FROM fee_account_meters WHERE account_id = ${a.id}`;
      await putMeters(tx, a);
    }));
  }

  async account(id: string): Promise<FeeAccountRecord | undefined> {
    const [record] = await this.db.run(async (sql) => records(sql, await sql<AccountRow[]>`SELECT * FROM fee_accounts WHERE id = ${id}`));
    return record;
  }

  accounts(q: AccountQuery): Promise<Page<FeeAccountRecord, string>> {
    const limit = pageLimit(q.limit);
    return this.db.run(async (sql) => {
      const none = sql``;
      const rows = await sql<AccountRow[]>`SELECT a.* FROM fee_accounts a WHERE a.id > ${q.after ?? ''}
        ${q.mode === undefined ? none : sql`AND a.mode = ${q.mode}`}
        ${q.stage === undefined ? none : sql`AND a.id IN (SELECT account_id FROM fee_control_states WHERE stage = ${q.stage})`}
        ORDER BY a.id LIMIT ${limit + 1}`;
      const page = rows.slice(0, limit);
      return { items: await records(sql, page), next: rows.length > limit ? page.at(-1)?.id ?? null : null };
    });
  }

  async accountsOfMeter(meterId: string): Promise<FeeAccount[]> {
    return this.db.run(async (sql) => {
      const rows = await sql<AccountRow[]>`SELECT a.* FROM fee_accounts a JOIN fee_account_meters m ON m.account_id = a.id WHERE m.meter_id = ${meterId}`;
      return (await records(sql, rows)).map((r) => r.account);
    });
  }

  deleteAccount(id: string): Promise<boolean> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      // Under the append lock: no row can be booked between the check and the delete.
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_FEE_LEDGER})`;
      const [booked] = await tx`SELECT 1 FROM fee_ledger WHERE account_id = ${id} LIMIT 1`;
      if (booked !== undefined) throw new AccountHasLedger(id);
      return (await tx`DELETE FROM fee_accounts WHERE id = ${id}`).count > 0;
    }));
  }

  append(entries: readonly NewLedgerEntry[]): Promise<AppendedEntry[]> {
    if (entries.length === 0) return Promise.resolve([]);
    return this.db.run((sql) => sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_FEE_LEDGER})`;
      const currencies = new Map((await tx<{ id: string; currency: string }[]>`SELECT id, currency FROM fee_accounts
        WHERE id = ANY(${[...new Set(entries.map((e) => e.accountId))]})`).map((r) => [r.id, r.currency]));
      const existing = new Map((await tx<LedgerRow[]>`SELECT l.* FROM fee_ledger l
        JOIN jsonb_to_recordset(${tx.json(entries.map((e) => ({ a: e.accountId, k: e.key })))}) AS w(a text, k text) ON l.account_id = w.a AND l.key = w.k`)
        .map((r) => [`${r.account_id}\n${r.key}`, r]));
      const paymentIds = entries.flatMap((e) => (e.kind === 'payment' && e.paymentId !== undefined ? [e.paymentId] : []));
      const paid = new Map(paymentIds.length === 0 ? [] : (await tx<{ payment_id: string; account_id: string }[]>`SELECT payment_id, account_id FROM fee_ledger
        WHERE kind = 'payment' AND payment_id = ANY(${paymentIds})`).map((r) => [r.payment_id, r.account_id]));
      const requests = entries.flatMap((e) => (e.request === undefined ? [] : [{ a: e.actor, k: e.request.key }]));
      const taken = new Map(requests.length === 0 ? [] : (await tx<{ seq: number; actor: string; request_key: string }[]>`SELECT l.seq, l.actor, l.request_key FROM fee_ledger l
        JOIN jsonb_to_recordset(${tx.json(requests)}) AS w(a text, k text) ON l.actor = w.a AND l.request_key = w.k`).map((r) => [`${r.actor}\n${r.request_key}`, r.seq]));

      // Decide every row before writing any, in order, as the embedded store does one by one.
      const fresh: { readonly ord: number; readonly e: NewLedgerEntry }[] = [];
      const freshKeys = new Map<string, number>();
      for (const [ord, e] of entries.entries()) {
        const currency = currencies.get(e.accountId);
        if (currency === undefined) throw new UnknownFeeAccount(e.accountId);
        if (currency !== e.currency) throw new LedgerCurrencyMismatch(e.accountId, e.currency, currency);
        const key = `${e.accountId}\n${e.key}`;
        if (existing.has(key) || freshKeys.has(key)) continue;
        if (e.kind === 'payment' && e.paymentId !== undefined) {
          const owner = paid.get(e.paymentId);
          if (owner !== undefined) throw new PaymentExists(e.paymentId, owner);
          paid.set(e.paymentId, e.accountId);
        }
        if (e.request !== undefined) {
          const seq = taken.get(`${e.actor}\n${e.request.key}`);
          if (seq !== undefined) throw new IdempotencyConflict(e.request.key, seq);
          taken.set(`${e.actor}\n${e.request.key}`, -1);
        }
        freshKeys.set(key, ord);
        fresh.push({ ord, e });
      }

      const inserted = new Map<string, number>();
      if (fresh.length > 0) {
        const rows = fresh.map(({ ord, e }) => ({
          ord, account_id: e.accountId, kind: e.kind, amount_minor: e.amountMinor, currency: e.currency, key: e.key, at: e.at,
          period_from: e.periodFrom ?? null, period_to: e.periodTo ?? null, payment_id: e.paymentId ?? null,
          detail: e.detail === undefined ? null : e.detail, actor: e.actor, request_key: e.request?.key ?? null, body_hash: e.request?.bodyHash ?? null,
        }));
        // ORDER BY ord: the identity is drawn in the order the rows were given.
        const written = await tx<{ seq: number; account_id: string; key: string; amount_minor: number }[]>`INSERT INTO fee_ledger
          (account_id, kind, amount_minor, currency, key, at, period_from, period_to, payment_id, detail, actor, request_key, body_hash)
          SELECT account_id, kind, amount_minor, currency, key, at, period_from, period_to, payment_id, detail, actor, request_key, body_hash
          FROM jsonb_to_recordset(${tx.json(rows)}) AS r(ord integer, account_id text, kind text, amount_minor bigint, currency text, key text, at bigint,
            period_from bigint, period_to bigint, payment_id text, detail jsonb, actor text, request_key text, body_hash text)
          ORDER BY ord
          RETURNING seq, account_id, key, amount_minor`;
        const sums = new Map<string, { sum: number; through: number }>();
        for (const w of written) {
          inserted.set(`${w.account_id}\n${w.key}`, w.seq);
          const s = sums.get(w.account_id) ?? { sum: 0, through: 0 };
          sums.set(w.account_id, { sum: s.sum + w.amount_minor, through: Math.max(s.through, w.seq) });
        }
        const deltas = [...sums].map(([a, s]) => ({ a, s: s.sum, t: s.through }));
        await tx`UPDATE fee_balances b SET balance_minor = b.balance_minor + d.s, through_seq = d.t
          FROM jsonb_to_recordset(${tx.json(deltas)}) AS d(a text, s bigint, t bigint) WHERE b.account_id = d.a`;
      }

      return entries.map((e, ord): AppendedEntry => {
        const key = `${e.accountId}\n${e.key}`;
        const before = existing.get(key);
        if (before !== undefined) return { ...entryOf(before), duplicate: true };
        const seq = inserted.get(key);
        const { request: _request, ...entry } = e;
        if (seq === undefined) throw new Error(`ledger row ${key} was neither found nor written`);
        // A key given twice in one batch: the first is written, the second is its duplicate.
        return { ...entry, seq, duplicate: freshKeys.get(key) !== ord };
      });
    }));
  }

  async balance(accountId: string): Promise<Balance | undefined> {
    const [row] = await this.db.run((sql) => sql<BalanceRow[]>`SELECT b.*, a.currency FROM fee_balances b JOIN fee_accounts a ON a.id = b.account_id
      WHERE b.account_id = ${accountId}`);
    return row === undefined ? undefined : balanceOf(row);
  }

  async entries(accountId: string, page: SeqPage): Promise<Page<LedgerEntry, number>> {
    const limit = pageLimit(page.limit);
    const rows = await this.db.run((sql) => sql<LedgerRow[]>`SELECT * FROM fee_ledger WHERE account_id = ${accountId}
      AND seq < ${page.before ?? Number.MAX_SAFE_INTEGER} ORDER BY seq DESC LIMIT ${limit + 1}`);
    return seqPage(rows.map(entryOf), limit);
  }

  async byRequest(actor: string, key: string): Promise<RequestedEntry | undefined> {
    const [row] = await this.db.run((sql) => sql<LedgerRow[]>`SELECT * FROM fee_ledger WHERE actor = ${actor} AND request_key = ${key}`);
    return row === undefined ? undefined : { entry: entryOf(row), bodyHash: row.body_hash ?? '' };
  }

  async payment(paymentId: string): Promise<LedgerEntry | undefined> {
    const [row] = await this.db.run((sql) => sql<LedgerRow[]>`SELECT * FROM fee_ledger WHERE payment_id = ${paymentId} AND kind = 'payment'`);
    return row === undefined ? undefined : entryOf(row);
  }

  async reversal(paymentId: string): Promise<LedgerEntry | undefined> {
    const [row] = await this.db.run((sql) => sql<LedgerRow[]>`SELECT * FROM fee_ledger WHERE payment_id = ${paymentId} AND kind = 'reversal'`);
    return row === undefined ? undefined : entryOf(row);
  }

  async changedSince(seq: number, limit: number): Promise<LedgerChanges> {
    const rows = await this.db.run((sql) => sql<{ seq: number; account_id: string }[]>`SELECT seq, account_id FROM fee_ledger
      WHERE seq > ${seq} ORDER BY seq LIMIT ${pageLimit(limit)}`);
    return { accountIds: [...new Set(rows.map((r) => r.account_id))], throughSeq: rows.at(-1)?.seq ?? seq };
  }

  async controlState(accountId: string): Promise<FeeControlState | undefined> {
    const [row] = await this.db.run((sql) => sql<ControlRow[]>`SELECT * FROM fee_control_states WHERE account_id = ${accountId}`);
    return row === undefined ? undefined : controlStateOf(row);
  }

  async saveControlState(next: FeeControlUpdate, expectedVersion: number): Promise<FeeControlState> {
    return this.db.run(async (sql) => {
      const [row] = await sql<ControlRow[]>`UPDATE fee_control_states SET stage = ${next.stage}, warned_first_at = ${next.warnedFirstAt},
        warned_second_at = ${next.warnedSecondAt}, disconnect_due_at = ${next.disconnectDueAt}, next_window_at = ${next.nextWindowAt},
        disconnected_at = ${next.disconnectedAt}, last_command_id = ${next.lastCommandId}, updated_at = ${next.updatedAt}, version = version + 1
        WHERE account_id = ${next.accountId} AND version = ${expectedVersion} RETURNING *`;
      if (row !== undefined) return controlStateOf(row);
      const [now] = await sql<{ version: number }[]>`SELECT version FROM fee_control_states WHERE account_id = ${next.accountId}`;
      if (now === undefined) throw new UnknownFeeAccount(next.accountId);
      throw new FeeStateChanged(next.accountId, expectedVersion, now.version);
    });
  }

  async recordDecisions(decisions: readonly NewFeeDecision[]): Promise<FeeDecision[]> {
    if (decisions.length === 0) return [];
    const rows = decisions.map((d, ord) => ({
      ord, account_id: d.accountId, at: d.at, action: d.action, reason: d.reason, message: d.message, balance_minor: d.balanceMinor,
      next_window_at: d.nextWindowAt ?? null, command_id: d.commandId ?? null, dry_run: d.dryRun === true,
    }));
    const written = await this.db.run((sql) => sql<DecisionRow[]>`INSERT INTO fee_decisions
      (account_id, at, action, reason, message, balance_minor, next_window_at, command_id, dry_run)
      SELECT account_id, at, action, reason, message, balance_minor, next_window_at, command_id, dry_run
      FROM jsonb_to_recordset(${sql.json(rows)}) AS r(ord integer, account_id text, at bigint, action text, reason text, message text,
        balance_minor bigint, next_window_at bigint, command_id text, dry_run boolean)
      ORDER BY ord RETURNING *`);
    return written.map(decisionOf).sort((a, b) => a.seq - b.seq);
  }

  async decisions(accountId: string | undefined, page: SeqPage): Promise<Page<FeeDecision, number>> {
    const limit = pageLimit(page.limit);
    const rows = await this.db.run((sql) => sql<DecisionRow[]>`SELECT * FROM fee_decisions WHERE seq < ${page.before ?? Number.MAX_SAFE_INTEGER}
      ${accountId === undefined ? sql`` : sql`AND account_id = ${accountId}`} ORDER BY seq DESC LIMIT ${limit + 1}`);
    return seqPage(rows.map(decisionOf), limit);
  }

  async emergency(): Promise<EmergencyFlag> {
    const [row] = await this.db.run((sql) => sql<{ active: boolean; reason: string | null; set_by: string | null; since: number | null }[]>`SELECT active, reason, set_by, since
      FROM fee_emergency WHERE id = 1`);
    return row === undefined ? NO_EMERGENCY : { active: row.active, reason: row.reason, setBy: row.set_by, since: row.since };
  }

  async setEmergency(flag: EmergencyFlag): Promise<void> {
    await this.db.run((sql) => sql`INSERT INTO fee_emergency (id, active, reason, set_by, since) VALUES (1, ${flag.active}, ${flag.reason}, ${flag.setBy}, ${flag.since})
      ON CONFLICT (id) DO UPDATE SET active = excluded.active, reason = excluded.reason, set_by = excluded.set_by, since = excluded.since`);
  }
}

/** The accounts with their meters, balances and states: one query each for the whole page. */
async function records(sql: Queryable, rows: readonly AccountRow[]): Promise<FeeAccountRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const meters = await sql<{ account_id: string; meter_id: string }[]>`SELECT account_id, meter_id FROM fee_account_meters WHERE account_id = ANY(${ids}) ORDER BY account_id, position`;
  const balances = await sql<BalanceRow[]>`SELECT b.*, a.currency FROM fee_balances b JOIN fee_accounts a ON a.id = b.account_id WHERE b.account_id = ANY(${ids})`;
  const states = await sql<ControlRow[]>`SELECT * FROM fee_control_states WHERE account_id = ANY(${ids})`;
  const metersOf = new Map<string, string[]>();
  for (const m of meters) {
    let list = metersOf.get(m.account_id);
    if (list === undefined) metersOf.set(m.account_id, (list = []));
    list.push(m.meter_id);
  }
  const balanceOfId = new Map(balances.map((b) => [b.account_id, b]));
  const stateOfId = new Map(states.map((s) => [s.account_id, s]));
  return rows.map((r) => {
    const b = balanceOfId.get(r.id);
    const s = stateOfId.get(r.id);
    return {
      account: accountOf(r, metersOf.get(r.id) ?? []),
      balance: b === undefined ? { accountId: r.id, amountMinor: 0, currency: r.currency, throughSeq: 0 } : balanceOf(b),
      control: s === undefined ? initialControlState(r.id, r.created_at) : controlStateOf(s),
    };
  });
}

async function putMeters(tx: Queryable, a: FeeAccount): Promise<void> {
  if (a.meterIds.length === 0) return;
  const rows = a.meterIds.map((meterId, position) => ({ meter_id: meterId, position }));
  const taken = await tx<{ meter_id: string; account_id: string }[]>`SELECT meter_id, account_id FROM fee_account_meters WHERE meter_id = ANY(${[...a.meterIds]})`;
  const first = taken[0];
  if (first !== undefined) throw new MeterInOtherAccount(first.meter_id, first.account_id);
  // A meter another transaction claims at the same moment meets the primary key: reported as the same refusal.
  const inserted = await tx`INSERT INTO fee_account_meters (meter_id, account_id, position)
    SELECT meter_id, ${a.id}, position FROM jsonb_to_recordset(${tx.json(rows)}) AS r(meter_id text, position integer)
    ON CONFLICT (meter_id) DO NOTHING RETURNING meter_id`;
  if (inserted.length < rows.length) {
    const mine = new Set(inserted.map((r) => (r as { meter_id: string }).meter_id));
    const lost = a.meterIds.find((m) => !mine.has(m)) ?? '';
    const [owner] = await tx<{ account_id: string }[]>`SELECT account_id FROM fee_account_meters WHERE meter_id = ${lost}`;
    throw new MeterInOtherAccount(lost, owner?.account_id ?? 'another account');
  }
}

function accountParams(sql: Queryable, a: FeeAccount) {
  return {
    id: a.id, customer_ref: a.customerRef, name: a.name, mode: a.mode, cycle: a.cycle === undefined ? null : sql.json({ ...a.cycle }),
    tariff_id: a.tariffId, currency: a.currency, credit_limit_minor: a.creditLimitMinor, warn_first_minor: a.warnFirstMinor,
    warn_second_minor: a.warnSecondMinor, reconnect_minor: a.reconnectMinor, protected: a.protected,
    notify: sql.json({ ...a.notify }), created_at: a.createdAt, updated_at: a.updatedAt,
  };
}
