/**
 * Why the command service refused a request: one class, a stable `code` per reason and the
 * HTTP status the API answers with (problem+json).
 */
import { DomainError } from '../domain/errors.js';

export class CommandError extends DomainError {
  constructor(readonly code: string, readonly status: number, message: string, readonly errors?: readonly { readonly path: string; readonly message: string }[]) {
    super(message);
  }
}

export const commandErrors = {
  notFound: (id: string) => new CommandError('NOT_FOUND', 404, `command ${JSON.stringify(id)} does not exist`),
  unknownMeters: (ids: readonly string[]) => new CommandError('UNKNOWN_METER', 404, `unknown meter${ids.length > 1 ? 's' : ''}: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`),
  unknownArea: (id: string) => new CommandError('UNKNOWN_AREA', 404, `area ${JSON.stringify(id)} does not exist`),
  badParams: (problems: readonly [string, string][]) => new CommandError('BAD_PARAMS', 400, problems.map(([p, m]) => `${p}: ${m}`).join('; '), problems.map(([path, message]) => ({ path: `body.${path}`, message }))),
  noTargets: (skipped: number) => new CommandError('NO_TARGETS', 400, skipped > 0 ? `every meter of the request is protected (${skipped}); nothing to send` : 'the request covers no meter'),
  protectedMeters: (ids: readonly string[]) => new CommandError('PROTECTED_METER', 409, `protected meter${ids.length > 1 ? 's' : ''} (保电) refuse disconnect without an admin override: ${ids.slice(0, 20).join(', ')}`),
  overrideForbidden: () => new CommandError('OVERRIDE_FORBIDDEN', 403, 'only an admin may override the protection of a meter'),
  idempotencyConflict: (key: string, commandId: string) => new CommandError('IDEMPOTENCY_CONFLICT', 409, `Idempotency-Key ${JSON.stringify(key)} was used for command ${commandId} with a different request body`),
  confirmation: (code: 'CONFIRMATION_UNKNOWN' | 'CONFIRMATION_EXPIRED' | 'CONFIRMATION_MISMATCH', message: string) => new CommandError(code, code === 'CONFIRMATION_MISMATCH' ? 409 : 400, message),
  queueFull: (max: number) => new CommandError('COMMAND_QUEUE_FULL', 503, `${max} targets already wait to be sent; try again later`),
  paymentMeteringUnsupported: (type: string, ids: readonly string[]) => new CommandError('PAYMENT_METERING_UNSUPPORTED', 409,
    `${type} needs a meter that keeps its own account, over a protocol that reads one (DLMS payment metering); not: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`),
  notCancellable: (id: string) => new CommandError('NOT_CANCELLABLE', 409, `command ${id} has nothing left to cancel`),
} as const;
