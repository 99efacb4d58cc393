/**
 * Why the fee stores and services refused something: each a class with a stable `code` and
 * the HTTP status the API answers with (problem+json), carrying the ids needed to act on it.
 */
import { DomainError } from '../domain/errors.js';

export class FeeAccountExists extends DomainError {
  readonly code = 'FEE_ACCOUNT_EXISTS';
  readonly status = 409;
  constructor(readonly accountId: string) {
    super(`fee account ${JSON.stringify(accountId)} exists already`);
  }
}

/** A meter belongs to at most one account. */
export class MeterInOtherAccount extends DomainError {
  readonly code = 'METER_IN_OTHER_ACCOUNT';
  readonly status = 409;
  constructor(readonly meterId: string, readonly accountId: string) {
    super(`meter ${JSON.stringify(meterId)} belongs to fee account ${JSON.stringify(accountId)} already`);
  }
}

/** An account with ledger rows is history the utility must keep: it cannot be deleted. */
export class AccountHasLedger extends DomainError {
  readonly code = 'FEE_ACCOUNT_HAS_LEDGER';
  readonly status = 409;
  constructor(readonly accountId: string) {
    super(`fee account ${JSON.stringify(accountId)} has ledger rows and cannot be deleted`);
  }
}

/** A ledger row in another currency than its account's. */
export class LedgerCurrencyMismatch extends DomainError {
  readonly code = 'CURRENCY_MISMATCH';
  readonly status = 400;
  readonly field = 'currency';
  constructor(readonly accountId: string, readonly currency: string, readonly accountCurrency: string) {
    super(`currency ${currency} is not the currency of fee account ${JSON.stringify(accountId)} (${accountCurrency})`);
  }
}

/** A ledger row names an account the store does not hold. */
export class UnknownFeeAccount extends DomainError {
  readonly code = 'UNKNOWN_FEE_ACCOUNT';
  readonly status = 404;
  constructor(readonly accountId: string) {
    super(`fee account ${JSON.stringify(accountId)} does not exist`);
  }
}

/** `paymentId` is unique across the store: another payment row has it (under another key or account). */
export class PaymentExists extends DomainError {
  readonly code = 'PAYMENT_EXISTS';
  readonly status = 409;
  constructor(readonly paymentId: string, readonly accountId: string) {
    super(`paymentId ${JSON.stringify(paymentId)} was booked already (fee account ${JSON.stringify(accountId)}); a payment is credited once`);
  }
}

/** A payment is reversed at most once. */
export class PaymentReversed extends DomainError {
  readonly code = 'PAYMENT_REVERSED';
  readonly status = 409;
  constructor(readonly paymentId: string) {
    super(`payment ${JSON.stringify(paymentId)} is reversed already`);
  }
}

/** An Idempotency-Key used before with another request body (or for another request). */
export class IdempotencyConflict extends DomainError {
  readonly code = 'IDEMPOTENCY_CONFLICT';
  readonly status = 409;
  constructor(readonly key: string, readonly seq: number) {
    super(`Idempotency-Key ${JSON.stringify(key)} was used for ledger row ${seq} with a different request body`);
  }
}

/** A compare-and-set of fee-control state found another version: someone else wrote first. */
export class FeeStateChanged extends DomainError {
  readonly code = 'FEE_STATE_CHANGED';
  readonly status = 409;
  constructor(readonly accountId: string, readonly expected: number, readonly actual: number) {
    super(`fee-control state of ${JSON.stringify(accountId)} is at version ${actual}, not ${expected}; read it again`);
  }
}
