/**
 * Persistence of alarms and their comments: the port the alarm service writes through, and its
 * embedded implementation (tables `alarms` and `alarm_comments`, migration 5). The PostgreSQL
 * one is in postgresStore.ts. The service decides; a store only reads and writes rows.
 *
 * Alarm ids are handed out by the store in blocks (`reserveIds`) before they are needed: the
 * rule engine raises alarms synchronously, and the alarm it gets back (and every listener)
 * must already carry its id, while the row is written behind it.
 */
import type { Db } from '../storage/db.js';
import {
  areaId, meterId, terminalId,
  type Alarm, type AlarmComment, type AlarmState, type AlarmSubject, type AreaId, type Severity,
} from '../domain/index.js';
import { isExplanation, type Explanation } from '../rules/explanation.js';
import type { NoticeSink } from '../storage/postgres/follower.js';
import type { Listening } from '../storage/postgres/notifications.js';

export interface AlarmQuery {
  readonly states?: readonly AlarmState[];
  readonly severity?: Severity;
  /** Any of these areas (the service expands an area to its subtree). */
  readonly areaIds?: readonly AreaId[];
  readonly meterId?: string;
  readonly ruleId?: string;
  /** raisedAt ≥ from (ms). */
  readonly from?: number;
  /** raisedAt < to (ms). */
  readonly to?: number;
  /** Only alarms with a smaller id (the page before). */
  readonly beforeId?: number;
  readonly limit: number;
}

/** Ids `first` … `first + count − 1`, this node's to give to new alarms. */
export interface AlarmIdBlock {
  readonly first: number;
  readonly count: number;
}

export interface AlarmStore {
  /** A block of ids no other caller (node) is given; ids only grow, so newest first is by id. */
  reserveIds(): Promise<AlarmIdBlock>;
  /** Stores a new alarm under the id it carries (one from `reserveIds`). */
  insert(alarm: Alarm, now: number): Promise<void>;
  update(alarm: Alarm, now: number): Promise<void>;
  addComment(alarmId: string, seq: number, comment: AlarmComment): Promise<void>;
  get(id: string): Promise<Alarm | undefined>;
  /** Every alarm not yet cleared, for the service's in-memory index at start. */
  openAlarms(): Promise<Alarm[]>;
  /** Newest first (by id), at most `limit`. */
  list(q: AlarmQuery): Promise<Alarm[]>;
  /** The store several nodes write; undefined for the embedded one (one process). */
  readonly shared?: SharedAlarms;
}

/** What a node needs to follow the alarm changes other nodes commit. */
export interface SharedAlarms {
  /** Listens for the ids of alarms other nodes wrote, each with its ALARM_NOTE_* bits (resolves once listening). */
  follow(sink: NoticeSink): Promise<Listening>;
  /** The stored alarms among `ids`, with their comments. */
  read(ids: readonly string[]): Promise<Alarm[]>;
}

/** What a notified write did: the alarm itself (raise, update, acknowledgement, clear)… */
export const ALARM_NOTE_LIFECYCLE = 1;
/** …or a comment only, which is all that happens to a cleared alarm. */
export const ALARM_NOTE_COMMENT = 2;

/**
 * Ids one reservation of the embedded store covers. One process owns the file, and each start
 * reserves from the highest id stored, so a block this large keeps the ids consecutive (1, 2,
 * 3 ...) as they were before blocks existed.
 */
const EMBEDDED_ID_BLOCK = 1_000_000_000;

export class SqliteAlarmStore implements AlarmStore {
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly commentStmt;
  private readonly byId;
  private readonly commentsOf;

