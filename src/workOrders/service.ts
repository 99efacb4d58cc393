/**
 * Work orders (工单): the rules in front of the work order store, for the workflow runtime and
 * actions (WorkOrderPort, acting as `workflow:<process>/<instance>`) and for people through the
 * API (a Principal).
 *
 * States: open → assigned → in-progress → done; cancelled from any of the first three. Assigning
 * again hands the order to another person, who starts it anew. A person completes only an order
 * in progress; a workflow step closes an open order from any state, and closing or cancelling a
 * closed one changes nothing (a step run again after a restart). Anything else is a 409.
 *
 * Who: operators and admins do everything; the assignee starts, completes and comments on its
 * order; viewers read. A `field` principal sees only the orders assigned to it (subject
 * `user:<name>` → assignee `<name>`), and any other order is answered 404, never 403, so its
 * existence does not leak. Every change appends a history line (in the store's transaction), an
 * audit line with the actor, and is told to the listeners (`onChange`) of this node.
 */
import { randomUUID } from 'node:crypto';
import { ForbiddenError } from '../auth/errors.js';
import { ROLES, permits, type Principal } from '../auth/roles.js';
import type { WorkOrdersConfig } from '../config/workOrders.js';
import type { AuditLog } from '../control/audit.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { UnknownWorkOrderType, WorkOrderCommentsFull, WorkOrderKeyConflict, WorkOrderResultInvalid, WorkOrderStateConflict } from './errors.js';
import type { WorkOrder, WorkOrderDetail, WorkOrderEvent, WorkOrderResult, WorkOrderState } from './model.js';
import type { WorkOrderOpenRequest, WorkOrderPort } from './port.js';
import type { ChangeDecision, WorkOrderChange, WorkOrderCursor, WorkOrderFilter, WorkOrderPage, WorkOrderStore } from './store.js';
import { WORK_ORDER_TYPES, resultProblem, workOrderType } from './types.js';

/** A principal with the network address its request came from (null: the station's own). */
export interface Caller extends Principal {
  readonly source?: string | null;
}

/** An order as a person creates it. */
export interface WorkOrderInput {
  readonly type: string;
  readonly title: string;
  readonly meterId?: string | null;
  readonly customer?: string | null;
  readonly areaId?: string | null;
  readonly role?: string | null;
  readonly assignee?: string | null;
  readonly dueAt?: number | null;
}

export interface WorkOrderListQuery extends WorkOrderFilter {
  readonly after?: WorkOrderCursor;
  readonly limit: number;
}

export type WorkOrderListener = (order: WorkOrder) => void;

export interface WorkOrderServiceOptions {
  readonly store: WorkOrderStore;
  readonly audit: AuditLog;
  readonly limits: WorkOrdersConfig;
  readonly now?: () => number;
  /** A listener threw: the change stands; the assembly logs it. */
  readonly onListenerError?: (err: unknown) => void;
}

/** Ids of people, meters, areas and customers on an order are at most this long. */
export const MAX_REF_CHARS = 64;

const OPEN_STATES: readonly WorkOrderState[] = ['open', 'assigned', 'in-progress'];
const isOpen = (o: WorkOrder): boolean => OPEN_STATES.includes(o.state);

export class WorkOrderService implements WorkOrderPort {
  readonly #o: WorkOrderServiceOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<WorkOrderListener>();

  constructor(options: WorkOrderServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Tells `listener` every order changed through this service on this node; returns the unsubscribe. Other nodes follow `changesSince`. */
  onChange(listener: WorkOrderListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  // ── WorkOrderPort: the workflow runtime and actions ──

  /** A title made from an alarm's text may run long: it is cut to `workOrders.maxTitleChars` rather than fail the step. */
  async open(request: WorkOrderOpenRequest): Promise<WorkOrder> {
    const max = this.#o.limits.maxTitleChars;
    const title = request.title.trim();
    const input = this.#checkInput({ ...request, title: title.length > max ? `${title.slice(0, max - 1)}…` : title });
    const { order, created } = await this.#o.store.insert({
      id: randomUUID(), key: request.key, ...input, state: input.assignee === null ? 'open' : 'assigned',
      alarmId: request.alarmId, source: request.source, createdAt: this.#now(),
    }, request.actor);
    if (!created) {
      if (order.type !== request.type) throw new WorkOrderKeyConflict(request.key, order.id);
      return order;
    }
    await this.#changed(order, request.actor, null, 'created', { key: request.key });
    return order;
  }

