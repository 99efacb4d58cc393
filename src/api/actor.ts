/**
 * Who is asking: the one place that names the actor of an operator action. The access
 * hook (access.ts) sets `request.principal` from the bearer token or session cookie;
 * acknowledgements, comments and the audit log record its subject.
 */
import type { FastifyRequest } from 'fastify';
import type { Access, Principal } from '../auth/roles.js';
import { ANONYMOUS } from '../control/audit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access hook on every route that is not public; null otherwise. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route (src/auth/roles.ts); a route without it stops the API from starting. */
    access?: Access;
  }
}

export { ANONYMOUS };

/** `user:<name>`, `token:<name>`, or ANONYMOUS for a public route. */
export function actorOf(request: FastifyRequest): string {
  return request.principal?.subject ?? ANONYMOUS;
}
