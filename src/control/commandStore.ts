/**
 * Commands and their per-meter targets: every transition is written (and awaited) before the
 * service acts on it, so a restart finds each target where it was — unsent (pending) or in
 * flight (sent / acknowledged). `CommandStore` is the port the service uses; this file holds
 * the embedded implementation (migration 8), src/control/postgresCommandStore.ts the
 * PostgreSQL one.
 */
import type { Statement } from 'better-sqlite3';
import type { DeviceControlState } from '../../protocols/adapter.js';
import { settled, type Db } from '../storage/db.js';
import type { FencingToken } from '../cluster/fencing.js';
import type { Command, CommandOrigin, CommandParams, CommandScope, CommandTarget, CommandType, TargetError, TargetStatus, Transition } from './commandModel.js';

export interface NewCommand {
  readonly id: string;
  readonly type: CommandType;
  readonly params: CommandParams;
  readonly scope: CommandScope;
  readonly reason: string | null;
  readonly overrideReason: string | null;
  readonly origin: CommandOrigin;
  readonly source: string | null;
  readonly idempotencyKey: string | null;
  readonly bodyHash: string | null;
  readonly createdAt: number;
  readonly targets: readonly { readonly meterId: string; readonly terminalId: string; readonly address: string; readonly status: 'pending' | 'refused'; readonly error?: TargetError }[];
}

export interface CommandFilter {
  readonly status?: 'open' | 'closed';
  readonly type?: CommandType;
  readonly meterId?: string;
  readonly actor?: string;
  /** Commands created before this command's creation (the `next` of the previous page). */
  readonly before?: string;
  readonly limit: number;
}

/** Cap of one list page. */
export const MAX_COMMANDS_PER_PAGE = 500;

interface CommandRow {
  id: string; type: CommandType; params: string; scope: string; reason: string | null; override_reason: string | null;
  origin_kind: 'operator' | 'program'; origin_id: string; origin_round: number | null; source: string | null;
  idempotency_key: string | null; body_hash: string | null; created_at: number;
}
interface TargetRow {
  command_id: string; meter_id: string; terminal_id: string; address: string; status: TargetStatus; transitions: string;
  state: string | null; error_code: string | null; error_message: string | null; updated_at: number;
}

/** A command created under an idempotency key, with the hash of its request body. */
export interface IdempotentCommand {
  readonly command: Command;
  readonly bodyHash: string | null;
}

/** An unfinished target with the command it belongs to. */
export type OpenTarget = CommandTarget & { readonly commandId: string };

export interface TransitionExtra {
  /** What the device read back; kept as it was when undefined. */
  readonly state?: DeviceControlState;
  /** Replaces the target's error; null clears it, undefined keeps it. */
  readonly error?: TargetError | null;
  /**
   * The lease the caller acts under (src/cluster/fencing.ts): a shared store writes the
   * transition only while that token is current, else rejects with `StaleFencingToken` and
   * writes nothing. Marking a target `sent` carries it, so only the current leader sends.
   * The embedded store serves one node and ignores it.
   */
  readonly fence?: FencingToken;
  /**
   * The statuses the target may move from: when it is in another one now (another node
   * claimed it, an operator cancelled it), nothing is written and the store throws
   * `TargetMoved`. Marking `sent` from `pending` this way is the claim that makes sure one
   * send happens per target, whoever else found it pending.
   */
  readonly onlyFrom?: readonly TargetStatus[];
}

/**
 * What the station hears about commands other nodes store and settle (the PostgreSQL store:
 * LISTEN/NOTIFY, sent at the writer's commit). A notification can be lost (a listening
 * connection dropped); `missed` says so, and the table stays the truth.
 */
export interface CommandNews {
  /** A command with targets to send was stored. */
  queued(commandId: string): void;
  /** A target reached a final status. */
  finished(commandId: string, meterId: string): void;
  /** Listening was re-established after a loss: look at the table again. */
  missed(): void;
}

