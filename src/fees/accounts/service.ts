/**
 * Fee accounts, payments, reversals and adjustments: the rules in front of the fee store.
 *
 * A payment is credited once whatever the caller retries: its request key (Idempotency-Key)
 * finds the row it made, and its paymentId is unique across the store. A retry with the same
 * key and body answers the row of the first; the same key with another body, or a new key
 * for a paymentId already booked, is refused. Payments, reversals and adjustments are audited,
 * and every row booked here is told to the listeners (`onBooked`), so the fee-control run on
 * this node acts on a payment at once; other nodes follow the ledger (`FeeStore.changedSince`).
 */
import { createHash } from 'node:crypto';
import type { AuditLog } from '../../control/audit.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import { FeeAccountExists, IdempotencyConflict, PaymentExists, PaymentReversed } from '../errors.js';
import type { Balance, BillingCycle, FeeAccount, FeeDecision, LedgerEntry, NotificationTarget, PaymentMode } from '../model.js';
import type { AccountQuery, FeeAccountRecord, FeeStore, NewLedgerEntry, Page, RequestedEntry, SeqPage } from '../store.js';
import { checkAccount, checkAmount, checkCurrency, type AccountRules } from './validate.js';

/** Who asks: the actor the audit log and the ledger name, and where the request came from. */
export interface Requester {
  readonly actor: string;
  readonly source: string | null;
}

/** An account as given to create it; what is left out takes its default. */
export interface AccountInput {
  readonly id: string;
  readonly customerRef: string;
  readonly name: string;
  readonly meterIds: readonly string[];
  readonly mode: PaymentMode;
  readonly cycle?: BillingCycle;
  readonly tariffId: string;
  /** Default: the station's (`fees.currency`). */
  readonly currency?: string;
  readonly creditLimitMinor: number;
  readonly warnFirstMinor: number;
  readonly warnSecondMinor: number;
  /** Default 0. */
  readonly reconnectMinor?: number;
  /** Default false. */
  readonly protected?: boolean;
  /** Default none. */
  readonly notify?: NotificationTarget;
}

/** A change to an account: the fields given replace the stored ones; `cycle: null` removes the cycle. */
export type AccountPatch = Partial<Omit<AccountInput, 'id' | 'cycle'>> & { readonly cycle?: BillingCycle | null };

export interface PaymentInput {
  readonly paymentId: string;
  readonly accountId: string;
  readonly amountMinor: number;
  readonly currency: string;
  /** When the customer paid, ms since the epoch. */
  readonly paidAt: number;
}

export interface AdjustmentInput {
  /** Signed: positive credits the customer, negative charges. */
  readonly amountMinor: number;
  readonly currency: string;
  readonly note: string;
}

/** A booked row with the balance after it; `replayed` when a retry found the row of its first request. */
export interface Booked {
  readonly entry: LedgerEntry;
  readonly balance: Balance;
  readonly replayed: boolean;
}

export type BookedListener = (entry: LedgerEntry, balance: Balance) => void;

export interface FeeAccountServiceOptions extends AccountRules {
  readonly store: FeeStore;
  readonly audit: AuditLog;
  /** `fees.payments.maxAmountMinor`. */
  readonly maxAmountMinor: number;
  readonly now?: () => number;
}

/** A payment may be dated this far after the station's clock (the payer's clock runs ahead). */
export const PAID_AT_FUTURE_TOLERANCE_MS = 3_600_000;

export class FeeAccountService {
  readonly #o: FeeAccountServiceOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<BookedListener>();

