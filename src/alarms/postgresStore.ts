/**
 * The alarm store on PostgreSQL (tables `alarms`, `alarm_comments` and the sequence
 * `alarm_id_blocks`, src/storage/postgres/migrations.ts), with the embedded store's semantics
 * (store.ts). Explanations as data are `jsonb`.
 *
 * Ids: each `reserveIds` takes one value of `alarm_id_blocks`, which steps by
 * `ALARM_ID_BLOCK`, and the caller owns the block that starts there. Nodes sharing the
 * database never hand out the same id, and the rule engine names a new alarm without a round
 * trip. A restart starts a new block, so ids jump by up to a block: they stay unique and
 * increasing, which is all the API's ordering and cursors need.
 *
 * Every node keeps the open alarms in memory and streams alarm changes to its dashboards, so
 * a write that changed a row notifies channel `alarm_changes` in its transaction (sent at
 * commit, never by a rollback) with the alarm's id and what was written (ALARM_NOTE_*), never
 * the alarm itself: the other nodes read the row back (src/storage/postgres/follower.ts).
 *
 * Two nodes may write one alarm: the node whose rule raised it updates its value, an operator
 * on another node acknowledges it. An update therefore only moves the lifecycle forward: an
 * acknowledgement stored stays when an update from a node that had not heard of it yet
 * arrives, and a cleared alarm is history that no late update rewrites.
 */
import type postgres from 'postgres';
import type { Alarm, AlarmComment } from '../domain/index.js';
import { isExplanation, type Explanation } from '../rules/explanation.js';
import type { PostgresDatabase, Queryable, TransactionSql } from '../storage/postgres/connection.js';
import { listenForNotices, noticeOrigin, writeNotifying } from '../storage/postgres/follower.js';
import {
  ALARM_NOTE_COMMENT, ALARM_NOTE_LIFECYCLE, fromRow, isAlarmId, toParams,
  type AlarmIdBlock, type AlarmQuery, type AlarmRow, type AlarmStore, type CommentRow, type SharedAlarms,
} from './store.js';

/** The channel every node's alarm service listens on. */
export const ALARM_CHANNEL = 'alarm_changes';

/** The step of `alarm_id_blocks`: the migration's INCREMENT BY. */
export const ALARM_ID_BLOCK = 1_000_000;

/** A row as PostgreSQL returns it: the explanations already parsed from jsonb. */
type PgAlarmRow = Omit<AlarmRow, 'explanation_data' | 'clear_explanation_data'> & {
  explanation_data: unknown;
  clear_explanation_data: unknown;
};

export class PostgresAlarmStore implements AlarmStore {
  /** Names this store in its notifications, so its own are told from other nodes'. */
  private readonly origin = noticeOrigin();
  readonly shared: SharedAlarms = {
    follow: (sink) => listenForNotices(this.db, ALARM_CHANNEL, this.origin, sink),
    read: async (ids) => {
      const keys = ids.filter(isAlarmId).map(Number);
      if (keys.length === 0) return [];
      const rows = await this.db.run((sql) => sql<PgAlarmRow[]>`SELECT * FROM alarms WHERE id = ANY(${keys}::bigint[]) ORDER BY id`);
      return this.withComments(rows);
    },
  };

  constructor(private readonly db: PostgresDatabase) {}

  reserveIds(): Promise<AlarmIdBlock> {
    return this.db.run(async (sql) => {
      const [row] = await sql<{ first: number }[]>`SELECT nextval('alarm_id_blocks') AS first`;
      if (row === undefined) throw new Error('nextval returned no row');
      return { first: row.first, count: ALARM_ID_BLOCK };
    });
  }

  insert(alarm: Alarm, now: number): Promise<void> {
    const p = toParams(alarm);
    return this.write(alarm.id, ALARM_NOTE_LIFECYCLE, async (sql) => (await sql`
        INSERT INTO alarms (id, rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since,
          acknowledged_at, acknowledged_by, cleared_at, explanation, clear_explanation, explanation_data,
          clear_explanation_data, value, updated_at)
        VALUES (${Number(alarm.id)}, ${p.ruleId}, ${p.detector}, ${p.subjectKind}, ${p.subjectId}, ${p.areaId}, ${p.severity},
          ${p.state}, ${p.raisedAt}, ${p.since}, ${p.acknowledgedAt}, ${p.acknowledgedBy}, ${p.clearedAt}, ${p.explanation},
          ${p.clearExplanation}, ${jsonOf(sql, alarm.explanationData)}::jsonb, ${jsonOf(sql, alarm.clearExplanationData)}::jsonb, ${p.value}, ${now})
        -- A retry after a lost commit acknowledgement finds its own row: nothing twice. An open
        -- alarm of the same rule and subject that another node stored (alarms_open) stands too:
        -- a permanent conflict retried forever would hold up every alarm write behind it.
        ON CONFLICT DO NOTHING`).count > 0);
  }