export interface CommandStore {
  /** Stores a command and its targets at once (all or nothing). */
  insert(c: NewCommand): Promise<void>;
  get(id: string): Promise<Command | undefined>;
  target(commandId: string, meterId: string): Promise<CommandTarget | undefined>;
  /** The command created under this key by this actor, with the hash of its request body. */
  byIdempotencyKey(actor: string, key: string): Promise<IdempotentCommand | undefined>;
  /** Forgets keys of commands created before `before`: a request with such a key is a new command. Returns how many. */
  expireIdempotencyKeys(before: number): Promise<number>;
  /** Moves a target to `status`, appending the transition; returns the target as written. Throws `UnknownCommandTarget`, or `StaleFencingToken` for a stale `extra.fence`. */
  transition(commandId: string, meterId: string, status: TargetStatus, at: number, extra?: TransitionExtra): Promise<CommandTarget>;
  /** Targets not finished, oldest command first: pending ones and those a stop left in flight. */
  openTargets(): Promise<OpenTarget[]>;
  /**
   * Targets a takeover marked failed (INTERRUPTED) whose read-back has not come: the node that
   * marked them gave the terminal up first. Absent on a store only one node writes, where the
   * marking process reads back at once.
   */
  unreadInterruptions?(): Promise<OpenTarget[]>;
  /** Newest first; `next` is the `before` of the following page, null on the last. */
  list(f: CommandFilter): Promise<{ items: Command[]; next: string | null }>;
  /**
   * A store shared by several nodes tells `news` what the others store from now on; resolves
   * once listening. Absent on a store only one node writes (the embedded one).
   */
  listen?(news: CommandNews): Promise<{ stop(): Promise<void> }>;
}

/** A transition named a target that does not exist: a bug in the caller, not bad input. */
export class UnknownCommandTarget extends Error {
  readonly code = 'UNKNOWN_COMMAND_TARGET';
  constructor(readonly commandId: string, readonly meterId: string) {
    super(`no target ${meterId} in command ${commandId}`);
    this.name = 'UnknownCommandTarget';
  }
}

/** A conditional transition (`onlyFrom`) found the target in another status: someone else moved it first. */
export class TargetMoved extends Error {
  readonly code = 'TARGET_MOVED';
  constructor(readonly commandId: string, readonly meterId: string, readonly status: TargetStatus, readonly wanted: TargetStatus) {
    super(`target ${meterId} of command ${commandId} is ${status} now; not moved to ${wanted}`);
    this.name = 'TargetMoved';
  }
}

/** better-sqlite3 answers synchronously: each method does its work at once and returns it settled. */
export class SqliteCommandStore implements CommandStore {
  readonly #insertCommand: Statement;
  readonly #insertTarget: Statement;
  readonly #getCommand: Statement<[string], CommandRow>;
  readonly #targetsOf: Statement<[string], TargetRow>;
  readonly #target: Statement<[string, string], TargetRow>;
  readonly #update: Statement<[string, string, string | null, string | null, string | null, number, string, string]>;
  readonly #byKey: Statement<[string, string], CommandRow>;
  readonly #expireKeys: Statement<[number]>;
  readonly #open: Statement<[], TargetRow>;