  /** The highest id handed out: one process owns the file, so every id above it is free. */
  private reservedUpTo = 0;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO alarms (id, rule_id, detector, subject_kind, subject_id, area_id, severity, state, raised_at, since,
         acknowledged_at, acknowledged_by, cleared_at, explanation, clear_explanation, explanation_data,
         clear_explanation_data, value, updated_at)
       VALUES (@id, @ruleId, @detector, @subjectKind, @subjectId, @areaId, @severity, @state, @raisedAt, @since,
         @acknowledgedAt, @acknowledgedBy, @clearedAt, @explanation, @clearExplanation, @explanationData,
         @clearExplanationData, @value, @updatedAt)`,
    );
    this.updateStmt = db.prepare(
      `UPDATE alarms SET severity = @severity, state = @state, area_id = @areaId, acknowledged_at = @acknowledgedAt,
         acknowledged_by = @acknowledgedBy, cleared_at = @clearedAt, explanation = @explanation,
         clear_explanation = @clearExplanation, explanation_data = @explanationData,
         clear_explanation_data = @clearExplanationData, value = @value, updated_at = @updatedAt
       WHERE id = @id`,
    );
    this.commentStmt = db.prepare(
      'INSERT INTO alarm_comments (alarm_id, seq, at, by, text) VALUES (?, ?, ?, ?, ?)',
    );
    this.byId = db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE id = ?');
    this.commentsOf = db.prepare<[number], CommentRow>('SELECT alarm_id, seq, at, by, text FROM alarm_comments WHERE alarm_id = ? ORDER BY seq');
  }

  // The methods are async only to meet the port: better-sqlite3 runs each statement at the
  // call, so a write is on disk before the call returns, as before the port existed.
  /* eslint-disable @typescript-eslint/require-await */

  async reserveIds(): Promise<AlarmIdBlock> {
    const stored = this.db.prepare<[], { max: number | null }>('SELECT max(id) AS max FROM alarms').get()?.max ?? 0;
    const first = Math.max(stored, this.reservedUpTo) + 1;
    this.reservedUpTo = first + EMBEDDED_ID_BLOCK - 1;
    return { first, count: EMBEDDED_ID_BLOCK };
  }

  async insert(alarm: Alarm, now: number): Promise<void> {
    this.insertStmt.run({ ...toParams(alarm), id: Number(alarm.id), updatedAt: now });
  }

  async update(alarm: Alarm, now: number): Promise<void> {
    this.updateStmt.run({ ...toParams(alarm), id: Number(alarm.id), updatedAt: now });
  }

  async addComment(alarmId: string, seq: number, comment: AlarmComment): Promise<void> {
    this.commentStmt.run(Number(alarmId), seq, comment.at, comment.by, comment.text);
  }

  async get(id: string): Promise<Alarm | undefined> {
    if (!isAlarmId(id)) return undefined;
    const row = this.byId.get(Number(id));
    return row === undefined ? undefined : fromRow(row, this.commentsOf.all(row.id));
  }

  async openAlarms(): Promise<Alarm[]> {
    const rows = this.db.prepare<[], AlarmRow>("SELECT * FROM alarms WHERE state <> 'cleared' ORDER BY id").all();
    return this.withComments(rows);
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.states !== undefined) {
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      params.push(...q.states);
    }
    if (q.severity !== undefined) { where.push('severity = ?'); params.push(q.severity); }
    if (q.meterId !== undefined) { where.push("subject_kind = 'meter' AND subject_id = ?"); params.push(q.meterId); }
    if (q.ruleId !== undefined) { where.push('rule_id = ?'); params.push(q.ruleId); }
    if (q.from !== undefined) { where.push('raised_at >= ?'); params.push(q.from); }
    if (q.to !== undefined) { where.push('raised_at < ?'); params.push(q.to); }
    if (q.beforeId !== undefined) { where.push('id < ?'); params.push(q.beforeId); }
    if (q.areaIds !== undefined && q.areaIds.length !== 1) return this.withComments(this.subtreePage(q.areaIds, where, params, q.limit));
    if (q.areaIds !== undefined) { where.push('area_id = ?'); params.push(...q.areaIds); }
    const sql = `SELECT * FROM alarms ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare<(string | number)[], AlarmRow>(sql).all(...params, q.limit);
    return this.withComments(rows);
  }

  /* eslint-enable @typescript-eslint/require-await */

  /**
   * A page of an area subtree's alarms: each area's alarms newest first, one range of
   * (area_id, id) read lazily, merged, so a page reads at most areas + limit rows however long
   * the history. `area_id IN (…)` would read every alarm of the subtree and sort them.
   */
  private subtreePage(areaIds: readonly string[], where: readonly string[], params: readonly (string | number)[], limit: number): AlarmRow[] {
    const sql = `SELECT * FROM alarms WHERE area_id = ? ${where.map((w) => `AND ${w} `).join('')}ORDER BY id DESC`;
    // One statement per area: a statement runs one query at a time, and every area's is open until the page is full.
    const heads = areaIds.map((area) => {
      const rows = this.db.prepare<(string | number)[], AlarmRow>(sql).iterate(area, ...params);
      return { rows, next: rows.next() };
    });
    const page: AlarmRow[] = [];
    try {
      while (page.length < limit) {
        let newest: (typeof heads)[number] | undefined;
        for (const h of heads) if (h.next.done !== true && (newest === undefined || h.next.value.id > (newest.next.value as AlarmRow).id)) newest = h;
        if (newest === undefined) break;
        page.push(newest.next.value as AlarmRow);
        newest.next = newest.rows.next();
      }
    } finally {
      for (const h of heads) h.rows.return?.();
    }
    return page;
  }

  private withComments(rows: readonly AlarmRow[]): Alarm[] {
    if (rows.length === 0) return [];
    const byAlarm = new Map<number, CommentRow[]>();
    // One query per 500 alarms rather than one per alarm.
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => r.id);
      const comments = this.db
        .prepare<number[], CommentRow>(`SELECT alarm_id, seq, at, by, text FROM alarm_comments WHERE alarm_id IN (${ids.map(() => '?').join(', ')}) ORDER BY alarm_id, seq`)
        .all(...ids);
      for (const c of comments) {
        const list = byAlarm.get(c.alarm_id) ?? [];
        list.push(c);
        byAlarm.set(c.alarm_id, list);
      }
    }
    return rows.map((r) => fromRow(r, byAlarm.get(r.id) ?? []));
  }
}

