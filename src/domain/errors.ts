/**
 * Errors that services raise and the API maps to problem+json. Each has a stable `code`
 * and carries what a caller needs to act on it.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** HTTP status the API answers with. */
  abstract readonly status: number;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  readonly status = 404;
  constructor(readonly kind: string, readonly id: string) {
    super(`${kind} ${JSON.stringify(id)} does not exist`);
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
  readonly status = 409;
}

/** Input that is well-formed but violates a rule (the API's 400). */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION';
  readonly status = 400;
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/**
 * The code of any error: its own `code` when it has a string one, else its class name. Never
 * its message, so a code can be shown where a message might carry a connection string.
 */
export function errorCode(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}
