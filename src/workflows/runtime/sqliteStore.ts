/**
 * Workflow instances on the embedded store (migration 22). Each write is one transaction and
 * answers settled, as every embedded store behind an async port does.
 */
import { settled, type Db } from '../../storage/db.js';
import type { InstanceHistoryEntry, WorkflowInstance } from '../model.js';
import {
  cursorOf, historyOf, instanceOf, pageLimit, parseCursor,
  type HistoryRow, type InstancePage, type InstanceQuery, type InstanceRow, type InstanceStep, type NewHistoryEntry, type NewInstance,
  type RecordedEffect, type RunningInstance, type WorkflowInstanceStore,
} from './store.js';

const COLUMNS = 'id, process_key, version, status, trigger_kind, trigger_ref, business_key, variables, waiting, started_at, updated_at, ended_at, error';

export class SqliteWorkflowInstanceStore implements WorkflowInstanceStore {
  constructor(private readonly db: Db) {}

  create(i: NewInstance): Promise<boolean> {
    return settled(() => {
      const r = this.db.prepare(`INSERT INTO workflow_instances (${COLUMNS}, state)
        VALUES (?, ?, ?, 'running', ?, ?, ?, ?, '[]', ?, ?, NULL, NULL, NULL)
        ON CONFLICT DO NOTHING`).run(
        i.id, i.processKey, i.version, i.trigger.kind, i.trigger.ref, i.businessKey, JSON.stringify(i.variables), i.startedAt, i.startedAt,
      );
      return r.changes === 1;
    });
  }

  step(id: string, s: InstanceStep, history: readonly NewHistoryEntry[], maxHistory: number): Promise<void> {
    return settled(() => { this.db.transaction(() => {
      this.db.prepare(`UPDATE workflow_instances SET status = ?, variables = ?, waiting = ?, state = ?, updated_at = ?, ended_at = ?, error = ?
        WHERE id = ?`).run(s.status, JSON.stringify(s.variables), JSON.stringify(s.waiting), s.state, s.updatedAt, s.endedAt, s.error, id);
      if (history.length === 0) return;
      const last = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM workflow_history WHERE instance_id = ?').get(id) as { seq: number }).seq;
      const insert = this.db.prepare('INSERT INTO workflow_history (instance_id, seq, at, element_id, element_type, event, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
      history.forEach((h, n) => { insert.run(id, last + n + 1, h.at, h.elementId, h.elementType, h.event, h.detail); });
      const through = last + history.length - maxHistory;
      if (through > 0) this.db.prepare('DELETE FROM workflow_history WHERE instance_id = ? AND seq <= ?').run(id, through);
    })(); });
  }

  get(id: string): Promise<WorkflowInstance | undefined> {
    return settled(() => {
      const row = this.db.prepare(`SELECT ${COLUMNS} FROM workflow_instances WHERE id = ?`).get(id) as InstanceRow | undefined;
      return row === undefined ? undefined : instanceOf(row);
    });
  }

  history(id: string): Promise<InstanceHistoryEntry[]> {
    return settled(() => (this.db.prepare('SELECT seq, at, element_id, element_type, event, detail FROM workflow_history WHERE instance_id = ? ORDER BY seq')
      .all(id) as HistoryRow[]).map(historyOf));
  }

  list(q: InstanceQuery): Promise<InstancePage> {
    return settled(() => {
      const limit = pageLimit(q.limit);
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.processKey !== undefined) { where.push('process_key = ?'); args.push(q.processKey); }
      if (q.status !== undefined) { where.push('status = ?'); args.push(q.status); }
      if (q.businessKey !== undefined) { where.push('business_key = ?'); args.push(q.businessKey); }
      const after = q.after === undefined ? undefined : parseCursor(q.after);
      if (after !== undefined) { where.push('(started_at < ? OR (started_at = ? AND id < ?))'); args.push(after.startedAt, after.startedAt, after.id); }
      const rows = this.db.prepare(`SELECT ${COLUMNS} FROM workflow_instances ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
        ORDER BY started_at DESC, id DESC LIMIT ?`).all(...args, limit + 1) as InstanceRow[];
      const items = rows.slice(0, limit).map(instanceOf);
      const last = items.at(-1);
      return { items, next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
    });
  }

  running(): Promise<RunningInstance[]> {
    return settled(() => (this.db.prepare(`SELECT ${COLUMNS}, state FROM workflow_instances WHERE status = 'running' ORDER BY started_at, id`)
      .all() as (InstanceRow & { state: string | null })[]).map((r) => ({ instance: instanceOf(r), state: r.state })));
  }

  unstarted(limit: number): Promise<WorkflowInstance[]> {
    return settled(() => (this.db.prepare(`SELECT ${COLUMNS} FROM workflow_instances WHERE status = 'running' AND state IS NULL ORDER BY started_at, id LIMIT ?`)
      .all(limit) as InstanceRow[]).map(instanceOf));
  }

  countRunning(): Promise<number> {
    return settled(() => (this.db.prepare("SELECT COUNT(*) AS n FROM workflow_instances WHERE status = 'running'").get() as { n: number }).n);
  }

  recordEffect(e: RecordedEffect): Promise<void> {
    return settled(() => {
      this.db.prepare('INSERT INTO workflow_effects (instance_id, step_key, action, output, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(e.instanceId, e.stepKey, e.action, JSON.stringify(e.output), e.at);
    });
  }

  effect(instanceId: string, stepKey: string): Promise<RecordedEffect | undefined> {
    return settled(() => {
      const row = this.db.prepare('SELECT action, output, at FROM workflow_effects WHERE instance_id = ? AND step_key = ?').get(instanceId, stepKey) as
        { action: string; output: string; at: number } | undefined;
      return row === undefined ? undefined : { instanceId, stepKey, action: row.action, output: JSON.parse(row.output) as Record<string, unknown>, at: row.at };
    });
  }
}
