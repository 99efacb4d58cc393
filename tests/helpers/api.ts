/**
 * The one way tests call the HTTP API. Plain fetch today; the access-control branch adds the
 * bearer token of `he.token` here, so tests written against it authenticate without edits.
 */
export async function fetchApi(he: { readonly url: string; readonly token: string }, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${he.url}${path}`, init);
}