  constructor(private readonly db: Db) {
    this.#insertCommand = db.prepare(`INSERT INTO commands (id, type, params, scope, reason, override_reason, origin_kind, origin_id, origin_round, source, idempotency_key, body_hash, created_at)
      VALUES (@id, @type, @params, @scope, @reason, @override_reason, @origin_kind, @origin_id, @origin_round, @source, @idempotency_key, @body_hash, @created_at)`);
    this.#insertTarget = db.prepare(`INSERT INTO command_targets (command_id, meter_id, seq, terminal_id, address, status, transitions, error_code, error_message, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#getCommand = db.prepare('SELECT * FROM commands WHERE id = ?');
    this.#targetsOf = db.prepare('SELECT * FROM command_targets WHERE command_id = ? ORDER BY seq');
    this.#target = db.prepare('SELECT * FROM command_targets WHERE command_id = ? AND meter_id = ?');
    this.#update = db.prepare(`UPDATE command_targets SET status = ?, transitions = ?, state = ?, error_code = ?, error_message = ?, updated_at = ?
      WHERE command_id = ? AND meter_id = ?`);
    this.#byKey = db.prepare('SELECT * FROM commands WHERE origin_id = ? AND idempotency_key = ?');
    this.#expireKeys = db.prepare('UPDATE commands SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND created_at < ?');
    this.#open = db.prepare(`SELECT t.* FROM command_targets t JOIN commands c ON c.id = t.command_id
      WHERE t.status IN ('pending','sent','acknowledged') ORDER BY c.created_at, t.command_id, t.seq`);
  }

  insert(c: NewCommand): Promise<void> {
    const o = c.origin;
    return settled(() => { this.db.transaction(() => {
      this.#insertCommand.run({
        id: c.id, type: c.type, params: JSON.stringify(c.params), scope: JSON.stringify(c.scope), reason: c.reason,
        override_reason: c.overrideReason, origin_kind: o.kind, origin_id: o.kind === 'operator' ? o.actor : o.id,
        origin_round: o.kind === 'program' ? o.round : null, source: c.source, idempotency_key: c.idempotencyKey,
        body_hash: c.bodyHash, created_at: c.createdAt,
      });
      for (const [seq, t] of c.targets.entries()) {
        const transitions: Transition[] = [{ status: 'pending', at: c.createdAt }];
        if (t.status === 'refused') transitions.push({ status: 'refused', at: c.createdAt });
        this.#insertTarget.run(c.id, t.meterId, seq, t.terminalId, t.address, t.status, JSON.stringify(transitions), t.error?.code ?? null, t.error?.message ?? null, c.createdAt);
      }
    })(); });
  }

  get(id: string): Promise<Command | undefined> {
    return settled(() => {
      const row = this.#getCommand.get(id);
      return row === undefined ? undefined : toCommand(row, this.#targetsOf.all(id));
    });
  }

  target(commandId: string, meterId: string): Promise<CommandTarget | undefined> {
    return settled(() => {
      const row = this.#target.get(commandId, meterId);
      return row === undefined ? undefined : toTarget(row);
    });
  }

  byIdempotencyKey(actor: string, key: string): Promise<IdempotentCommand | undefined> {
    return settled(() => {
      const row = this.#byKey.get(actor, key);
      return row === undefined ? undefined : { command: toCommand(row, this.#targetsOf.all(row.id)), bodyHash: row.body_hash };
    });
  }

  expireIdempotencyKeys(before: number): Promise<number> {
    return settled(() => this.#expireKeys.run(before).changes);
  }

  transition(commandId: string, meterId: string, status: TargetStatus, at: number, extra: TransitionExtra = {}): Promise<CommandTarget> {
    return settled(() => this.#transition(commandId, meterId, status, at, extra));
  }

  #transition(commandId: string, meterId: string, status: TargetStatus, at: number, extra: TransitionExtra): CommandTarget {
    const row = this.#target.get(commandId, meterId);
    if (row === undefined) throw new UnknownCommandTarget(commandId, meterId);
    if (extra.onlyFrom !== undefined && !extra.onlyFrom.includes(row.status)) throw new TargetMoved(commandId, meterId, row.status, status);
    const transitions = [...(JSON.parse(row.transitions) as Transition[]), { status, at }];
    const state = extra.state === undefined ? row.state : JSON.stringify(extra.state);
    const error = extra.error === undefined ? (row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' }) : extra.error;
    this.#update.run(status, JSON.stringify(transitions), state, error?.code ?? null, error?.message ?? null, at, commandId, meterId);
    return toTarget({ ...row, status, transitions: JSON.stringify(transitions), state, error_code: error?.code ?? null, error_message: error?.message ?? null, updated_at: at });
  }

  openTargets(): Promise<OpenTarget[]> {
    return settled(() => this.#open.all().map((r) => ({ ...toTarget(r), commandId: r.command_id })));
  }

  list(f: CommandFilter): Promise<{ items: Command[]; next: string | null }> {
    return settled(() => this.#list(f));
  }

  #list(f: CommandFilter): { items: Command[]; next: string | null } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.type !== undefined) { where.push('c.type = ?'); args.push(f.type); }
    if (f.actor !== undefined) { where.push("c.origin_kind = 'operator' AND c.origin_id = ?"); args.push(f.actor); }
    // A meter's commands and the open ones are few whatever the history holds: they are found
    // through command_targets' indexes and ordered, rather than the history walked for them.
    if (f.meterId !== undefined) { where.push('c.id IN (SELECT t.command_id FROM command_targets t WHERE t.meter_id = ?)'); args.push(f.meterId); }
    if (f.status === 'open') where.push("c.id IN (SELECT t.command_id FROM command_targets t WHERE t.status IN ('pending','sent','acknowledged'))");
    // Closed commands are nearly all of them: walking the history newest first finds a page at once.
    if (f.status === 'closed') where.push("NOT EXISTS (SELECT 1 FROM command_targets t WHERE t.command_id = c.id AND t.status IN ('pending','sent','acknowledged'))");
    if (f.before !== undefined) {
      where.push('(c.created_at, c.id) < (SELECT created_at, id FROM commands WHERE id = ?)');
      args.push(f.before);
    }
    const limit = Math.min(Math.max(1, f.limit), MAX_COMMANDS_PER_PAGE);
    const rows = this.db.prepare(`SELECT c.* FROM commands c ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY c.created_at DESC, c.id DESC LIMIT ?`).all(...args, limit + 1) as CommandRow[];
    const page = rows.slice(0, limit);
    return { items: page.map((r) => toCommand(r, this.#targetsOf.all(r.id))), next: rows.length > limit ? page.at(-1)?.id ?? null : null };
  }
}

function toCommand(r: CommandRow, targets: readonly TargetRow[]): Command {
  return commandOf({ ...r, params: JSON.parse(r.params) as CommandParams, scope: JSON.parse(r.scope) as CommandScope }, targets.map(decodeTarget));
}

function toTarget(r: TargetRow): CommandTarget {
  return targetOf(decodeTarget(r));
}

function decodeTarget(r: TargetRow): StoredTarget {
  return { ...r, transitions: JSON.parse(r.transitions) as Transition[], state: r.state === null ? null : (JSON.parse(r.state) as DeviceControlState) };
}

/** A row of `commands` with its JSON decoded, as both drivers read it. */
export interface StoredCommand {
  id: string; type: CommandType; params: CommandParams; scope: CommandScope; reason: string | null; override_reason: string | null;
  origin_kind: 'operator' | 'program'; origin_id: string; origin_round: number | null; source: string | null;
  body_hash: string | null; created_at: number;
}
/** A row of `command_targets` with its JSON decoded. */
export interface StoredTarget {
  command_id: string; meter_id: string; terminal_id: string; address: string; status: TargetStatus; transitions: Transition[];
  state: DeviceControlState | null; error_code: string | null; error_message: string | null; updated_at: number;
}

export function commandOf(r: StoredCommand, targets: readonly StoredTarget[]): Command {
  return {
    id: r.id,
    type: r.type,
    params: r.params,
    scope: r.scope,
    reason: r.reason,
    overrideReason: r.override_reason,
    origin: r.origin_kind === 'operator' ? { kind: 'operator', actor: r.origin_id } : { kind: 'program', id: r.origin_id, round: r.origin_round ?? 0 },
    source: r.source,
    createdAt: r.created_at,
    targets: targets.map(targetOf),
  };
}

export function targetOf(r: StoredTarget): CommandTarget {
  return {
    meterId: r.meter_id,
    terminalId: r.terminal_id,
    address: r.address,
    status: r.status,
    transitions: r.transitions,
    state: r.state,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    updatedAt: r.updated_at,
  };
}