  update(alarm: Alarm, now: number): Promise<void> {
    const p = toParams(alarm);
    return this.write(alarm.id, ALARM_NOTE_LIFECYCLE, async (sql) => (await sql`
        UPDATE alarms SET severity = ${p.severity}, area_id = ${p.areaId},
          state = CASE WHEN state = 'acknowledged' AND ${p.state}::text = 'raised' THEN 'acknowledged' ELSE ${p.state}::text END,
          acknowledged_at = COALESCE(acknowledged_at, ${p.acknowledgedAt}::bigint), acknowledged_by = COALESCE(acknowledged_by, ${p.acknowledgedBy}::text),
          cleared_at = ${p.clearedAt}, explanation = ${p.explanation}, clear_explanation = ${p.clearExplanation},
          explanation_data = ${jsonOf(sql, alarm.explanationData)}::jsonb, clear_explanation_data = ${jsonOf(sql, alarm.clearExplanationData)}::jsonb,
          value = ${p.value}, updated_at = ${now}
        WHERE id = ${Number(alarm.id)} AND state <> 'cleared'`).count > 0);
  }

  addComment(alarmId: string, seq: number, comment: AlarmComment): Promise<void> {
    return this.write(alarmId, ALARM_NOTE_COMMENT, async (sql) => (await sql`
        INSERT INTO alarm_comments (alarm_id, seq, at, "by", text)
        VALUES (${Number(alarmId)}, ${seq}, ${comment.at}, ${comment.by}, ${comment.text})
        ON CONFLICT (alarm_id, seq) DO NOTHING`).count > 0);
  }

  /** `work` and, when it changed a row, the notification of the alarm's id, in one transaction. */
  private async write(alarmId: string, note: number, work: (tx: TransactionSql) => Promise<boolean>): Promise<void> {
    await writeNotifying(this.db, ALARM_CHANNEL, this.origin, alarmId, work, note);
  }

  async get(id: string): Promise<Alarm | undefined> {
    if (!isAlarmId(id)) return undefined;
    const rows = await this.db.run((sql) => sql<PgAlarmRow[]>`SELECT * FROM alarms WHERE id = ${Number(id)}`);
    return (await this.withComments(rows))[0];
  }

  async openAlarms(): Promise<Alarm[]> {
    const rows = await this.db.run((sql) => sql<PgAlarmRow[]>`SELECT * FROM alarms WHERE state <> 'cleared' ORDER BY id`);
    return this.withComments(rows);
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const rows = await this.db.run((sql) => {
      const none = sql``;
      // One value is an equality, which the (state, id) and (area_id, id) indexes serve in page
      // order; `= ANY(array)` they would not, and the page would walk the ids filtering.
      const filters = sql`
          ${q.states === undefined ? none : q.states.length === 1 ? sql`AND state = ${q.states[0] ?? ''}` : sql`AND state = ANY(${[...q.states]}::text[])`}
          ${q.severity === undefined ? none : sql`AND severity = ${q.severity}`}
          ${q.areaIds?.length === 1 ? sql`AND area_id = ${q.areaIds[0] ?? ''}` : none}
          ${q.meterId === undefined ? none : sql`AND subject_kind = 'meter' AND subject_id = ${q.meterId}`}
          ${q.ruleId === undefined ? none : sql`AND rule_id = ${q.ruleId}`}
          ${q.from === undefined ? none : sql`AND raised_at >= ${q.from}`}
          ${q.to === undefined ? none : sql`AND raised_at < ${q.to}`}
          ${q.beforeId === undefined ? none : sql`AND id < ${q.beforeId}`}`;
      if (q.areaIds === undefined || q.areaIds.length === 1) return sql<PgAlarmRow[]>`SELECT * FROM alarms WHERE true ${filters} ORDER BY id DESC LIMIT ${q.limit}`;
      // An area's subtree: one index range per area, merged (a sort of areas × limit rows at most).
      return sql<PgAlarmRow[]>`
        SELECT al.* FROM unnest(${[...q.areaIds]}::text[]) AS a(area_id) CROSS JOIN LATERAL (
          SELECT * FROM alarms WHERE area_id = a.area_id ${filters} ORDER BY id DESC LIMIT ${q.limit}
        ) al ORDER BY al.id DESC LIMIT ${q.limit}`;
    });
    return this.withComments(rows);
  }

  /** The alarms with their comments: one query for all of them. */
  private async withComments(rows: readonly PgAlarmRow[]): Promise<Alarm[]> {
    if (rows.length === 0) return [];
    const comments = await this.db.run((sql: Queryable) => sql<CommentRow[]>`
      SELECT alarm_id, seq, at, "by", text FROM alarm_comments
      WHERE alarm_id = ANY(${rows.map((r) => r.id)}::bigint[]) ORDER BY alarm_id, seq`);
    const byAlarm = new Map<number, CommentRow[]>();
    for (const c of comments) {
      const list = byAlarm.get(c.alarm_id) ?? [];
      list.push(c);
      byAlarm.set(c.alarm_id, list);
    }
    return rows.map((r) => ({
      ...fromRow({ ...r, explanation_data: null, clear_explanation_data: null }, byAlarm.get(r.id) ?? []),
      explanationData: explanationOf(r.explanation_data),
      clearExplanationData: explanationOf(r.clear_explanation_data),
    }));
  }
}

/** Stored data this code cannot read counts as none: the English text then stands, as in the embedded store. */
function explanationOf(x: unknown): Explanation | null {
  return isExplanation(x) ? x : null;
}

/**
 * An explanation as a jsonb parameter, or SQL NULL. The client serialises it: a JSON string
 * handed in would be stored as a JSON string, not as the object.
 */
function jsonOf(sql: Queryable, x: Explanation | null): postgres.Parameter | null {
  return x === null ? null : sql.json(x);
}
