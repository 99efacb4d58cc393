/**
 * Where workflow instances live between steps: the instance row (status, variables, where it
 * waits, the engine's state without the definition source), its history lines and the
 * journal of the effects its service tasks made. SQLite (migration 22) and PostgreSQL
 * (migration 29) implement it; a step's state, waiting list and history lines are written in
 * one transaction, so a restart finds the instance exactly as one step left it.
 */
import type { InstanceHistoryEntry, InstanceStatus, Trigger, WaitingStep, WorkflowInstance } from '../model.js';

/** Cap of one page of instances. */
export const MAX_INSTANCE_PAGE = 500;
export const DEFAULT_INSTANCE_PAGE = 50;

export interface NewInstance {
  readonly id: string;
  readonly processKey: string;
  readonly version: number;
  readonly trigger: Trigger;
  readonly businessKey: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly startedAt: number;
}

export type NewHistoryEntry = Omit<InstanceHistoryEntry, 'seq'>;

/** What one step changes on the instance row. */
export interface InstanceStep {
  readonly status: InstanceStatus;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly waiting: readonly WaitingStep[];
  /** The engine's state as JSON, without the definitions' source; null once the instance has ended. */
  readonly state: string | null;
  readonly updatedAt: number;
  readonly endedAt: number | null;
  readonly error: string | null;
}

export interface InstanceQuery {
  readonly processKey?: string;
  readonly status?: InstanceStatus;
  readonly businessKey?: string;
  /** The `next` of the previous page: instances started before it (newest first). */
  readonly after?: string;
  /** Default 50, at most 500. */
  readonly limit?: number;
}

export interface InstancePage {
  readonly items: WorkflowInstance[];
  /** The cursor of the next page, or null on the last one. */
  readonly next: string | null;
}

/** A running instance as recovery needs it: the row and the engine state it resumes from. */
export interface RunningInstance {
  readonly instance: WorkflowInstance;
  readonly state: string | null;
}

/** A service task's effect, journalled so a step run again answers its first output. */
export interface RecordedEffect {
  readonly instanceId: string;
  readonly stepKey: string;
  readonly action: string;
  readonly output: Readonly<Record<string, unknown>>;
  readonly at: number;
}

export interface WorkflowInstanceStore {
  /**
   * Creates the row, status running. Answers false, creating nothing, when the alarm already
   * started an instance of the same process, or the fee account has one running.
   */
  create(instance: NewInstance): Promise<boolean>;
  /** Writes one step: the row, and the history lines appended after the instance's last one; keeps the newest `maxHistory` lines. */
  step(id: string, step: InstanceStep, history: readonly NewHistoryEntry[], maxHistory: number): Promise<void>;
  get(id: string): Promise<WorkflowInstance | undefined>;
  /** The instance's history, oldest first. */
  history(id: string): Promise<InstanceHistoryEntry[]>;
  list(query: InstanceQuery): Promise<InstancePage>;
  /** Every running instance with its state, for recovery at duty start. */
  running(): Promise<RunningInstance[]>;
  /** Running instances never run yet (started through another node's API), oldest first, at most `limit`. */
  unstarted(limit: number): Promise<WorkflowInstance[]>;
  countRunning(): Promise<number>;
  /** Journals a non-command effect's output; a second record of the same step keeps the first. */
  recordEffect(effect: RecordedEffect): Promise<void>;
  effect(instanceId: string, stepKey: string): Promise<RecordedEffect | undefined>;
}

export function pageLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? DEFAULT_INSTANCE_PAGE, MAX_INSTANCE_PAGE));
}

/**
 * The keyset cursor of a page: the last item's start time and id, so pages stay stable while
 * instances start. Opaque to callers; `parseCursor` refuses what it did not make.
 */
export function cursorOf(instance: Pick<WorkflowInstance, 'startedAt' | 'id'>): string {
  return `${instance.startedAt}.${instance.id}`;
}

export function parseCursor(cursor: string): { readonly startedAt: number; readonly id: string } | undefined {
  const dot = cursor.indexOf('.');
  if (dot <= 0) return undefined;
  const startedAt = Number(cursor.slice(0, dot));
  if (!Number.isSafeInteger(startedAt)) return undefined;
  return { startedAt, id: cursor.slice(dot + 1) };
}

/** The row as both drivers read it (PostgreSQL answers bigints as strings, JSON as text). */
export interface InstanceRow {
  readonly id: string;
  readonly process_key: string;
  readonly version: number | string;
  readonly status: string;
  readonly trigger_kind: string;
  readonly trigger_ref: string | null;
  readonly business_key: string | null;
  readonly variables: string;
  readonly waiting: string;
  readonly started_at: number | string;
  readonly updated_at: number | string;
  readonly ended_at: number | string | null;
  readonly error: string | null;
}

export interface HistoryRow {
  readonly seq: number | string;
  readonly at: number | string;
  readonly element_id: string;
  readonly element_type: string;
  readonly event: string;
  readonly detail: string | null;
}

export function instanceOf(r: InstanceRow): WorkflowInstance {
  return {
    id: r.id, processKey: r.process_key, version: Number(r.version), status: r.status as InstanceStatus,
    trigger: { kind: r.trigger_kind as Trigger['kind'], ref: r.trigger_ref }, businessKey: r.business_key,
    variables: JSON.parse(r.variables) as Record<string, unknown>, waiting: JSON.parse(r.waiting) as WaitingStep[],
    startedAt: Number(r.started_at), updatedAt: Number(r.updated_at), endedAt: r.ended_at === null ? null : Number(r.ended_at), error: r.error,
  };
}

export function historyOf(r: HistoryRow): InstanceHistoryEntry {
  return {
    seq: Number(r.seq), at: Number(r.at), elementId: r.element_id, elementType: r.element_type,
    event: r.event as InstanceHistoryEntry['event'], detail: r.detail,
  };
}
