/**
 * Workflow instances on PostgreSQL (migration 29), shared by every node. Only the leader runs
 * instances, so a row has one writer at a time; a step is still one transaction, so the
 * history lines and the state never disagree after a failover.
 */
import type { PostgresDatabase, Sql } from '../../storage/postgres/connection.js';
import type { InstanceHistoryEntry, WorkflowInstance } from '../model.js';
import {
  cursorOf, historyOf, instanceOf, pageLimit, parseCursor,
  type HistoryRow, type InstancePage, type InstanceQuery, type InstanceRow, type InstanceStep, type NewHistoryEntry, type NewInstance,
  type RecordedEffect, type RunningInstance, type WorkflowInstanceStore,
} from './store.js';

export class PostgresWorkflowInstanceStore implements WorkflowInstanceStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(i: NewInstance): Promise<boolean> {
    const rows = await this.db.run((sql) => sql`INSERT INTO workflow_instances
      (id, process_key, version, status, trigger_kind, trigger_ref, business_key, variables, waiting, state, started_at, updated_at)
      VALUES (${i.id}, ${i.processKey}, ${i.version}, 'running', ${i.trigger.kind}, ${i.trigger.ref}, ${i.businessKey},
        ${JSON.stringify(i.variables)}, '[]', NULL, ${i.startedAt}, ${i.startedAt})
      ON CONFLICT DO NOTHING RETURNING id`);
    return rows.length === 1;
  }

  async step(id: string, s: InstanceStep, history: readonly NewHistoryEntry[], maxHistory: number): Promise<void> {
    await this.db.run((sql) => sql.begin(async (tx) => {
      await tx`UPDATE workflow_instances SET status = ${s.status}, variables = ${JSON.stringify(s.variables)}, waiting = ${JSON.stringify(s.waiting)},
        state = ${s.state}, updated_at = ${s.updatedAt}, ended_at = ${s.endedAt}, error = ${s.error} WHERE id = ${id}`;
      if (history.length === 0) return;
      const [row] = await tx<{ seq: number }[]>`SELECT COALESCE(MAX(seq), 0)::int AS seq FROM workflow_history WHERE instance_id = ${id}`;
      const last = row?.seq ?? 0;
      const lines = history.map((h, n) => ({
        instance_id: id, seq: last + n + 1, at: h.at, element_id: h.elementId, element_type: h.elementType, event: h.event, detail: h.detail,
      }));
      await tx`INSERT INTO workflow_history ${tx(lines)}`;
      const through = last + history.length - maxHistory;
      if (through > 0) await tx`DELETE FROM workflow_history WHERE instance_id = ${id} AND seq <= ${through}`;
    }));
  }

  async get(id: string): Promise<WorkflowInstance | undefined> {
    const [row] = await this.db.run((sql) => sql<InstanceRow[]>`SELECT * FROM workflow_instances WHERE id = ${id}`);
    return row === undefined ? undefined : instanceOf(row);
  }

  async history(id: string): Promise<InstanceHistoryEntry[]> {
    const rows = await this.db.run((sql) => sql<HistoryRow[]>`SELECT seq, at, element_id, element_type, event, detail
      FROM workflow_history WHERE instance_id = ${id} ORDER BY seq`);
    return rows.map(historyOf);
  }

  list(q: InstanceQuery): Promise<InstancePage> {
    const limit = pageLimit(q.limit);
    const after = q.after === undefined ? undefined : parseCursor(q.after);
    return this.db.run(async (sql: Sql) => {
      const none = sql``;
      const rows = await sql<InstanceRow[]>`SELECT * FROM workflow_instances WHERE true
        ${q.processKey === undefined ? none : sql`AND process_key = ${q.processKey}`}
        ${q.status === undefined ? none : sql`AND status = ${q.status}`}
        ${q.businessKey === undefined ? none : sql`AND business_key = ${q.businessKey}`}
        ${after === undefined ? none : sql`AND (started_at, id) < (${after.startedAt}, ${after.id})`}
        ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`;
      const items = rows.slice(0, limit).map(instanceOf);
      const last = items.at(-1);
      return { items, next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
    });
  }

  async running(): Promise<RunningInstance[]> {
    const rows = await this.db.run((sql) => sql<(InstanceRow & { state: string | null })[]>`SELECT * FROM workflow_instances
      WHERE status = 'running' ORDER BY started_at, id`);
    return rows.map((r) => ({ instance: instanceOf(r), state: r.state }));
  }

  async unstarted(limit: number): Promise<WorkflowInstance[]> {
    const rows = await this.db.run((sql) => sql<InstanceRow[]>`SELECT * FROM workflow_instances
      WHERE status = 'running' AND state IS NULL ORDER BY started_at, id LIMIT ${limit}`);
    return rows.map(instanceOf);
  }

  async countRunning(): Promise<number> {
    const [row] = await this.db.run((sql) => sql<{ n: number }[]>`SELECT COUNT(*)::int AS n FROM workflow_instances WHERE status = 'running'`);
    return row?.n ?? 0;
  }

  async recordEffect(e: RecordedEffect): Promise<void> {
    await this.db.run((sql) => sql`INSERT INTO workflow_effects (instance_id, step_key, action, output, at)
      VALUES (${e.instanceId}, ${e.stepKey}, ${e.action}, ${JSON.stringify(e.output)}, ${e.at}) ON CONFLICT DO NOTHING`);
  }

  async effect(instanceId: string, stepKey: string): Promise<RecordedEffect | undefined> {
    const [row] = await this.db.run((sql) => sql<{ action: string; output: string; at: string | number }[]>`SELECT action, output, at
      FROM workflow_effects WHERE instance_id = ${instanceId} AND step_key = ${stepKey}`);
    return row === undefined ? undefined : { instanceId, stepKey, action: row.action, output: JSON.parse(row.output) as Record<string, unknown>, at: Number(row.at) };
  }
}
