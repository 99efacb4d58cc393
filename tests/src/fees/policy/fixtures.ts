/** Accounts, balances and policies for the fee-control policy tests. */
import { Value } from 'typebox/value';
import type { Balance, FeeAccount } from '../../../../src/fees/model.js';
import { FeePolicyConfig } from '../../../../src/config/feePolicy.js';
import { compilePolicy, type FeePolicy } from '../../../../src/fees/policy/decide.js';

export function policyConfig(over: Partial<FeePolicyConfig> = {}): FeePolicyConfig {
  return Value.Default(FeePolicyConfig, { ...over }) as FeePolicyConfig;
}

export function policy(over: Partial<FeePolicyConfig> = {}): FeePolicy {
  return compilePolicy(policyConfig(over));
}

/** A prepaid account: warnings at 20.00 and 5.00 CNY, 10.00 of overdraft, reconnection at 0.00. */
export function account(over: Partial<FeeAccount> = {}): FeeAccount {
  return {
    id: 'acc-1', customerRef: 'C-1', name: 'Flat 1', meterIds: ['m1'], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 1_000, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 0,
    protected: false, notify: { kind: 'none' }, createdAt: 0, updatedAt: 0,
    ...over,
  };
}

export function balance(amountMinor: number, accountId = 'acc-1', currency = 'CNY'): Balance {
  return { accountId, amountMinor, currency, throughSeq: 1 };
}

/** Shanghai wall clock (UTC+8, no daylight saving) → instant. */
export function cst(date: string, time: string): number {
  return Date.parse(`${date}T${time}:00+08:00`);
}
