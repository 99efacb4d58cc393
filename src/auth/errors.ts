/** Typed errors of access control; the API answers DomainErrors with problem+json. */
import { DomainError } from '../domain/errors.js';
import { ACCESS_LEVELS } from './roles.js';

/** No credentials, or credentials that are unknown, expired, revoked or disabled (401). */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  readonly status = 401;
}

/** Valid credentials whose role does not grant the route (403). */
export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
}

/** A state-changing request authenticated by the session cookie without the CSRF header (403). */
export class CsrfError extends DomainError {
  readonly code = 'CSRF';
  readonly status = 403;
}

/** Too many failed logins for this user name or address (429). */
export class LoginThrottledError extends DomainError {
  readonly code = 'LOGIN_THROTTLED';
  readonly status = 429;
  constructor(readonly retryAfterMs: number) {
    super(`too many failed logins; try again in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

/** A route registered without `config.access`: the API refuses to start (fail closed). */
export class UnprotectedRouteError extends Error {
  readonly code = 'UNPROTECTED_ROUTE';
  constructor(readonly method: string, readonly url: string, readonly value: unknown) {
    super(`route ${method} ${url} declares no valid access (config.access = ${JSON.stringify(value)}); `
      + `every route must declare one of ${ACCESS_LEVELS.join(', ')}`);
    this.name = 'UnprotectedRouteError';
  }
}

/** GRIDHEAD_BOOTSTRAP_TOKEN is set but unusable: the station refuses to start. */
export class BootstrapTokenError extends Error {
  readonly code = 'BOOTSTRAP_TOKEN';
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapTokenError';
  }
}