  byKey(key: string): Promise<WorkOrder | undefined> {
    return this.#o.store.byKey(key);
  }

  get(id: string): Promise<WorkOrder | undefined> {
    return this.#o.store.get(id);
  }

  async complete(id: string, result: WorkOrderResult, resultText: string | null, actor: string): Promise<WorkOrder> {
    return this.#change(id, actor, null, 'completed', (o) => (isOpen(o) ? this.#completion(o, result, resultText, actor) : null));
  }

  async cancel(id: string, reason: string, actor: string): Promise<WorkOrder> {
    const why = this.#text(reason, 'reason');
    return this.#change(id, actor, null, 'cancelled', (o) => (isOpen(o) ? this.#cancellation(actor, why) : null));
  }

  /** The key rides in the history line's detail (`<reason> [step <key>]`), read back in the write's transaction. */
  async escalate(id: string, reason: string, actor: string, key?: string): Promise<WorkOrder> {
    const why = this.#text(reason, 'reason');
    const mark = key === undefined ? undefined : ` [step ${this.#text(key, 'key')}]`;
    const detail = mark === undefined ? why : `${why}${mark}`;
    return this.#change(id, actor, null, 'escalated', (o, _comments, history) => {
      if (!isOpen(o)) return null;
      if (mark !== undefined && history.some((h) => h.event === 'escalated' && h.detail?.endsWith(mark) === true)) return null;
      return { patch: { escalations: o.escalations + 1 }, event: this.#event(actor, 'escalated', detail) };
    });
  }

  changesSince(seq: number, limit: number): Promise<readonly WorkOrder[]> {
    return this.#o.store.changesSince(seq, limit);
  }

  // ── people, through the API ──

  /** The types and their result forms. */
  types(): typeof WORK_ORDER_TYPES {
    return WORK_ORDER_TYPES;
  }

  /** Newest first; a field principal gets only its own orders. */
  async list(caller: Caller, query: WorkOrderListQuery): Promise<WorkOrderPage> {
    const scoped = scopeOf(caller, query);
    return scoped === undefined ? { items: [], next: null } : this.#o.store.list(scoped);
  }

  /** Every order the filter matches, newest first, `workOrders.exportBatch` at a time. */
  async *export(caller: Caller, filter: WorkOrderFilter): AsyncGenerator<WorkOrder[]> {
    let after: WorkOrderCursor | undefined;
    do {
      const page = await this.list(caller, { ...filter, limit: this.#o.limits.exportBatch, ...(after === undefined ? {} : { after }) });
      yield page.items;
      after = page.next ?? undefined;
    } while (after !== undefined);
  }

  async detail(caller: Caller, id: string): Promise<WorkOrderDetail> {
    const order = await this.#o.store.detail(id);
    if (order === undefined || !sees(caller, order)) throw new NotFoundError('work order', id);
    return order;
  }

  async create(caller: Caller, input: WorkOrderInput): Promise<WorkOrder> {
    requireOperator(caller, 'create work orders');
    const checked = this.#checkInput(input);
    const { order } = await this.#o.store.insert({
      id: randomUUID(), key: null, ...checked, state: checked.assignee === null ? 'open' : 'assigned', alarmId: null, source: null, createdAt: this.#now(),
    }, caller.subject);
    await this.#changed(order, caller.subject, caller.source ?? null, 'created', {});
    return order;
  }

  async assign(caller: Caller, id: string, assignee: string): Promise<WorkOrder> {
    requireOperator(caller, 'assign work orders');
    const name = this.#ref(assignee, 'assignee');
    if (name === null) throw new ValidationError('assignee is required', 'assignee');
    return this.#change(id, caller.subject, caller.source ?? null, 'assigned', (o) => {
      if (!isOpen(o)) throw new WorkOrderStateConflict(o.id, o.state, 'assigned');
      return { patch: { assignee: name, state: 'assigned' }, event: this.#event(caller.subject, 'assigned', name) };
    });
  }

  async start(caller: Caller, id: string): Promise<WorkOrder> {
    return this.#change(id, caller.subject, caller.source ?? null, 'started', (o) => {
      mayWork(caller, o, 'start');
      if (o.state !== 'assigned') throw new WorkOrderStateConflict(o.id, o.state, 'started');
      return { patch: { state: 'in-progress' }, event: this.#event(caller.subject, 'started', null) };
    });
  }

  /** A person closes an order in progress with its form's result. */
  async completeAs(caller: Caller, id: string, result: WorkOrderResult, resultText: string | null): Promise<WorkOrder> {
    return this.#change(id, caller.subject, caller.source ?? null, 'completed', (o) => {
      mayWork(caller, o, 'complete');
      if (o.state !== 'in-progress') throw new WorkOrderStateConflict(o.id, o.state, 'completed');
      return this.#completion(o, result, resultText, caller.subject);
    });
  }

  async cancelAs(caller: Caller, id: string, reason: string): Promise<WorkOrder> {
    requireOperator(caller, 'cancel work orders');
    const why = this.#text(reason, 'reason');
    return this.#change(id, caller.subject, caller.source ?? null, 'cancelled', (o) => {
      if (!isOpen(o)) throw new WorkOrderStateConflict(o.id, o.state, 'cancelled');
      return this.#cancellation(caller.subject, why);
    });
  }

  async comment(caller: Caller, id: string, text: string): Promise<WorkOrder> {
    const body = this.#text(text, 'text');
    return this.#change(id, caller.subject, caller.source ?? null, 'commented', (o, comments) => {
      mayWork(caller, o, 'comment on');
      if (comments >= this.#o.limits.maxComments) throw new WorkOrderCommentsFull(o.id, this.#o.limits.maxComments);
      return { patch: {}, event: this.#event(caller.subject, 'commented', null), comment: { text: body } };
    });
  }

  // ── helpers ──

  #completion(o: WorkOrder, result: WorkOrderResult, resultText: string | null, by: string): WorkOrderChange {
    const type = workOrderType(o.type);
    if (type === undefined) throw new UnknownWorkOrderType(o.type, WORK_ORDER_TYPES.map((t) => t.type));
    const problem = resultProblem(type, result, this.#o.limits.maxTextChars);
    if (problem !== undefined) throw new WorkOrderResultInvalid(o.type, problem.field, problem.message);
    const text = resultText === null || resultText.trim() === '' ? null : this.#text(resultText, 'resultText');
    const at = this.#now();
    return { patch: { state: 'done', result, resultText: text, closedAt: at }, event: { at, by, event: 'completed', detail: summary(result) } };
  }

  #cancellation(by: string, reason: string): WorkOrderChange {
    const at = this.#now();
    return { patch: { state: 'cancelled', closedAt: at }, event: { at, by, event: 'cancelled', detail: reason } };
  }

  #event(by: string, event: WorkOrderEvent['event'], detail: string | null): WorkOrderEvent {
    return { at: this.#now(), by, event, detail };
  }

  /** Applies a decision; NotFoundError when there is no such order (or a field caller may not see it: `mayWork` throws that). */
  async #change(id: string, actor: string, source: string | null, action: WorkOrderEvent['event'], decide: ChangeDecision): Promise<WorkOrder> {
    // Set in the store's transaction: whether the decision changed the order (a closed one may be left as it is).
    const outcome = { changed: false };
    const order = await this.#o.store.change(id, (o, comments, history) => {
      const change = decide(o, comments, history);
      outcome.changed = change !== null;
      return change;
    });
    if (order === undefined) throw new NotFoundError('work order', id);
    if (outcome.changed) await this.#changed(order, actor, source, action, {});
    return order;
  }

  async #changed(order: WorkOrder, actor: string, source: string | null, action: WorkOrderEvent['event'], detail: Record<string, unknown>): Promise<void> {
    await this.#o.audit.append({
      actor, source, action: `work-order.${action}`, target: `work-order:${order.id}`, outcome: 'ok',
      detail: { number: order.number, state: order.state, assignee: order.assignee, ...detail },
    });
    for (const listener of this.#listeners) {
      try {
        listener(order);
      } catch (err) {
        this.#o.onListenerError?.(err);
      }
    }
  }

  #checkInput(i: WorkOrderInput): Omit<WorkOrderOpenRequest, 'key' | 'alarmId' | 'source' | 'actor'> {
    if (workOrderType(i.type) === undefined) throw new UnknownWorkOrderType(i.type, WORK_ORDER_TYPES.map((t) => t.type));
    const title = i.title.trim();
    if (title === '') throw new ValidationError('title is required', 'title');
    if (title.length > this.#o.limits.maxTitleChars) throw new ValidationError(`title is longer than ${this.#o.limits.maxTitleChars} characters (workOrders.maxTitleChars)`, 'title');
    const role = i.role ?? null;
    if (role !== null && !(ROLES as readonly string[]).includes(role)) throw new ValidationError(`role must be one of ${ROLES.join(', ')}`, 'role');
    const dueAt = i.dueAt ?? null;
    if (dueAt !== null && !Number.isSafeInteger(dueAt)) throw new ValidationError('dueAt must be a time in ms since the epoch', 'dueAt');
    return {
      type: i.type, title, meterId: this.#ref(i.meterId, 'meterId'), customer: this.#ref(i.customer, 'customer'), areaId: this.#ref(i.areaId, 'areaId'),
      role, assignee: this.#ref(i.assignee, 'assignee'), dueAt,
    };
  }

  #ref(value: string | null | undefined, field: string): string | null {
    if (value === undefined || value === null) return null;
    if (value.length === 0 || value.length > MAX_REF_CHARS) throw new ValidationError(`${field} must be 1 to ${MAX_REF_CHARS} characters`, field);
    return value;
  }

  #text(value: string, field: string): string {
    const text = value.trim();
    if (text === '') throw new ValidationError(`${field} is required`, field);
    if (text.length > this.#o.limits.maxTextChars) throw new ValidationError(`${field} is longer than ${this.#o.limits.maxTextChars} characters (workOrders.maxTextChars)`, field);
    return text;
  }
}

