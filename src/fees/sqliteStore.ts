/**
 * The fee store (src/fees/store.ts) in the embedded SQLite file, migration 17. better-sqlite3
 * is synchronous and the file has one writer, so each method does its work at once inside one
 * transaction where it writes more than one row, and answers settled.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../storage/db.js';
import {
  AccountHasLedger, FeeAccountExists, FeeStateChanged, IdempotencyConflict, LedgerCurrencyMismatch, MeterInOtherAccount, PaymentExists, UnknownFeeAccount,
} from './errors.js';
import type { Balance, EmergencyFlag, FeeAccount, FeeControlState, FeeDecision, LedgerEntry } from './model.js';
import {
  NO_EMERGENCY, initialControlState, pageLimit, seqPage,
  type AccountQuery, type AppendedEntry, type FeeAccountRecord, type FeeControlUpdate, type FeeStore, type LedgerChanges,
  type NewFeeDecision, type NewLedgerEntry, type Page, type RequestedEntry, type SeqPage,
} from './store.js';
import {
  accountOf as accountOfRow, balanceOf, controlStateOf, decisionOf as decisionOfRow, entryOf as entryOfRow,
  type AccountRow as StoredAccountRow, type BalanceRow, type ControlRow, type DecisionRow as StoredDecisionRow, type LedgerRow as StoredLedgerRow,
} from './rows.js';

// The rows as SQLite holds them: JSON as text, flags as 0/1.
type AccountRow = Omit<StoredAccountRow, 'cycle' | 'protected' | 'notify'> & { cycle: string | null; protected: number; notify: string };
type LedgerRow = Omit<StoredLedgerRow, 'detail'> & { detail: string | null };
type DecisionRow = Omit<StoredDecisionRow, 'dry_run'> & { dry_run: number };

export class SqliteFeeStore implements FeeStore {
  readonly #insertAccount: Statement<[Record<string, unknown>]>;
  readonly #updateAccount: Statement<[Record<string, unknown>]>;
  readonly #account: Statement<[string], AccountRow>;
  readonly #metersOf: Statement<[string], { meter_id: string }>;
  readonly #ownerOf: Statement<[string], { account_id: string }>;
  readonly #insertMeter: Statement<[string, string, number]>;
  readonly #clearMeters: Statement<[string]>;
  readonly #balance: Statement<[string], BalanceRow>;
  readonly #state: Statement<[string], ControlRow>;
  readonly #byKey: Statement<[string, string], LedgerRow>;
  readonly #byRequest: Statement<[string, string], LedgerRow>;
  readonly #payment: Statement<[string], LedgerRow>;
  readonly #reversal: Statement<[string], LedgerRow>;
  readonly #insertEntry: Statement<[Record<string, unknown>]>;
  readonly #addToBalance: Statement<[number, number, string]>;

  constructor(private readonly db: Db) {
    const accountColumns = `customer_ref = @customer_ref, name = @name, mode = @mode, cycle = @cycle, tariff_id = @tariff_id, currency = @currency,
      credit_limit_minor = @credit_limit_minor, warn_first_minor = @warn_first_minor, warn_second_minor = @warn_second_minor,
      reconnect_minor = @reconnect_minor, protected = @protected, notify = @notify, updated_at = @updated_at`;
    this.#insertAccount = db.prepare(`INSERT INTO fee_accounts (id, customer_ref, name, mode, cycle, tariff_id, currency, credit_limit_minor,
      warn_first_minor, warn_second_minor, reconnect_minor, protected, notify, created_at, updated_at)
      VALUES (@id, @customer_ref, @name, @mode, @cycle, @tariff_id, @currency, @credit_limit_minor,
      @warn_first_minor, @warn_second_minor, @reconnect_minor, @protected, @notify, @created_at, @updated_at)`);
    this.#updateAccount = db.prepare(`UPDATE fee_accounts SET ${accountColumns} WHERE id = @id`);
    this.#account = db.prepare('SELECT * FROM fee_accounts WHERE id = ?');
    this.#metersOf = db.prepare('SELECT meter_id FROM fee_account_meters WHERE account_id = ? ORDER BY position');
    this.#ownerOf = db.prepare('SELECT account_id FROM fee_account_meters WHERE meter_id = ?');
    this.#insertMeter = db.prepare('INSERT INTO fee_account_meters (meter_id, account_id, position) VALUES (?, ?, ?)');
    this.#clearMeters = db.prepare('DELETE FROM fee_account_meters WHERE account_id = ?');
    this.#balance = db.prepare('SELECT b.*, a.currency FROM fee_balances b JOIN fee_accounts a ON a.id = b.account_id WHERE b.account_id = ?');
    this.#state = db.prepare('SELECT * FROM fee_control_states WHERE account_id = ?');
    this.#byKey = db.prepare('SELECT * FROM fee_ledger WHERE account_id = ? AND key = ?');
    this.#byRequest = db.prepare('SELECT * FROM fee_ledger WHERE actor = ? AND request_key = ?');
    this.#payment = db.prepare("SELECT * FROM fee_ledger WHERE payment_id = ? AND kind = 'payment'");
    this.#reversal = db.prepare("SELECT * FROM fee_ledger WHERE payment_id = ? AND kind = 'reversal'");
    this.#insertEntry = db.prepare(`INSERT INTO fee_ledger (account_id, kind, amount_minor, currency, key, at, period_from, period_to, payment_id, detail, actor, request_key, body_hash)
      VALUES (@account_id, @kind, @amount_minor, @currency, @key, @at, @period_from, @period_to, @payment_id, @detail, @actor, @request_key, @body_hash)`);
    this.#addToBalance = db.prepare('UPDATE fee_balances SET balance_minor = balance_minor + ?, through_seq = ? WHERE account_id = ?');
  }

  createAccount(a: FeeAccount): Promise<void> {
    return settled(() => { this.db.transaction(() => {
      if (this.#account.get(a.id) !== undefined) throw new FeeAccountExists(a.id);
      this.#insertAccount.run(accountParams(a));
      this.#putMeters(a);
      this.db.prepare('INSERT INTO fee_balances (account_id, balance_minor, through_seq) VALUES (?, 0, 0)').run(a.id);
      const s = initialControlState(a.id, a.createdAt);
      this.db.prepare('INSERT INTO fee_control_states (account_id, stage, updated_at, version) VALUES (?, ?, ?, ?)').run(a.id, s.stage, s.updatedAt, s.version);
    })(); });
  }

  updateAccount(a: FeeAccount): Promise<void> {
    return settled(() => { this.db.transaction(() => {
      if (this.#updateAccount.run(accountParams(a)).changes === 0) throw new UnknownFeeAccount(a.id);
      this.#clearMeters.run(a.id);
      this.#putMeters(a);
    })(); });
  }

  #putMeters(a: FeeAccount): void {
    for (const [position, meterId] of a.meterIds.entries()) {
      const owner = this.#ownerOf.get(meterId);
      if (owner !== undefined) throw new MeterInOtherAccount(meterId, owner.account_id);
      this.#insertMeter.run(meterId, a.id, position);
    }
  }

  account(id: string): Promise<FeeAccountRecord | undefined> {
    return settled(() => {
      const row = this.#account.get(id);
      return row === undefined ? undefined : this.#record(row);
    });
  }

  #record(row: AccountRow): FeeAccountRecord {
    const balance = this.#balance.get(row.id);
    const state = this.#state.get(row.id);
    return {
      account: accountOf(row, this.#metersOf.all(row.id).map((m) => m.meter_id)),
      balance: balance === undefined ? { accountId: row.id, amountMinor: 0, currency: row.currency, throughSeq: 0 } : balanceOf(balance),
      control: state === undefined ? initialControlState(row.id, row.created_at) : controlStateOf(state),
    };
  }

  accounts(q: AccountQuery): Promise<Page<FeeAccountRecord, string>> {
    return settled(() => {
      const where = ['a.id > ?'];
      const args: (string | number)[] = [q.after ?? ''];
      if (q.mode !== undefined) { where.push('a.mode = ?'); args.push(q.mode); }
      if (q.stage !== undefined) { where.push('a.id IN (SELECT account_id FROM fee_control_states WHERE stage = ?)'); args.push(q.stage); }
      const limit = pageLimit(q.limit);
      const rows = this.db.prepare(`SELECT a.* FROM fee_accounts a WHERE ${where.join(' AND ')} ORDER BY a.id LIMIT ?`).all(...args, limit + 1) as AccountRow[];
      const page = rows.slice(0, limit);
      return { items: page.map((r) => this.#record(r)), next: rows.length > limit ? page.at(-1)?.id ?? null : null };
    });
  }

  accountsOfMeter(meterId: string): Promise<FeeAccount[]> {
    return settled(() => {
      const owner = this.#ownerOf.get(meterId);
      const row = owner === undefined ? undefined : this.#account.get(owner.account_id);
      return row === undefined ? [] : [accountOf(row, this.#metersOf.all(row.id).map((m) => m.meter_id))];
    });
  }

  deleteAccount(id: string): Promise<boolean> {
    return settled(() => this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM fee_ledger WHERE account_id = ? LIMIT 1').get(id) !== undefined) throw new AccountHasLedger(id);
      return this.db.prepare('DELETE FROM fee_accounts WHERE id = ?').run(id).changes > 0;
    })());
  }

  append(entries: readonly NewLedgerEntry[]): Promise<AppendedEntry[]> {
    return settled(() => this.db.transaction(() => {
      // A fee run's batch names each account once or a few times: its currency is read once.
      const currencies = new Map<string, string | undefined>();
      return entries.map((e) => {
        if (!currencies.has(e.accountId)) currencies.set(e.accountId, this.#account.get(e.accountId)?.currency);
        return this.#appendOne(e, currencies.get(e.accountId));
      });
    })());
  }

  #appendOne(e: NewLedgerEntry, currency: string | undefined): AppendedEntry {
    if (currency === undefined) throw new UnknownFeeAccount(e.accountId);
    if (currency !== e.currency) throw new LedgerCurrencyMismatch(e.accountId, e.currency, currency);
    const existing = this.#byKey.get(e.accountId, e.key);
    if (existing !== undefined) return { ...entryOf(existing), duplicate: true };
    if (e.kind === 'payment' && e.paymentId !== undefined) {
      const paid = this.#payment.get(e.paymentId);
      if (paid !== undefined) throw new PaymentExists(e.paymentId, paid.account_id);
    }
    if (e.request !== undefined) {
      const taken = this.#byRequest.get(e.actor, e.request.key);
      if (taken !== undefined) throw new IdempotencyConflict(e.request.key, taken.seq);
    }
    const seq = Number(this.#insertEntry.run(entryParams(e)).lastInsertRowid);
    this.#addToBalance.run(e.amountMinor, seq, e.accountId);
    const { request: _request, ...entry } = e;
    return { ...entry, seq, duplicate: false };
  }

  balance(accountId: string): Promise<Balance | undefined> {
    return settled(() => {
      const row = this.#balance.get(accountId);
      return row === undefined ? undefined : balanceOf(row);
    });
  }

  entries(accountId: string, page: SeqPage): Promise<Page<LedgerEntry, number>> {
    return settled(() => {
      const limit = pageLimit(page.limit);
      const rows = this.db.prepare('SELECT * FROM fee_ledger WHERE account_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
        .all(accountId, page.before ?? Number.MAX_SAFE_INTEGER, limit + 1) as LedgerRow[];
      return seqPage(rows.map(entryOf), limit);
    });
  }

  byRequest(actor: string, key: string): Promise<RequestedEntry | undefined> {
    return settled(() => {
      const row = this.#byRequest.get(actor, key);
      return row === undefined ? undefined : { entry: entryOf(row), bodyHash: row.body_hash ?? '' };
    });
  }

  payment(paymentId: string): Promise<LedgerEntry | undefined> {
    return settled(() => {
      const row = this.#payment.get(paymentId);
      return row === undefined ? undefined : entryOf(row);
    });
  }

  reversal(paymentId: string): Promise<LedgerEntry | undefined> {
    return settled(() => {
      const row = this.#reversal.get(paymentId);
      return row === undefined ? undefined : entryOf(row);
    });
  }

  changedSince(seq: number, limit: number): Promise<LedgerChanges> {
    return settled(() => {
      const rows = this.db.prepare('SELECT seq, account_id FROM fee_ledger WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(seq, pageLimit(limit)) as { seq: number; account_id: string }[];
      return { accountIds: [...new Set(rows.map((r) => r.account_id))], throughSeq: rows.at(-1)?.seq ?? seq };
    });
  }

  controlState(accountId: string): Promise<FeeControlState | undefined> {
    return settled(() => {
      const row = this.#state.get(accountId);
      return row === undefined ? undefined : controlStateOf(row);
    });
  }

  saveControlState(next: FeeControlUpdate, expectedVersion: number): Promise<FeeControlState> {
    return settled(() => this.db.transaction(() => {
      const changed = this.db.prepare(`UPDATE fee_control_states SET stage = ?, warned_first_at = ?, warned_second_at = ?, disconnect_due_at = ?,
        next_window_at = ?, disconnected_at = ?, last_command_id = ?, updated_at = ?, version = version + 1 WHERE account_id = ? AND version = ?`)
        .run(next.stage, next.warnedFirstAt, next.warnedSecondAt, next.disconnectDueAt, next.nextWindowAt, next.disconnectedAt, next.lastCommandId,
          next.updatedAt, next.accountId, expectedVersion).changes;
      if (changed === 0) {
        const now = this.#state.get(next.accountId);
        if (now === undefined) throw new UnknownFeeAccount(next.accountId);
        throw new FeeStateChanged(next.accountId, expectedVersion, now.version);
      }
      return { ...next, version: expectedVersion + 1 };
    })());
  }

  recordDecisions(decisions: readonly NewFeeDecision[]): Promise<FeeDecision[]> {
    return settled(() => this.db.transaction(() => {
      const insert = this.db.prepare(`INSERT INTO fee_decisions (account_id, at, action, reason, message, balance_minor, next_window_at, command_id, dry_run)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      return decisions.map((d) => {
        const seq = Number(insert.run(d.accountId, d.at, d.action, d.reason, d.message, d.balanceMinor, d.nextWindowAt ?? null, d.commandId ?? null, d.dryRun === true ? 1 : 0).lastInsertRowid);
        return { ...d, seq };
      });
    })());
  }

  decisions(accountId: string | undefined, page: SeqPage): Promise<Page<FeeDecision, number>> {
    return settled(() => {
      const limit = pageLimit(page.limit);
      const before = page.before ?? Number.MAX_SAFE_INTEGER;
      const rows = (accountId === undefined
        ? this.db.prepare('SELECT * FROM fee_decisions WHERE seq < ? ORDER BY seq DESC LIMIT ?').all(before, limit + 1)
        : this.db.prepare('SELECT * FROM fee_decisions WHERE account_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?').all(accountId, before, limit + 1)) as DecisionRow[];
      return seqPage(rows.map(decisionOf), limit);
    });
  }

  emergency(): Promise<EmergencyFlag> {
    return settled(() => {
      const row = this.db.prepare('SELECT active, reason, set_by, since FROM fee_emergency WHERE id = 1').get() as
        { active: number; reason: string | null; set_by: string | null; since: number | null } | undefined;
      return row === undefined ? NO_EMERGENCY : { active: row.active === 1, reason: row.reason, setBy: row.set_by, since: row.since };
    });
  }

  setEmergency(flag: EmergencyFlag): Promise<void> {
    return settled(() => {
      this.db.prepare(`INSERT INTO fee_emergency (id, active, reason, set_by, since) VALUES (1, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET active = excluded.active, reason = excluded.reason, set_by = excluded.set_by, since = excluded.since`)
        .run(flag.active ? 1 : 0, flag.reason, flag.setBy, flag.since);
    });
  }
}

function accountParams(a: FeeAccount): Record<string, unknown> {
  return {
    id: a.id, customer_ref: a.customerRef, name: a.name, mode: a.mode, cycle: a.cycle === undefined ? null : JSON.stringify(a.cycle),
    tariff_id: a.tariffId, currency: a.currency, credit_limit_minor: a.creditLimitMinor, warn_first_minor: a.warnFirstMinor,
    warn_second_minor: a.warnSecondMinor, reconnect_minor: a.reconnectMinor, protected: a.protected ? 1 : 0,
    notify: JSON.stringify(a.notify), created_at: a.createdAt, updated_at: a.updatedAt,
  };
}

function entryParams(e: NewLedgerEntry): Record<string, unknown> {
  return {
    account_id: e.accountId, kind: e.kind, amount_minor: e.amountMinor, currency: e.currency, key: e.key, at: e.at,
    period_from: e.periodFrom ?? null, period_to: e.periodTo ?? null, payment_id: e.paymentId ?? null,
    detail: e.detail === undefined ? null : JSON.stringify(e.detail), actor: e.actor,
    request_key: e.request?.key ?? null, body_hash: e.request?.bodyHash ?? null,
  };
}

function accountOf(r: AccountRow, meterIds: readonly string[]): FeeAccount {
  return accountOfRow({
    ...r, cycle: r.cycle === null ? null : JSON.parse(r.cycle) as StoredAccountRow['cycle'], protected: r.protected === 1,
    notify: JSON.parse(r.notify) as StoredAccountRow['notify'],
  }, meterIds);
}

function entryOf(r: LedgerRow): LedgerEntry {
  return entryOfRow({ ...r, detail: r.detail === null ? null : JSON.parse(r.detail) as unknown });
}

function decisionOf(r: DecisionRow): FeeDecision {
  return decisionOfRow({ ...r, dry_run: r.dry_run === 1 });
}
