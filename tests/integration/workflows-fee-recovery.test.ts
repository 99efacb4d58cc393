/**
 * The shipped fee-recovery process on whole head-ends with fee control on, a prepaid account on
 * a simulated DLMS meter and fee control's second warning as the trigger (an account with no
 * credit is below both thresholds at once, and fee control then decides the second warning only). Inside a forbidden
 * window the process asks fee control's policy, does not disconnect and waits on its timer for
 * the next allowed time; on a station whose policy allows now it disconnects (the relay read
 * back open), and a payment booked through the API wakes it to reconnect.
 *
 * Fee control acts on the same account on its own timers: its credit limit is set so high that
 * the balance never reaches it, so fee control only warns (the trigger) and every relay
 * operation seen here is the process's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestHeadEnd } from '../helpers/headend.js';
import { instanceOf, instanceWhen, startWorkflowStation, waitingAt } from '../helpers/workflowStation.js';

const ACCOUNT = 'acc-wf';
const METER = 'sim-dl-01-1';

function feeStation(policy: Record<string, unknown>): Promise<TestHeadEnd> {
  return startWorkflowStation({
    triggers: [{ process: 'fee-recovery', on: 'fee', actions: ['warn-second'] }],
    variables: { arrearsWait: 'PT1S' },
    fees: {
      enabled: true,
      tariffs: [{ id: 'flat', kind: 'flat', price: '0.5' }],
      accounts: [{
        id: ACCOUNT, customerRef: 'C-WF', name: 'Shop', meterIds: [METER], mode: 'prepaid', tariffId: 'flat',
        creditLimitMinor: 1_000_000_000, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 100,
      }],
      policy: { timeZone: 'UTC', weekendDays: [], minHoursAfterLastWarning: 0, ...policy },
      run: { prepaidEveryMs: 1_000, paymentPollMs: 200 },
    },
  });
}

const relay = (he: TestHeadEnd) => he.fleet?.dlms[0]?.meter.simulation.outputState;

interface Command { id: string; type: string; reason: string; origin: { kind: string; id?: string; round?: number }; targets: { status: string }[] }

async function commandsOf(he: TestHeadEnd, type: string): Promise<Command[]> {
  return ((await he.get(`/api/v1/commands?meterId=${METER}&type=${type}`)).body as { items: Command[] }).items;
}

const hh = (h: number) => `${String(((h % 24) + 24) % 24).padStart(2, '0')}:00`;

describe('fee recovery inside a forbidden window', () => {
  let he: TestHeadEnd;
  beforeAll(async () => {
    // Forbidden from the hour before now to two hours after, in UTC: now is well inside it.
    const hour = new Date().getUTCHours();
    he = await feeStation({ forbiddenHours: [{ from: hh(hour - 1), to: hh(hour + 2) }] });
  }, 60_000);
  afterAll(async () => { await he.stop(); });

  it('does not disconnect and waits on its timer for the next allowed time', async () => {
    const started = await instanceOf(he, 'fee-recovery', ACCOUNT);
    const waiting = await instanceWhen(he, started.id, waitingAt('nextWindow'), 'waiting for the next window');
    expect(waiting.variables).toMatchObject({ accountId: ACCOUNT, disconnectAllowed: false, reason: 'night' });
    const next = Date.parse(String(waiting.variables.nextAllowedAt));
    expect(next).toBeGreaterThan(Date.now());
    expect(new Date(next).getUTCMinutes()).toBe(0);
    expect(waiting.waiting.find((w) => w.elementId === 'nextWindow')?.detail).toBe(new Date(next).toISOString());
    expect(waiting.status).toBe('running');
    expect(relay(he)).toBe(true);
    expect(await commandsOf(he, 'disconnect')).toEqual([]);
  }, 60_000);
});

describe('fee recovery when disconnection is allowed', () => {
  let he: TestHeadEnd;
  beforeAll(async () => {
    he = await feeStation({ forbiddenHours: [] });
  }, 60_000);
  afterAll(async () => { await he.stop(); });

  it('disconnects with the relay read back, and reconnects when a payment is booked', async () => {
    const started = await instanceOf(he, 'fee-recovery', ACCOUNT);
    await instanceWhen(he, started.id, waitingAt('paymentAfterDisconnect'), 'disconnected, waiting for a payment');
    expect(relay(he)).toBe(false);
    const [off] = await commandsOf(he, 'disconnect');
    expect(off?.origin).toEqual({ kind: 'program', id: `workflow:fee-recovery/${started.id}`, round: 0 });
    expect(off?.reason).toBe(`fee recovery: account ${ACCOUNT} in arrears`);
    expect(off?.targets.map((t) => t.status)).toEqual(['verified']);

    const paid = await fetch(`${he.url}/api/v1/fees/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${he.token}`, 'content-type': 'application/json', 'idempotency-key': 'pay-wf-1' },
      body: JSON.stringify({ paymentId: 'P-WF-1', accountId: ACCOUNT, amountMinor: 5_000, currency: 'CNY', paidAt: new Date().toISOString() }),
    });
    expect(paid.status).toBe(201);
    const done = await instanceWhen(he, started.id, (i) => i.status === 'completed', 'reconnected and completed');
    expect(done.variables).toMatchObject({ paidMinor: 5_000, commandStatus: 'verified' });
    expect(relay(he)).toBe(true);
    const on = await eventually(async () => (await commandsOf(he, 'reconnect'))[0], 5_000, 'the reconnect command');
    expect(on.targets.map((t) => t.status)).toEqual(['verified']);
  }, 60_000);
});
