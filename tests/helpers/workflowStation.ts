/**
 * A small whole head-end for the shipped workflows: simulated DLMS meters (sim-dl-NN-1, their
 * energy register read every second, event pushes over the TCP wrapper), the default rule set
 * (config/rules.yaml: cover-open, communication-loss…), the runtime polling every 200 ms, and
 * helpers that drive it through the API as an operator and as a field crew.
 */
import { resolve } from 'node:path';
import { eventually, startTestHeadEnd, type TestHeadEnd } from './headend.js';

export const CREW_PASSWORD = 'crew-password-correct-horse';

export interface WorkflowStationOptions {
  /** DLMS meters sim-dl-01-1 … (default 1). */
  readonly meters?: number;
  readonly scenarios?: readonly Record<string, unknown>[];
  readonly triggers?: readonly Record<string, unknown>[];
  readonly variables?: Record<string, string | number | boolean>;
  /** The `fees` section, when fee control is to run. */
  readonly fees?: Record<string, unknown>;
}

export function startWorkflowStation(o: WorkflowStationOptions = {}): Promise<TestHeadEnd> {
  return startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    rules: { enabled: true, file: resolve('config/rules.yaml') },
    dlms: { push: { listen: { enabled: true, port: 0 }, mqtt: { enabled: false } } },
    collect: { profiles: { fast: { quantities: ['energy.active.import'], intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 1000, retries: 1, retryBackoffMs: 50 } } },
    control: { perTerminalRatePerMinute: 600, commandTimeoutMs: 8_000 },
    simulators: {
      enabled: true, seed: 5, modbus: { count: 0 }, mqtt: { count: 0 },
      dlms: { count: o.meters ?? 1, framing: 'wrapper', profiles: ['fast'], pushIntervalMs: 0, pushTransport: 'tcp' },
      scenarios: o.scenarios ?? [],
    },
    workflows: { enabled: true, pollMs: 200, triggers: o.triggers ?? [], variables: o.variables ?? {} },
    ...(o.fees === undefined ? {} : { fees: o.fees }),
  });
}

export interface Instance {
  id: string;
  processKey: string;
  status: string;
  variables: Record<string, unknown>;
  waiting: { elementId: string; elementType: string; detail: string | null }[];
  error: string | null;
  history?: { elementId: string; event: string; detail: string | null }[];
}

export interface WorkOrder {
  id: string;
  number: string;
  type: string;
  state: string;
  meterId: string | null;
  assignee: string | null;
  result: Record<string, unknown> | null;
  history?: { by: string; event: string; detail: string | null }[];
}

async function ok<T>(r: Promise<{ status: number; body: unknown }>, what: string, status = 200): Promise<T> {
  const res = await r;
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as T;
}

/** The instance of `processKey` whose business key is `key`, once it exists. */
export function instanceOf(he: TestHeadEnd, processKey: string, key: string, timeoutMs = 20_000): Promise<Instance> {
  return eventually(async () => {
    const page = await ok<{ items: Instance[] }>(he.get(`/api/v1/workflows/instances?process=${processKey}&businessKey=${encodeURIComponent(key)}`), 'instances');
    return page.items[0];
  }, timeoutMs, `a ${processKey} instance for ${key}`);
}

export function instance(he: TestHeadEnd, id: string): Promise<Instance> {
  return ok<Instance>(he.get(`/api/v1/workflows/instances/${id}`), `instance ${id}`);
}

/** The instance once `check` holds for it. */
export function instanceWhen(he: TestHeadEnd, id: string, check: (i: Instance) => boolean, what: string, timeoutMs = 20_000): Promise<Instance> {
  return eventually(async () => {
    const i = await instance(he, id);
    if (i.status === 'failed' && !check(i)) throw new Error(`instance ${id} failed: ${i.error ?? '?'}`);
    return check(i) ? i : undefined;
  }, timeoutMs, what);
}

export const waitingAt = (elementId: string) => (i: Instance): boolean => i.waiting.some((w) => w.elementId === elementId);

/** The open work order the instance waits on at `elementId` (its number is the waiting step's detail). */
export async function orderAt(he: TestHeadEnd, instanceId: string, elementId: string): Promise<WorkOrder> {
  const i = await instanceWhen(he, instanceId, waitingAt(elementId), `instance ${instanceId} waiting at ${elementId}`);
  const number = i.waiting.find((w) => w.elementId === elementId)?.detail;
  const page = await ok<{ items: WorkOrder[] }>(he.get('/api/v1/work-orders?limit=200'), 'work orders');
  const order = page.items.find((o) => o.number === number);
  if (order === undefined) throw new Error(`no work order numbered ${String(number)}`);
  return order;
}

export function workOrder(he: TestHeadEnd, id: string): Promise<WorkOrder> {
  return ok<WorkOrder>(he.get(`/api/v1/work-orders/${id}`), `work order ${id}`);
}

/** A field user made through the users API and logged in: its calls carry the session cookie and the CSRF header. */
export interface FieldCrew {
  readonly name: string;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export async function fieldCrew(he: TestHeadEnd, name: string): Promise<FieldCrew> {
  await ok(he.send('POST', '/api/v1/users', { name, role: 'field', password: CREW_PASSWORD }), `creating ${name}`, 201);
  const login = await fetch(`${he.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password: CREW_PASSWORD }),
  });
  if (login.status !== 200) throw new Error(`login of ${name}: ${login.status}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return {
    name,
    send: async (method, path, body) => {
      const res = await fetch(`${he.url}${path}`, {
        method,
        headers: { cookie, 'x-gridhead-csrf': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) as unknown };
    },
  };
}

/** Assigned by the operator (admin token), started and completed by the crew with `result`. */
export async function crewCompletes(he: TestHeadEnd, crew: FieldCrew, order: WorkOrder, result: Record<string, unknown>): Promise<void> {
  await ok(he.send('POST', `/api/v1/work-orders/${order.id}/assign`, { assignee: crew.name }), `assigning ${order.number}`);
  await ok(crew.send('POST', `/api/v1/work-orders/${order.id}/start`), `starting ${order.number}`);
  await ok(crew.send('POST', `/api/v1/work-orders/${order.id}/complete`, { result, resultText: 'done on site' }), `completing ${order.number}`);
}

/** The alarm of `rule` on `meterId` in `state` (raised, acknowledged, cleared), once it exists. */
export function alarmOf(he: TestHeadEnd, meterId: string, rule: string, state?: string, timeoutMs = 20_000): Promise<{ id: string; state: string; comments: { by: string; text: string }[] }> {
  return eventually(async () => {
    const page = await ok<{ items: { id: string; state: string; comments: { by: string; text: string }[] }[] }>(he.get(`/api/v1/alarms?meter=${meterId}&rule=${rule}&limit=10`), 'alarms');
    return page.items.find((a) => state === undefined || a.state === state);
  }, timeoutMs, `a ${state ?? ''} ${rule} alarm on ${meterId}`);
}