  constructor(options: FeeAccountServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Tells `listener` each row booked through this service (payments, reversals, adjustments); returns the unsubscribe. */
  onBooked(listener: BookedListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  async create(input: AccountInput, who: Requester): Promise<FeeAccountRecord> {
    const at = this.#now();
    const account = this.#checked({ ...accountOf(input, this.#o.currency), createdAt: at, updatedAt: at });
    await this.#o.store.createAccount(account);
    await this.#audit(who, 'fee-account.create', account.id, { meters: account.meterIds.length, mode: account.mode });
    return this.get(account.id);
  }

  async update(id: string, patch: AccountPatch, who: Requester): Promise<FeeAccountRecord> {
    const { account: before } = await this.get(id);
    const { cycle, ...rest } = patch;
    const merged = { ...before, ...definedOf(rest), updatedAt: this.#now() };
    const after = this.#checked(cycle === null ? withoutCycle(merged) : cycle === undefined ? merged : { ...merged, cycle });
    await this.#o.store.updateAccount(after);
    await this.#audit(who, 'fee-account.update', id, { fields: Object.keys(patch) });
    return this.get(id);
  }

  async get(id: string): Promise<FeeAccountRecord> {
    const r = await this.#o.store.account(id);
    if (r === undefined) throw new NotFoundError('fee account', id);
    return r;
  }

  list(q: AccountQuery): Promise<Page<FeeAccountRecord, string>> {
    return this.#o.store.accounts(q);
  }

  /** Only an account without ledger rows (else `AccountHasLedger`, 409). */
  async delete(id: string, who: Requester): Promise<void> {
    if (!(await this.#o.store.deleteAccount(id))) throw new NotFoundError('fee account', id);
    await this.#audit(who, 'fee-account.delete', id, {});
  }

  async ledger(id: string, page: SeqPage): Promise<Page<LedgerEntry, number>> {
    await this.get(id);
    return this.#o.store.entries(id, page);
  }

  async decisions(id: string, page: SeqPage): Promise<Page<FeeDecision, number>> {
    await this.get(id);
    return this.#o.store.decisions(id, page);
  }

  /**
   * Upserts the configured accounts: a new one is created, a changed one updated (its
   * creation time kept), an unchanged one left as it is. Answers how many of each.
   */
  async seed(inputs: readonly AccountInput[]): Promise<{ created: number; updated: number; unchanged: number }> {
    const counts = { created: 0, updated: 0, unchanged: 0 };
    for (const input of inputs) {
      const existing = await this.#o.store.account(input.id);
      const at = this.#now();
      const wanted = accountOf(input, this.#o.currency);
      if (existing === undefined) {
        try {
          await this.#o.store.createAccount(this.#checked({ ...wanted, createdAt: at, updatedAt: at }));
          counts.created += 1;
        } catch (err) {
          // Another node starting from the same file created it a moment ago: the same upsert.
          if (!(err instanceof FeeAccountExists)) throw err;
          counts.unchanged += 1;
        }
      } else if (sameAccount(existing.account, wanted)) {
        counts.unchanged += 1;
      } else {
        await this.#o.store.updateAccount(this.#checked({ ...wanted, createdAt: existing.account.createdAt, updatedAt: at }));
        counts.updated += 1;
      }
    }
    return counts;
  }

  async pay(p: PaymentInput, requestKey: string, who: Requester): Promise<Booked> {
    const bodyHash = hashOf({ op: 'payment', ...p });
    const prior = await this.#o.store.byRequest(who.actor, requestKey);
    if (prior !== undefined) return this.#replay(prior, bodyHash, requestKey);
    checkAmount(p.amountMinor, this.#o.maxAmountMinor);
    const account = (await this.#o.store.account(p.accountId))?.account;
    if (account === undefined) throw new ValidationError(`fee account ${JSON.stringify(p.accountId)} does not exist`, 'accountId');
    checkCurrency(p.currency, account);
    if (!Number.isFinite(p.paidAt) || p.paidAt > this.#now() + PAID_AT_FUTURE_TOLERANCE_MS) throw new ValidationError('paidAt must be a time not in the future', 'paidAt');
    return this.#book({
      accountId: account.id, kind: 'payment', amountMinor: p.amountMinor, currency: p.currency, key: `payment:${p.paymentId}`, paymentId: p.paymentId,
      at: this.#now(), detail: { paidAt: new Date(p.paidAt).toISOString() }, actor: who.actor, request: { key: requestKey, bodyHash },
    }, who, 'fee.payment', () => new PaymentExists(p.paymentId, account.id));
  }

  /** Books the reversal of a payment: once per payment. */
  async reverse(paymentId: string, reason: string, requestKey: string, who: Requester): Promise<Booked> {
    const bodyHash = hashOf({ op: 'reversal', paymentId, reason });
    const prior = await this.#o.store.byRequest(who.actor, requestKey);
    if (prior !== undefined) return this.#replay(prior, bodyHash, requestKey);
    const paid = await this.#o.store.payment(paymentId);
    if (paid === undefined) throw new NotFoundError('payment', paymentId);
    return this.#book({
      accountId: paid.accountId, kind: 'reversal', amountMinor: -paid.amountMinor, currency: paid.currency, key: `reversal:${paymentId}`, paymentId,
      at: this.#now(), detail: { reason, reversedSeq: paid.seq }, actor: who.actor, request: { key: requestKey, bodyHash },
    }, who, 'fee.reversal', () => new PaymentReversed(paymentId));
  }

  async adjust(accountId: string, a: AdjustmentInput, requestKey: string, who: Requester): Promise<Booked> {
    const bodyHash = hashOf({ op: 'adjustment', accountId, ...a });
    const prior = await this.#o.store.byRequest(who.actor, requestKey);
    if (prior !== undefined) return this.#replay(prior, bodyHash, requestKey);
    checkAmount(a.amountMinor, this.#o.maxAmountMinor, true);
    const { account } = await this.get(accountId);
    checkCurrency(a.currency, account);
    return this.#book({
      accountId, kind: 'adjustment', amountMinor: a.amountMinor, currency: a.currency, key: `adjustment:${who.actor}:${requestKey}`,
      at: this.#now(), detail: { note: a.note }, actor: who.actor, request: { key: requestKey, bodyHash },
    }, who, 'fee.adjustment', (seq) => new IdempotencyConflict(requestKey, seq));
  }

  /** Appends one row; `taken` is the refusal when its key is booked already by another request. */
  async #book(entry: NewLedgerEntry, who: Requester, action: string, taken: (seq: number) => Error): Promise<Booked> {
    const request = entry.request;
    let appended;
    try {
      [appended] = await this.#o.store.append([entry]);
    } catch (err) {
      // A concurrent request with the same key booked first: answer as its retry.
      const again = request !== undefined && err instanceof IdempotencyConflict ? await this.#o.store.byRequest(who.actor, request.key) : undefined;
      if (again !== undefined && request !== undefined) return this.#replay(again, request.bodyHash, request.key);
      throw err;
    }
    if (appended === undefined) throw new Error('the ledger answered no row');
    if (appended.duplicate) {
      const again = request === undefined ? undefined : await this.#o.store.byRequest(who.actor, request.key);
      if (again !== undefined && request !== undefined && again.entry.seq === appended.seq) return this.#replay(again, request.bodyHash, request.key);
      throw taken(appended.seq);
    }
    const { duplicate: _d, ...booked } = appended;
    await this.#audit(who, action, booked.accountId, {
      seq: booked.seq, amountMinor: booked.amountMinor, currency: booked.currency,
      ...(booked.paymentId === undefined ? {} : { paymentId: booked.paymentId }),
    });
    const balance = await this.#balanceOf(booked.accountId);
    for (const listener of this.#listeners) listener(booked, balance);
    return { entry: booked, balance, replayed: false };
  }

  async #replay(prior: RequestedEntry, bodyHash: string, requestKey: string): Promise<Booked> {
    if (prior.bodyHash !== bodyHash) throw new IdempotencyConflict(requestKey, prior.entry.seq);
    return { entry: prior.entry, balance: await this.#balanceOf(prior.entry.accountId), replayed: true };
  }

  async #balanceOf(accountId: string): Promise<Balance> {
    const b = await this.#o.store.balance(accountId);
    if (b === undefined) throw new NotFoundError('fee account', accountId);
    return b;
  }

  #checked(a: FeeAccount): FeeAccount {
    checkAccount(a, this.#o);
    return a;
  }

  async #audit(who: Requester, action: string, accountId: string, detail: Record<string, unknown>): Promise<void> {
    await this.#o.audit.append({ actor: who.actor, source: who.source, action, target: `fee-account:${accountId}`, outcome: 'ok', detail });
  }
}