/** An id as the API shows it: digits, at most 15 of them. */
export function isAlarmId(id: string): boolean {
  return /^\d{1,15}$/.test(id);
}

export interface AlarmRow {
  id: number;
  rule_id: string;
  detector: string;
  subject_kind: AlarmSubject['kind'];
  subject_id: string;
  area_id: string | null;
  severity: Severity;
  state: AlarmState;
  raised_at: number;
  since: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  explanation: string;
  clear_explanation: string | null;
  explanation_data: string | null;
  clear_explanation_data: string | null;
  value: number;
}

export interface CommentRow {
  alarm_id: number;
  seq: number;
  at: number;
  by: string;
  text: string;
}

export function toParams(a: Omit<Alarm, 'id'>) {
  return {
    ruleId: a.ruleId, detector: a.detector, subjectKind: a.subject.kind, subjectId: a.subject.id, areaId: a.areaId,
    severity: a.severity, state: a.state, raisedAt: a.raisedAt, since: a.since, acknowledgedAt: a.acknowledgedAt,
    acknowledgedBy: a.acknowledgedBy, clearedAt: a.clearedAt, explanation: a.explanation,
    clearExplanation: a.clearExplanation, value: a.value,
    explanationData: a.explanationData === null ? null : JSON.stringify(a.explanationData),
    clearExplanationData: a.clearExplanationData === null ? null : JSON.stringify(a.clearExplanationData),
  };
}

function subjectOf(kind: AlarmSubject['kind'], id: string): AlarmSubject {
  if (kind === 'meter') return { kind, id: meterId(id) };
  if (kind === 'area') return { kind, id: areaId(id) };
  if (kind === 'station') return { kind, id };
  return { kind, id: terminalId(id) };
}

export function fromRow(r: AlarmRow, comments: readonly CommentRow[]): Alarm {
  return {
    id: String(r.id),
    ruleId: r.rule_id,
    detector: r.detector,
    subject: subjectOf(r.subject_kind, r.subject_id),
    areaId: r.area_id === null ? null : areaId(r.area_id),
    severity: r.severity,
    state: r.state,
    raisedAt: r.raised_at,
    since: r.since,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    clearedAt: r.cleared_at,
    explanation: r.explanation,
    clearExplanation: r.clear_explanation,
    explanationData: parseExplanation(r.explanation_data),
    clearExplanationData: parseExplanation(r.clear_explanation_data),
    value: r.value,
    comments: comments.map((c) => ({ at: c.at, by: c.by, text: c.text })),
  };
}

/** A stored explanation, or null (older rows, or JSON this code cannot read: the English text then stands). */
function parseExplanation(json: string | null): Explanation | null {
  if (json === null) return null;
  try {
    const x = JSON.parse(json) as unknown;
    return isExplanation(x) ? x : null;
  } catch {
    return null;
  }
}
