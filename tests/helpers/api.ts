/** HTTP calls to a test head-end's API with its admin bearer token. */

export function fetchApi(he: { url: string; token: string }, path: string, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${he.token}`);
  return fetch(`${he.url}${path}`, { ...init, headers });
}
