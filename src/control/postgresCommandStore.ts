/**
 * The command store on PostgreSQL: the embedded store's semantics (src/control/commandStore.ts)
 * on tables `commands` and `command_targets`. A command and its targets go in one transaction;
 * a transition is one UPDATE that appends to the target's `transitions` in the row itself
 * (jsonb), so two nodes moving the same target never lose each other's step. A transition
 * that carries a fencing token is written only under the lease's current token; one with
 * `onlyFrom` only from those statuses (the row's status is checked by the UPDATE itself).
 *
 * Every node hears on `COMMANDS_CHANNEL` (LISTEN/NOTIFY, sent at the writer's commit) that a
 * command with targets to send was stored, so the node placed on its terminals sends it at
 * once, and that a target finished, so a node awaiting a target another node sent (a
 * load-control program's request) hears its outcome.
 */
import { fenced } from '../cluster/fencing.js';
import type { PostgresDatabase, Queryable } from '../storage/postgres/connection.js';
import { listenTo, notifyInTransaction } from '../storage/postgres/notifications.js';
import { FINAL_STATUSES, type Command, type CommandTarget, type TargetStatus, type Transition } from './commandModel.js';
import {
  MAX_COMMANDS_PER_PAGE, TargetMoved, UnknownCommandTarget, commandOf, targetOf,
  type CommandFilter, type CommandNews, type CommandStore, type IdempotentCommand, type NewCommand, type OpenTarget, type StoredCommand, type StoredTarget, type TransitionExtra,
} from './commandStore.js';

/** The channel of command news; payloads are `{"queued":id}` and `{"finished":id,"meter":meterId}` (ids are short: far below the NOTIFY limit). */
export const COMMANDS_CHANNEL = 'commands';

// jsonb columns arrive decoded: the rows are the stored shapes both drivers map from.
type CommandRow = StoredCommand;
type TargetRow = StoredTarget;

const OPEN_STATUSES = ['pending', 'sent', 'acknowledged'] as const;

export class PostgresCommandStore implements CommandStore {
  constructor(private readonly db: PostgresDatabase) {}

  insert(c: NewCommand): Promise<void> {
    const o = c.origin;
    const targets = c.targets.map((t, seq) => ({
      meter_id: t.meterId, seq, terminal_id: t.terminalId, address: t.address, status: t.status,
      transitions: t.status === 'refused' ? [{ status: 'pending', at: c.createdAt }, { status: 'refused', at: c.createdAt }] : [{ status: 'pending', at: c.createdAt }],
      error_code: t.error?.code ?? null, error_message: t.error?.message ?? null,
    }));
    return this.db.run((sql) => sql.begin(async (tx) => {
      await tx`INSERT INTO commands (id, type, params, scope, reason, override_reason, origin_kind, origin_id, origin_round, source, idempotency_key, body_hash, created_at)
        VALUES (${c.id}, ${c.type}, ${tx.json(c.params)}, ${tx.json(c.scope)}, ${c.reason}, ${c.overrideReason}, ${o.kind},
                ${o.kind === 'operator' ? o.actor : o.id}, ${o.kind === 'program' ? o.round : null}, ${c.source}, ${c.idempotencyKey}, ${c.bodyHash}, ${c.createdAt})`;
      // Every target in one statement, however large the area.
      await tx`INSERT INTO command_targets (command_id, meter_id, seq, terminal_id, address, status, transitions, error_code, error_message, updated_at)
        SELECT ${c.id}, t.meter_id, t.seq, t.terminal_id, t.address, t.status, t.transitions, t.error_code, t.error_message, ${c.createdAt}
        FROM jsonb_to_recordset(${tx.json(targets)}) AS t(meter_id text, seq integer, terminal_id text, address text, status text, transitions jsonb, error_code text, error_message text)`;
      // Sent at commit: the executing node never hears of a command it cannot read yet.
      if (c.targets.some((t) => t.status === 'pending')) await notifyInTransaction(tx, COMMANDS_CHANNEL, JSON.stringify({ queued: c.id }));
    }));
  }

  get(id: string): Promise<Command | undefined> {
    return this.db.run(async (sql) => {
      const [row] = await sql<CommandRow[]>`SELECT * FROM commands WHERE id = ${id}`;
      return row === undefined ? undefined : (await withTargets(sql, [row]))[0];
    });
  }

  target(commandId: string, meterId: string): Promise<CommandTarget | undefined> {
    return this.db.run(async (sql) => {
      const [row] = await sql<TargetRow[]>`SELECT * FROM command_targets WHERE command_id = ${commandId} AND meter_id = ${meterId}`;
      return row === undefined ? undefined : targetOf(row);
    });
  }

  byIdempotencyKey(actor: string, key: string): Promise<IdempotentCommand | undefined> {
    return this.db.run(async (sql) => {
      const [row] = await sql<CommandRow[]>`SELECT * FROM commands WHERE origin_id = ${actor} AND idempotency_key = ${key}`;
      const command = row === undefined ? undefined : (await withTargets(sql, [row]))[0];
      return row === undefined || command === undefined ? undefined : { command, bodyHash: row.body_hash };
    });
  }

  expireIdempotencyKeys(before: number): Promise<number> {
    return this.db.run(async (sql) => (await sql`UPDATE commands SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND created_at < ${before}`).count);
  }

