/**
 * The fee actions. `fee-account-update` changes an account through the account service, as
 * the API's PATCH does (its rules, its audit under the workflow's actor); setting a value is
 * idempotent by nature, so a step run again changes nothing more. `fee-disconnect-window` asks
 * fee control's own compiled policy (its disconnection calendar and emergency flag, never a
 * copy of their rules) whether an account may be disconnected now, and when next if not.
 */
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { FeeAccountService } from '../../fees/accounts/service.js';
import type { AccountPatch } from '../../fees/accounts/service.js';
import type { FeeControl } from '../../fees/run/feeControl.js';
import { NoDisconnectionWindowError } from '../../fees/policy/calendar.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type FeeAccountPort = Pick<FeeAccountService, 'get' | 'update'>;
export type FeePolicyPort = Pick<FeeControl, 'policy' | 'emergency'>;

/**
 * While an emergency flag stands nobody knows when it ends: the answer's next time is the
 * calendar's first allowed instant this long from now, and the process asks again then.
 */
export const EMERGENCY_RECHECK_MS = 3_600_000;

/** The account fields a process may change, each an integer of minor units but `protected`. */
const MONEY_FIELDS = ['creditLimitMinor', 'warnFirstMinor', 'warnSecondMinor', 'reconnectMinor'] as const;

export function feeAccountUpdateAction(accounts: FeeAccountPort): WorkflowAction {
  const name = 'fee-account-update';
  return {
    name,
    description: 'Changes a fee account (protected, thresholds) through the account service, audited under the workflow.',
    params: [
      { name: 'accountId', required: true, description: 'The fee account.' },
      { name: 'protected', required: false, description: 'true or false: never disconnected for fees (保电).' },
      ...MONEY_FIELDS.map((f) => ({ name: f, required: false, description: `${f}, integer minor units.` })),
    ],
    async run(context) {
      const p = new Params(name, context);
      const accountId = p.text('accountId', 64);
      const patch: { -readonly [K in keyof AccountPatch]: AccountPatch[K] } = {};
      if (p.optionalText('protected') !== undefined) patch.protected = p.flag('protected', false);
      for (const field of MONEY_FIELDS) {
        const value = p.optionalNumber(field);
        if (value === undefined) continue;
        if (!Number.isSafeInteger(value)) throw new ActionParamError(name, field, `must be an integer of minor units, not ${value}`);
        patch[field] = value;
      }
      if (Object.keys(patch).length === 0) throw new ActionParamError(name, 'protected', `or one of ${MONEY_FIELDS.join(', ')} is required: the step changes nothing`);
      checkNotAborted(name, context.signal);
      try {
        await accounts.update(accountId, patch, { actor: context.actor, source: null });
      } catch (err) {
        if (err instanceof NotFoundError) throw new ActionParamError(name, 'accountId', `names no fee account: ${JSON.stringify(accountId)}`);
        if (err instanceof ValidationError) throw new ActionParamError(name, err.field ?? 'accountId', err.message);
        throw err;
      }
      return { accountId };
    },
  };
}

export function feeDisconnectWindowAction(accounts: Pick<FeeAccountPort, 'get'>, fees: FeePolicyPort, now: () => number, emergencyRecheckMs = EMERGENCY_RECHECK_MS): WorkflowAction {
  const name = 'fee-disconnect-window';
  return {
    name,
    description: 'Asks fee control\'s policy whether the account may be disconnected now (calendar, emergency, protected), and when next if not.',
    params: [{ name: 'accountId', required: true, description: 'The fee account.' }],
    async run(context) {
      const accountId = new Params(name, context).text('accountId', 64);
      checkNotAborted(name, context.signal);
      let account;
      try {
        ({ account } = await accounts.get(accountId));
      } catch (err) {
        if (err instanceof NotFoundError) throw new ActionParamError(name, 'accountId', `names no fee account: ${JSON.stringify(accountId)}`);
        throw err;
      }
      // A protected account is never disconnected for fees: no time to wait for.
      if (account.protected) return answer(false, null, 'protected');
      const at = now();
      const { calendar } = fees.policy;
      try {
        if ((await fees.emergency()).active) return answer(false, calendar.nextAllowedAt(at + emergencyRecheckMs), 'emergency');
        const window = calendar.stateAt(at);
        if (window.open) return answer(true, null, 'allowed');
        return answer(false, calendar.nextAllowedAt(at), window.reason);
      } catch (err) {
        if (err instanceof NoDisconnectionWindowError) return answer(false, null, 'no-window');
        throw err;
      }
    },
  };
}

function answer(disconnectAllowed: boolean, next: number | null, reason: string): Readonly<Record<string, unknown>> {
  return { disconnectAllowed, nextAllowedAt: next === null ? null : new Date(next).toISOString(), reason };
}
