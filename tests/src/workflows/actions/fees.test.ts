/**
 * The fee actions on fee control's real parts: the disconnect window answered by the compiled
 * policy (a night forbidden in Shanghai time, an emergency, a protected account), and an
 * account changed through the account service under the workflow's actor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FeeAccountService } from '../../../../src/fees/accounts/service.js';
import type { ActionContext } from '../../../../src/workflows/model.js';
import { createActions } from '../../../../src/workflows/actions/index.js';
import { policy } from '../../fees/policy/fixtures.js';
import { feeStation, T0 } from '../../fees/run/station.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOUR = 3_600_000;

async function fees() {
  const s = await feeStation(cleanups);
  const accounts = new FeeAccountService({ store: s.fees, audit: s.commands.audit, currency: 'CNY', maxAmountMinor: 1_000_000, meterExists: () => true, tariffExists: () => true, now: s.clock.now });
  // 22:00–06:00 Shanghai (UTC+8) is forbidden: T0 (00:00 UTC) is 08:00 there.
  const control = { policy: policy({ timeZone: 'Asia/Shanghai', forbiddenHours: [{ from: '22:00', to: '06:00' }], weekendDays: [] }), emergency: () => s.fees.emergency() };
  const actions = createActions({
    meterReader: { read: () => Promise.reject(new Error('no reads here')) }, control: { execute: () => Promise.reject(new Error('no commands here')) },
    notices: { post: () => 0 }, billing: { recordReplacement: () => Promise.resolve(), replacementsOf: () => [] },
    alarms: { get: () => Promise.reject(new Error('none')), comment: () => Promise.reject(new Error('none')), acknowledge: () => Promise.reject(new Error('none')) },
    workOrders: { open: () => Promise.reject(new Error('none')), get: () => Promise.resolve(undefined), complete: () => Promise.reject(new Error('none')), escalate: () => Promise.reject(new Error('none')) },
    fees: { accounts, control }, now: s.clock.now,
  });
  const run = (name: string, params: Record<string, string>) => {
    const context: ActionContext = {
      instanceId: 'i-2', processKey: 'fee-recovery', elementId: 'window', stepKey: 'i-2:e-1', actor: 'workflow:fee-recovery/i-2', variables: {}, params, signal: new AbortController().signal,
    };
    const action = actions.get(name);
    if (action === undefined) throw new Error(`no action ${name}`);
    return action.run(context);
  };
  return { ...s, accounts, run };
}

describe('fee actions', () => {
  it('allows a disconnection inside the window and gives the next allowed time outside it', async () => {
    const s = await fees();
    expect(await s.run('fee-disconnect-window', { accountId: 'acc-1' })).toEqual({ disconnectAllowed: true, nextAllowedAt: null, reason: 'allowed' });
    s.clock.set(T0 - 3 * HOUR); // 05:00 in Shanghai
    expect(await s.run('fee-disconnect-window', { accountId: 'acc-1' })).toEqual({ disconnectAllowed: false, nextAllowedAt: new Date(T0 - 2 * HOUR).toISOString(), reason: 'night' });
  });

  it('holds a disconnection during an emergency and never allows one for a protected account', async () => {
    const s = await fees();
    await s.fees.setEmergency({ active: true, reason: 'storm', setBy: 'op', since: T0 });
    expect(await s.run('fee-disconnect-window', { accountId: 'acc-1' })).toMatchObject({ disconnectAllowed: false, reason: 'emergency', nextAllowedAt: new Date(T0 + HOUR).toISOString() });
    await s.fees.setEmergency({ active: false, reason: null, setBy: 'op', since: T0 });
    expect(await s.run('fee-account-update', { accountId: 'acc-1', protected: 'true' })).toEqual({ accountId: 'acc-1' });
    expect(await s.run('fee-disconnect-window', { accountId: 'acc-1' })).toEqual({ disconnectAllowed: false, nextAllowedAt: null, reason: 'protected' });
    const audit = (await s.commands.audit.query({ limit: 5, action: 'fee-account.update' })).items;
    expect(audit.map((e) => [e.actor, e.target])).toEqual([['workflow:fee-recovery/i-2', 'fee-account:acc-1']]);
  });

  it('names the parameter it cannot use', async () => {
    const s = await fees();
    await expect(s.run('fee-disconnect-window', { accountId: 'nobody' })).rejects.toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', param: 'accountId' });
    await expect(s.run('fee-account-update', { accountId: 'acc-1', protected: 'maybe' })).rejects.toMatchObject({ param: 'protected' });
    await expect(s.run('fee-account-update', { accountId: 'acc-1' })).rejects.toMatchObject({ param: 'protected' });
  });
});
