/**
 * Every error reply is RFC 9457 problem+json: `type`, `title`, `status`, `detail`, plus a
 * stable `code` and, for invalid input, the list of `errors` with their JSON paths.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DomainError } from '../domain/errors.js';
import { DatabaseError } from '../storage/postgres/errors.js';

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
} as const;

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 422: 'Unprocessable Content', 414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable',
  500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** `extra`: members a problem of this code adds to the standard ones (a refused process definition's `problems`). */
export function sendProblem(
  reply: FastifyReply, status: number, code: string, detail: string, errors?: { path: string; message: string }[], extra?: Readonly<Record<string, unknown>>,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://gridhead.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      instance: reply.request.url,
      ...(errors === undefined ? {} : { errors }),
      ...extra,
    });
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route runs (a path
 * parameter past `maxParamLength`, a malformed URL) answered as problem+json like the rest.
 */
export function frameworkProblem(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendProblem(reply, 414, 'URI_TOO_LONG', 'a path segment of the URL is too long');
  else if (err.code === 'FST_ERR_BAD_URL') void sendProblem(reply, 400, 'BAD_URL', 'the URL is not valid (malformed percent-encoding)');
  else void sendProblem(reply, err.statusCode ?? 400, err.code || 'BAD_REQUEST', err.message);
}

const TRANSIENT_DATABASE_CODES: ReadonlySet<string> = new Set(['DB_UNREACHABLE', 'DB_POOL_TIMEOUT', 'DB_STATEMENT_TIMEOUT']);

export function installProblemHandlers<T extends FastifyInstance>(app: Pick<T, 'setErrorHandler' | 'setNotFoundHandler'>): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation !== undefined) {
      const errors = err.validation.map((v) => {
        const extra = (v.params as { additionalProperty?: string } | undefined)?.additionalProperty;
        const base = `${err.validationContext ?? 'request'}${v.instancePath.replace(/\//g, '.')}`;
        return { path: extra === undefined ? base : `${base}.${extra}`, message: v.message ?? 'is invalid' };
      });
      return sendProblem(reply, 400, 'VALIDATION', errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
    }
    if (err instanceof DomainError) {
      // An error that names the field at fault lists it as JSON-schema failures do, so a client finds it in one place.
      const field = (err as { field?: unknown }).field;
      return sendProblem(reply, err.status, err.code, err.message, typeof field === 'string' ? [{ path: field, message: err.message }] : undefined);
    }
    // The shared database away or overloaded is worth a retry, not a server fault: 503 with its
    // code. The message names the server only redacted (src/storage/postgres/errors.ts).
    if (err instanceof DatabaseError && TRANSIENT_DATABASE_CODES.has(err.code)) {
      return sendProblem(reply, 503, err.code, `the database is unavailable; try again shortly (${err.message})`);
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return sendProblem(reply, status, 'INTERNAL', 'the server could not complete the request; see the server log');
    }
    return sendProblem(reply, status, err.code || 'BAD_REQUEST', err.message);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));
}
