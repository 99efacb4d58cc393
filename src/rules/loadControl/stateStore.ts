/**
 * Where each program stands, persisted (table `load_control_state`; embedded migration 6,
 * PostgreSQL in src/rules/loadControl/postgresStateStore.ts) after every change, and awaited
 * before the program acts on it, so a restart resumes a round in progress instead of
 * re-tripping, and still knows what it tripped when the load falls.
 *
 * Beside it, the purchases of the purchase-energy programs (table `load_control_purchases`,
 * embedded migration 17): appended once each, whichever node takes the request, and summed by
 * the program at every tick, so a top-up recorded anywhere reaches the leader.
 */
import type { Statement } from 'better-sqlite3';
import type { FencingToken } from '../../cluster/fencing.js';
import { settled, type Db } from '../../storage/db.js';
import type { ProgramState } from './machine.js';

/** One top-up of a purchase-energy program. */
export interface Purchase {
  /** The purchase's id in the seller's system, unique per program. */
  readonly purchaseId: string;
  /** Exact: whole Wh (kWh × 1000). */
  readonly wh: number;
  readonly idempotencyKey: string;
  /** Who recorded it (`token:<name>`, `user:<name>`). */
  readonly actor: string;
  readonly at: number;
}

/** The purchases of one program, summed. */
export interface PurchaseTotal {
  readonly wh: number;
  readonly count: number;
}

export interface PurchaseRecord {
  /** False: a purchase with this id or idempotency key was stored before; `stored` is that one. */
  readonly created: boolean;
  readonly stored: Purchase;
}

export interface ProgramStateStore {
  load(programId: string): Promise<ProgramState | undefined>;
  /**
   * Replaces the program's whole state: a later save supersedes an earlier one entirely. With
   * `fence` (the leader's token), a shared store writes only while that token is current, else
   * rejects with `StaleFencingToken` and writes nothing; the embedded stores serve one node and
   * ignore it.
   */
  save(programId: string, state: ProgramState, at: number, fence?: FencingToken): Promise<void>;
  /**
   * Appends a purchase unless one with its idempotency key or its purchase id is stored for the
   * program already; then answers with that one (by key first), adding nothing.
   */
  addPurchase(programId: string, purchase: Purchase): Promise<PurchaseRecord>;
  /** A program's purchases, newest first, at most `limit`. */
  purchases(programId: string, limit: number): Promise<Purchase[]>;
  /** Every program's purchases summed, by program id (programs without any are absent). */
  purchaseTotals(): Promise<Map<string, PurchaseTotal>>;
}

export class SqliteProgramStateStore implements ProgramStateStore {
  readonly #get: Statement<[string], { state: string }>;
  readonly #put: Statement<[string, string, number]>;
  readonly #addPurchase: Statement<[string, string, number, string, string, number]>;
  readonly #purchaseByKey: Statement<[string, string], PurchaseRow>;
  readonly #purchaseById: Statement<[string, string], PurchaseRow>;
  readonly #purchases: Statement<[string, number], PurchaseRow>;
  readonly #totals: Statement<[], { program_id: string; wh: number; n: number }>;

  constructor(db: Db) {
    this.#get = db.prepare('SELECT state FROM load_control_state WHERE program_id = ?');
    this.#put = db.prepare(`
      INSERT INTO load_control_state (program_id, state, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (program_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
    this.#addPurchase = db.prepare(`INSERT INTO load_control_purchases (program_id, purchase_id, wh, idempotency_key, actor, at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    const columns = 'purchase_id, wh, idempotency_key, actor, at';
    this.#purchaseByKey = db.prepare(`SELECT ${columns} FROM load_control_purchases WHERE program_id = ? AND idempotency_key = ?`);
    this.#purchaseById = db.prepare(`SELECT ${columns} FROM load_control_purchases WHERE program_id = ? AND purchase_id = ?`);
    this.#purchases = db.prepare(`SELECT ${columns} FROM load_control_purchases WHERE program_id = ? ORDER BY at DESC, purchase_id DESC LIMIT ?`);
    this.#totals = db.prepare('SELECT program_id, SUM(wh) AS wh, COUNT(*) AS n FROM load_control_purchases GROUP BY program_id');
  }

  load(programId: string): Promise<ProgramState | undefined> {
    return settled(() => {
      const row = this.#get.get(programId);
      return row === undefined ? undefined : (JSON.parse(row.state) as ProgramState);
    });
  }

  save(programId: string, state: ProgramState, at: number): Promise<void> {
    return settled(() => { this.#put.run(programId, JSON.stringify(state), at); });
  }

  addPurchase(programId: string, p: Purchase): Promise<PurchaseRecord> {
    return settled(() => {
      const inserted = this.#addPurchase.run(programId, p.purchaseId, p.wh, p.idempotencyKey, p.actor, p.at).changes > 0;
      if (inserted) return { created: true, stored: p };
      const row = this.#purchaseByKey.get(programId, p.idempotencyKey) ?? this.#purchaseById.get(programId, p.purchaseId);
      if (row === undefined) throw new Error(`purchase ${p.purchaseId} of program ${programId} was neither stored nor found`);
      return { created: false, stored: purchaseOf(row) };
    });
  }

  purchases(programId: string, limit: number): Promise<Purchase[]> {
    return settled(() => this.#purchases.all(programId, limit).map(purchaseOf));
  }

  purchaseTotals(): Promise<Map<string, PurchaseTotal>> {
    return settled(() => new Map(this.#totals.all().map((r) => [r.program_id, { wh: r.wh, count: r.n }])));
  }
}

/** A row of `load_control_purchases`. */
export interface PurchaseRow {
  purchase_id: string;
  wh: number | string;
  idempotency_key: string;
  actor: string;
  at: number | string;
}

/** PostgreSQL answers bigint as text: both drivers' rows read through here. */
export function purchaseOf(r: PurchaseRow): Purchase {
  return { purchaseId: r.purchase_id, wh: Number(r.wh), idempotencyKey: r.idempotency_key, actor: r.actor, at: Number(r.at) };
}

/** In memory, for tests and a station without a store. */
export class MemoryProgramStateStore implements ProgramStateStore {
  private readonly states = new Map<string, string>();
  private readonly bought = new Map<string, Purchase[]>();

  load(programId: string): Promise<ProgramState | undefined> {
    const s = this.states.get(programId);
    return Promise.resolve(s === undefined ? undefined : (JSON.parse(s) as ProgramState));
  }

  save(programId: string, state: ProgramState): Promise<void> {
    this.states.set(programId, JSON.stringify(state));
    return Promise.resolve();
  }

  addPurchase(programId: string, p: Purchase): Promise<PurchaseRecord> {
    const list = this.bought.get(programId) ?? [];
    const prior = list.find((x) => x.idempotencyKey === p.idempotencyKey) ?? list.find((x) => x.purchaseId === p.purchaseId);
    if (prior !== undefined) return Promise.resolve({ created: false, stored: prior });
    list.push(p);
    this.bought.set(programId, list);
    return Promise.resolve({ created: true, stored: p });
  }

  purchases(programId: string, limit: number): Promise<Purchase[]> {
    return Promise.resolve((this.bought.get(programId) ?? []).toReversed().slice(0, limit));
  }

  purchaseTotals(): Promise<Map<string, PurchaseTotal>> {
    return Promise.resolve(new Map([...this.bought].map(([id, list]) => [id, { wh: list.reduce((sum, p) => sum + p.wh, 0), count: list.length }])));
  }
}