function accountOf(i: AccountInput, currency: string): Omit<FeeAccount, 'createdAt' | 'updatedAt'> {
  return {
    id: i.id, customerRef: i.customerRef, name: i.name, meterIds: [...i.meterIds], mode: i.mode, ...(i.cycle === undefined ? {} : { cycle: { ...i.cycle } }),
    tariffId: i.tariffId, currency: i.currency ?? currency, creditLimitMinor: i.creditLimitMinor, warnFirstMinor: i.warnFirstMinor,
    warnSecondMinor: i.warnSecondMinor, reconnectMinor: i.reconnectMinor ?? 0, protected: i.protected ?? false, notify: i.notify ?? { kind: 'none' },
  };
}

function sameAccount(stored: FeeAccount, wanted: Omit<FeeAccount, 'createdAt' | 'updatedAt'>): boolean {
  const { createdAt: _c, updatedAt: _u, ...s } = stored;
  return JSON.stringify(canonical(s)) === JSON.stringify(canonical(wanted));
}

/** The value with object keys sorted at every depth, so equal content serialises equal. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)]));
}

function hashOf(body: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(canonical(body))).digest('hex');
}

function definedOf<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function withoutCycle(a: FeeAccount): FeeAccount {
  const { cycle: _cycle, ...rest } = a;
  return rest;
}