  async transition(commandId: string, meterId: string, status: TargetStatus, at: number, extra: TransitionExtra = {}): Promise<CommandTarget> {
    const finished = FINAL_STATUSES.has(status) ? JSON.stringify({ finished: commandId, meter: meterId }) : undefined;
    const update = async (sql: Queryable): Promise<TargetRow | undefined> => {
      const step: Transition[] = [{ status, at }];
      const e = extra.error;
      // One statement: the notification goes with the update, or neither happens.
      const [row] = await sql<TargetRow[]>`WITH moved AS (UPDATE command_targets SET
          status = ${status},
          transitions = transitions || ${sql.json(step)},
          state = ${extra.state === undefined ? sql`state` : sql`${sql.json(extra.state)}`},
          error_code = ${e === undefined ? sql`error_code` : sql`${e?.code ?? null}`},
          error_message = ${e === undefined ? sql`error_message` : sql`${e?.message ?? null}`},
          updated_at = ${at}
        WHERE command_id = ${commandId} AND meter_id = ${meterId}
          ${extra.onlyFrom === undefined ? sql`` : sql`AND status IN ${sql(extra.onlyFrom)}`}
        RETURNING *)
        SELECT moved.* ${finished === undefined ? sql`` : sql`, pg_notify(${COMMANDS_CHANNEL}, ${finished})`} FROM moved`;
      return row;
    };
    // Fenced: the lease row is share-locked for the update, so a takeover cannot slip between the check and the write.
    const row = extra.fence === undefined ? await this.db.run(update) : await fenced(this.db, extra.fence, update);
    if (row !== undefined) return targetOf(row);
    const now = await this.target(commandId, meterId);
    if (now === undefined) throw new UnknownCommandTarget(commandId, meterId);
    throw new TargetMoved(commandId, meterId, now.status, status);
  }

  async listen(news: CommandNews): Promise<{ stop(): Promise<void> }> {
    return listenTo(this.db, COMMANDS_CHANNEL, {
      heard: (payload) => {
        const m = parseNews(payload);
        if (m === undefined) return;
        if (m.queued !== undefined) news.queued(m.queued);
        else if (m.finished !== undefined && m.meter !== undefined) news.finished(m.finished, m.meter);
      },
      missed: () => { news.missed(); },
    });
  }

  openTargets(): Promise<OpenTarget[]> {
    return this.db.run(async (sql) => {
      const rows = await sql<TargetRow[]>`SELECT t.* FROM command_targets t JOIN commands c ON c.id = t.command_id
        WHERE t.status IN ${sql(OPEN_STATUSES)} ORDER BY c.created_at, t.command_id, t.seq`;
      return rows.map((r) => ({ ...targetOf(r), commandId: r.command_id }));
    });
  }

  unreadInterruptions(): Promise<OpenTarget[]> {
    return this.db.run(async (sql) => {
      // The predicate of the command_targets_unread index, so the index answers it.
      const rows = await sql<TargetRow[]>`SELECT t.* FROM command_targets t JOIN commands c ON c.id = t.command_id
        WHERE t.status = 'failed' AND t.error_code = 'INTERRUPTED' AND (t.transitions -> -2 ->> 'status') IN ('sent', 'acknowledged')
        ORDER BY c.created_at, t.command_id, t.seq`;
      return rows.map((r) => ({ ...targetOf(r), commandId: r.command_id }));
    });
  }

  list(f: CommandFilter): Promise<{ items: Command[]; next: string | null }> {
    const limit = Math.min(Math.max(1, f.limit), MAX_COMMANDS_PER_PAGE);
    return this.db.run(async (sql) => {
      const none = sql``;
      // As the embedded store: a meter's commands and the open ones through command_targets' indexes.
      const status = f.status === undefined ? none
        : f.status === 'open' ? sql`AND c.id IN (SELECT t.command_id FROM command_targets t WHERE t.status IN ${sql(OPEN_STATUSES)})`
        : sql`AND NOT EXISTS (SELECT 1 FROM command_targets t WHERE t.command_id = c.id AND t.status IN ${sql(OPEN_STATUSES)})`;
      const rows = await sql<CommandRow[]>`SELECT c.* FROM commands c WHERE true
        ${f.type === undefined ? none : sql`AND c.type = ${f.type}`}
        ${f.actor === undefined ? none : sql`AND c.origin_kind = 'operator' AND c.origin_id = ${f.actor}`}
        ${f.meterId === undefined ? none : sql`AND c.id IN (SELECT t.command_id FROM command_targets t WHERE t.meter_id = ${f.meterId})`}
        ${status}
        ${f.before === undefined ? none : sql`AND (c.created_at, c.id) < (SELECT created_at, id FROM commands WHERE id = ${f.before})`}
        ORDER BY c.created_at DESC, c.id DESC LIMIT ${limit + 1}`;
      const page = rows.slice(0, limit);
      return { items: await withTargets(sql, page), next: rows.length > limit ? page.at(-1)?.id ?? null : null };
    });
  }
}


/** The commands with their targets, fetched in one query for the whole page. */
async function withTargets(sql: Queryable, rows: readonly CommandRow[]): Promise<Command[]> {
  if (rows.length === 0) return [];
  const targets = await sql<TargetRow[]>`SELECT * FROM command_targets WHERE command_id = ANY(${rows.map((r) => r.id)}) ORDER BY command_id, seq`;
  const byCommand = new Map<string, TargetRow[]>();
  for (const t of targets) {
    let list = byCommand.get(t.command_id);
    if (list === undefined) byCommand.set(t.command_id, (list = []));
    list.push(t);
  }
  return rows.map((r) => commandOf(r, byCommand.get(r.id) ?? []));
}

/** A notification on the channel; anything may be sent there, so what is not ours is ignored. */
function parseNews(payload: string): { queued?: string; finished?: string; meter?: string } | undefined {
  try {
    const v = JSON.parse(payload) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { queued, finished, meter } = v as Record<string, unknown>;
    return {
      ...(typeof queued === 'string' ? { queued } : {}),
      ...(typeof finished === 'string' ? { finished } : {}),
      ...(typeof meter === 'string' ? { meter } : {}),
    };
  } catch {
    return undefined;
  }
}
