/**
 * The rules an account and an amount of money must keep, as pure functions: each refusal is
 * a `ValidationError` naming the field, so the API answers 400 with it and the configuration
 * names the key path.
 */
import { ValidationError } from '../../domain/errors.js';
import type { FeeAccount } from '../model.js';

export interface AccountRules {
  /** The station's currency (`fees.currency`): tariffs charge in it, so every account keeps its balance in it. */
  readonly currency: string;
  readonly meterExists: (id: string) => boolean;
  readonly tariffExists: (id: string) => boolean;
  /**
   * Whether the tariff is charged only once per billing cycle (two-part): fee control charges
   * accounts as validated data arrives and has no cycle-close run, so it refuses them.
   */
  readonly tariffCycleOnly?: (id: string) => boolean;
}

/** Throws the first rule the account breaks. */
export function checkAccount(a: Omit<FeeAccount, 'createdAt' | 'updatedAt'>, rules: AccountRules): void {
  if (a.currency !== rules.currency) throw new ValidationError(`currency ${a.currency} is not the station's currency ${rules.currency}`, 'currency');
  for (const [i, id] of a.meterIds.entries()) {
    if (!rules.meterExists(id)) throw new ValidationError(`meter ${JSON.stringify(id)} does not exist`, `meterIds[${i}]`);
  }
  if (!rules.tariffExists(a.tariffId)) throw new ValidationError(`tariff ${JSON.stringify(a.tariffId)} does not exist`, 'tariffId');
  if (rules.tariffCycleOnly?.(a.tariffId) === true) {
    throw new ValidationError(`tariff ${JSON.stringify(a.tariffId)} is charged once per billing cycle (two-part); fee control charges as data arrives and cannot run it: quote it through the tariff API instead`, 'tariffId');
  }
  if (a.mode === 'postpaid' && a.cycle === undefined) throw new ValidationError('a post-paid account needs a billing cycle (closeDay, dueDays)', 'cycle');
  if (a.mode === 'prepaid' && a.cycle !== undefined) throw new ValidationError('a prepaid account has no billing cycle', 'cycle');
  const floor = -a.creditLimitMinor;
  if (!(a.warnFirstMinor > a.warnSecondMinor)) throw new ValidationError(`the first warning (${a.warnFirstMinor}) must be above the second (${a.warnSecondMinor})`, 'warnFirstMinor');
  if (a.warnSecondMinor < floor) throw new ValidationError(`the second warning (${a.warnSecondMinor}) must not be below −creditLimitMinor (${floor})`, 'warnSecondMinor');
  if (a.reconnectMinor < floor) throw new ValidationError(`the reconnection threshold (${a.reconnectMinor}) must not be below −creditLimitMinor (${floor})`, 'reconnectMinor');
}

/**
 * An amount of a payment or reversal: a safe positive integer of minor units up to `max`; an
 * adjustment may be negative (`signed`) but never zero.
 */
export function checkAmount(amountMinor: number, max: number, signed = false): void {
  if (!Number.isSafeInteger(amountMinor)) throw new ValidationError(`amountMinor must be an integer of minor units, got ${amountMinor}`, 'amountMinor');
  if (signed ? amountMinor === 0 : amountMinor <= 0) throw new ValidationError(`amountMinor must be ${signed ? 'non-zero' : 'positive'}, got ${amountMinor}`, 'amountMinor');
  if (Math.abs(amountMinor) > max) throw new ValidationError(`amountMinor ${amountMinor} is above the limit of ${max} (fees.payments.maxAmountMinor)`, 'amountMinor');
}

/** The account's currency, or a refusal naming `currency`. */
export function checkCurrency(currency: string, account: Pick<FeeAccount, 'id' | 'currency'>): void {
  if (currency !== account.currency) throw new ValidationError(`currency ${currency} is not the currency of fee account ${JSON.stringify(account.id)} (${account.currency})`, 'currency');
}
