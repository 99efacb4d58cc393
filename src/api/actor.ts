/**
 * Who is asking: the one place that names the actor of an operator action. Until the
 * control issue adds authentication every request is 'anonymous'; the auth hook will set
 * `request.actor` and nothing else needs to change.
 */
import type { FastifyRequest } from 'fastify';

export const ANONYMOUS = 'anonymous';

export function actorOf(request: FastifyRequest): string {
  const actor = (request as FastifyRequest & { actor?: unknown }).actor;
  return typeof actor === 'string' && actor.length > 0 ? actor : ANONYMOUS;
}
