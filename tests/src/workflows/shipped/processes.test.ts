/**
 * Each shipped process, every branch, through bpmn-engine: the files parse with the gh:
 * moddle, the gateway conditions route on the variables the actions and tasks set, and the
 * timers (literal durations, durations and dates from variables) and messages are the ones
 * each branch waits for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessRun } from './harness.js';

const runs: ProcessRun[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
});

async function start(...args: Parameters<typeof ProcessRun.start>): Promise<ProcessRun> {
  const run = await ProcessRun.start(...args);
  runs.push(run);
  return run;
}

const actionsOf = (run: ProcessRun) => run.calls.map((c) => c.action);
/** A timer's delay in whole seconds: the engine computes it from two readings of the clock, a millisecond apart at times. */
const seconds = (ms: number) => Math.round(ms / 1000);

describe('suspected theft', () => {
  const alarm = { alarmId: 'a-17', meterId: 'm-1' };

  it('on "confirmed" notifies billing, opens a replacement order and records the replacement with its reads', async () => {
    const run = await start('suspected-theft', { ...alarm }, { 'record-replacement': () => ({ replacementId: 'm-1@x' }) });
    expect(run.waiting()).toEqual(['fieldCheck']);
    run.complete('fieldCheck', { outcome: 'confirmed' });
    expect(run.waiting()).toEqual(['replaceMeter']);
    run.complete('replaceMeter', { newMeterId: 'm-1b', finalRead: 1234.5, initialRead: 0.2 });
    await run.ended();
    expect(actionsOf(run)).toEqual(['notify', 'record-replacement']);
    expect(run.calls[0]?.params).toMatchObject({ target: 'billing', severity: 'major' });
    expect(run.calls[1]?.params).toEqual({ meterId: 'm-1', newMeterId: 'm-1b', finalRead: '1234.5', initialRead: '0.2', replacedAt: '' });
    expect(run.ends).toEqual(['replaced']);
  });

  it('on "false-alarm" (the default flow) comments on and acknowledges the alarm', async () => {
    const run = await start('suspected-theft', { ...alarm });
    run.complete('fieldCheck', { outcome: 'false-alarm' });
    await run.ended();
    expect(run.calls).toEqual([{ action: 'alarm-comment', elementId: 'commentFalseAlarm', params: { alarmId: 'a-17', text: expect.stringMatching(/false alarm/) as unknown, acknowledge: 'true' } }]);
    expect(run.ends).toEqual(['closedFalseAlarm']);
  });

  it('escalates an overdue check at its due time (PT4H) and keeps the check open', async () => {
    const run = await start('suspected-theft', { ...alarm, workOrderId: 'wo-1' });
    const timer = run.fireTimer();
    expect(seconds(timer.delay)).toBe(4 * 3_600);
    expect(actionsOf(run)).toEqual(['work-order-escalate', 'notify']);
    expect(run.calls[0]?.params).toMatchObject({ workOrderId: 'wo-1' });
    expect(run.ends).toEqual(['escalated']);
    // Non-interrupting: the check still waits, and its result still routes.
    expect(run.waiting()).toEqual(['fieldCheck']);
    run.complete('fieldCheck', { outcome: 'false-alarm' });
    await run.ended();
    expect(run.ends).toEqual(['escalated', 'closedFalseAlarm']);
  });
});

describe('communication loss', () => {
  const start4h = () => start('communication-loss', { alarmId: 'a-9', meterId: 'm-2', commLossWait: 'PT60S' });

  it('ends recovered when the alarm clears before commLossWait, with no order and no action', async () => {
    const run = await start4h();
    expect(run.timers.map((t) => seconds(t.delay))).toEqual([60]);
    run.message('alarm-cleared');
    await run.ended();
    expect(run.calls).toEqual([]);
    expect(run.ends).toEqual(['recovered']);
    expect(run.timers.every((t) => !t.live)).toBe(true);
  });

  it('after commLossWait opens the repair order, closed automatically with a comment when readings return', async () => {
    const run = await start4h();
    run.fireTimer();
    // The order waits, and so does its interrupting message boundary.
    expect(run.waiting()).toEqual(['backDuringRepair', 'repair']);
    run.message('alarm-cleared');
    await run.ended();
    expect(run.calls).toEqual([{ action: 'alarm-comment', elementId: 'commentAuto', params: { alarmId: 'a-9', text: expect.stringMatching(/closed automatically: readings returned/) as unknown } }]);
    expect(run.ends).toEqual(['closedAutomatically']);
  });

  it('ends repaired when the crew completes the order', async () => {
    const run = await start4h();
    run.fireTimer();
    run.complete('repair', { outcome: 'repaired' });
    await run.ended();
    expect(actionsOf(run)).toEqual(['alarm-comment']);
    expect(run.ends).toEqual(['repaired']);
  });
});