/** The user name of a dashboard principal (`user:<name>`); tokens name no person. */
function userOf(caller: Principal): string | undefined {
  return caller.subject.startsWith('user:') ? caller.subject.slice('user:'.length) : undefined;
}

const isOperator = (caller: Principal): boolean => permits('operator', caller.role);

function sees(caller: Principal, order: WorkOrder): boolean {
  return caller.role !== 'field' || (order.assignee !== null && order.assignee === userOf(caller));
}

/** A field caller's list is its own orders: another assignee asked for matches nothing. */
function scopeOf(caller: Principal, query: WorkOrderListQuery): WorkOrderListQuery | undefined {
  if (caller.role !== 'field') return query;
  const own = userOf(caller);
  if (own === undefined || (query.assignee !== undefined && query.assignee !== own)) return undefined;
  return { ...query, assignee: own };
}

function requireOperator(caller: Principal, what: string): void {
  if (!isOperator(caller)) throw new ForbiddenError(`role ${caller.role} may not ${what} (operator or admin may)`);
}

/** Start, complete, comment: the assignee or an operator; an order a field caller may not see does not exist for it. */
function mayWork(caller: Principal, order: WorkOrder, what: string): void {
  if (!sees(caller, order)) throw new NotFoundError('work order', order.id);
  if (isOperator(caller)) return;
  if (order.assignee === null || order.assignee !== userOf(caller)) throw new ForbiddenError(`only the assignee or an operator may ${what} work order ${order.number}`);
}

/** The result as a history line: its fields, `name=value` joined. */
function summary(result: WorkOrderResult): string {
  return Object.entries(result).map(([k, v]) => `${k}=${String(v)}`).join('; ');
}
