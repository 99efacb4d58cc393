/**
 * The dashboard's one way to call the API: same origin, the session cookie, the CSRF header
 * on every state-changing request (src/api/access.ts), problem+json errors as ApiError.
 */
import { label } from './i18n.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** The problem+json body as sent, for the errors whose details a page shows (a refused definition's problems). */
  constructor(readonly status: number, readonly code: string, message: string, readonly body: unknown = null) {
    super(message);
  }
}

/** Requests slower than this are abandoned: a stuck request must not freeze a page. */
const REQUEST_TIMEOUT_MS = 20_000;
export const API = '/api/v1';

/**
 * `body` is sent as JSON; `bytes` (a file the operator chose, such as a firmware image) as
 * application/octet-stream, as it is.
 */
export async function api<T>(path: string, init: { method?: string; body?: unknown; bytes?: Blob; headers?: Record<string, string> } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (method !== 'GET') headers['x-gridhead-csrf'] = '1';
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.bytes !== undefined) headers['content-type'] = 'application/octet-stream';
  const payload = init.bytes ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(`${API}${path}`, {
    method, headers, credentials: 'same-origin',
    ...(payload === undefined ? {} : { body: payload }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  const body: unknown = text === '' ? null : parseJson(text);
  if (!res.ok) {
    const problem = (body ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
    const message = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : `HTTP ${res.status}`;
    if (res.status === 401) onUnauthenticated();
    throw new ApiError(res.status, typeof problem.code === 'string' ? problem.code : `HTTP_${res.status}`, message, body);
  }
  return body as T;
}

/**
 * Like `api`, but an endpoint this station does not have yet (404 on the route, not on a
 * resource) answers `fallback()` instead, so a page still renders what it can.
 */
export async function apiOr<T>(path: string, fallback: () => Promise<T> | T): Promise<T> {
  try {
    return await api<T>(path);
  } catch (err) {
    // src/api/problem.ts answers an unknown route with "no route …"; an unknown resource says otherwise.
    if (err instanceof ApiError && err.status === 404 && err.message.startsWith('no route ')) return fallback();
    throw err;
  }
}

/** A fresh key for one command dialog, so a double click or a retry never sends a command twice. */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

let unauthenticated: () => void = () => undefined;
/** Called when any request answers 401: the session ended, show the login page. */
export function setOnUnauthenticated(handler: () => void): void {
  unauthenticated = handler;
}
function onUnauthenticated(): void {
  unauthenticated();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

/**
 * What a failed request tells the operator: for a problem code the dashboard words itself
 * (`problem.<CODE>` in i18n.ts), that sentence in the operator's language with the code;
 * otherwise the code and the server's own detail.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const sentence = label('problem', err.code);
    return sentence === err.code ? `${err.code}: ${err.message}` : `${sentence} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