describe('fee recovery', () => {
  const account = { accountId: 'acc-1', meterId: 'm-3', arrearsWait: 'P3D' };

  it('ends paid when the payment comes within arrearsWait, after the notice only', async () => {
    const run = await start('fee-recovery', { ...account });
    expect(run.timers.map((t) => seconds(t.delay))).toEqual([3 * 86_400]);
    run.message('payment');
    await run.ended();
    expect(actionsOf(run)).toEqual(['notify']);
    expect(run.ends).toEqual(['paid']);
  });

  it('outside a window waits until nextAllowedAt, asks again, disconnects inside one and reconnects on payment', async () => {
    const nextAllowedAt = new Date(Date.now() + 7 * 3_600_000).toISOString();
    const answers = [{ disconnectAllowed: false, nextAllowedAt, reason: 'night' }, { disconnectAllowed: true, nextAllowedAt: null, reason: 'allowed' }];
    const run = await start('fee-recovery', { ...account }, {
      'fee-disconnect-window': () => answers.shift() ?? {},
      disconnect: () => ({ commandId: 'c-1', commandStatus: 'verified' }),
      reconnect: () => ({ commandId: 'c-2', commandStatus: 'verified' }),
    });
    run.fireTimer();
    expect(actionsOf(run)).toEqual(['notify', 'fee-disconnect-window']);
    // The intermediate timer is the date the window check answered.
    const wait = run.timers.at(-1);
    expect(wait?.live).toBe(true);
    expect(wait?.delay).toBeGreaterThan(6 * 3_600_000);
    expect(wait?.delay).toBeLessThanOrEqual(7 * 3_600_000);
    run.fireTimer();
    expect(actionsOf(run)).toEqual(['notify', 'fee-disconnect-window', 'fee-disconnect-window', 'disconnect']);
    expect(run.calls.at(-1)?.params).toMatchObject({ meterId: 'm-3' });
    expect(run.waiting()).toEqual(['paymentAfterDisconnect']);
    run.message('payment');
    await run.ended();
    expect(actionsOf(run).at(-1)).toBe('reconnect');
    expect(run.ends).toEqual(['reconnected']);
  });

  it('never disconnects an account the window check gives no time for (protected), and says so', async () => {
    const run = await start('fee-recovery', { ...account }, { 'fee-disconnect-window': () => ({ disconnectAllowed: false, nextAllowedAt: null, reason: 'protected' }) });
    run.fireTimer();
    await run.ended();
    expect(actionsOf(run)).toEqual(['notify', 'fee-disconnect-window', 'notify']);
    expect(run.calls.at(-1)?.params.message).toMatch(/not disconnected: protected/);
    expect(run.ends).toEqual(['notDisconnected']);
  });

  it('tells dispatch when the disconnection is refused or fails, and waits for no payment', async () => {
    const run = await start('fee-recovery', { ...account }, {
      'fee-disconnect-window': () => ({ disconnectAllowed: true, nextAllowedAt: null, reason: 'allowed' }),
      disconnect: () => ({ commandId: 'c-1', commandStatus: 'refused' }),
    });
    run.fireTimer();
    await run.ended();
    expect(actionsOf(run)).toEqual(['notify', 'fee-disconnect-window', 'disconnect', 'notify']);
    expect(run.calls.at(-1)?.params).toMatchObject({ target: 'dispatch', message: expect.stringMatching(/ended refused/) as unknown });
    expect(run.ends).toEqual(['disconnectionFailed']);
  });
});

describe('meter replacement', () => {
  it('records the replacement the order reports', async () => {
    const run = await start('meter-replacement', { meterId: 'm-4' });
    expect(run.waiting()).toEqual(['replaceMeter']);
    run.complete('replaceMeter', { oldMeterId: 'm-4', newMeterId: 'm-4n', finalRead: 88, initialRead: 1, replacedAt: '2025-01-02T03:04:05Z' });
    await run.ended();
    expect(run.calls).toEqual([{ action: 'record-replacement', elementId: 'recordReplacement', params: { meterId: 'm-4', oldMeterId: 'm-4', newMeterId: 'm-4n', finalRead: '88', initialRead: '1', replacedAt: '2025-01-02T03:04:05Z' } }]);
    expect(run.ends).toEqual(['recorded']);
  });
});
