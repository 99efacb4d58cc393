/**
 * Communication loss that outlasts commLossWait on a whole head-end: a simulated DLMS
 * terminal's outage raises the communication-loss alarm, the shipped process opens a repair
 * order once the wait is over, and when the outage ends and readings return the alarm clears,
 * the order is cancelled by the process with its reason and the instance completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHeadEnd } from '../helpers/headend.js';
import { alarmOf, instance, instanceOf, instanceWhen, orderAt, startWorkflowStation, workOrder } from '../helpers/workflowStation.js';

const METER = 'sim-dl-01-1';
let he: TestHeadEnd;

beforeAll(async () => {
  he = await startWorkflowStation({
    // Long enough for three missed 1 s intervals and the 2 s wait, then the terminal is back.
    scenarios: [{ name: 'outage', kind: 'outage', terminals: ['sim-dl-01'], startAfterMs: 2_000, durationMs: 10_000 }],
    triggers: [{ process: 'communication-loss', on: 'alarm', detectors: ['communication-loss'] }],
    variables: { commLossWait: 'PT2S' },
  });
}, 60_000);

afterAll(async () => {
  await he.stop();
});

describe('communication loss past commLossWait', () => {
  it('opens a repair order, and closes it by itself when readings return and the alarm clears', async () => {
    const started = await instanceOf(he, 'communication-loss', METER);
    const order = await orderAt(he, started.id, 'repair');
    expect(order).toMatchObject({ type: 'repair', meterId: METER, state: 'open' });

    const cleared = await alarmOf(he, METER, 'communication-loss', 'cleared', 30_000);
    expect(cleared.id).toBe(started.variables.alarmId);
    const done = await instanceWhen(he, started.id, (i) => i.status === 'completed', 'the instance completed', 30_000);
    expect(done.variables).toMatchObject({ alarmCleared: true });
    const history = (await instance(he, started.id)).history ?? [];
    expect(history.some((h) => h.elementId === 'closedAutomatically' && h.event === 'end')).toBe(true);

    const closed = await workOrder(he, order.id);
    expect(closed.state).toBe('cancelled');
    // Cancelled by the process, saying why: the task its boundary event interrupted.
    const cancelled = closed.history?.find((h) => h.event === 'cancelled');
    expect(cancelled?.by).toMatch(/communication-loss/);
    expect(cancelled?.detail).toMatch(/repair was interrupted/);
    const alarm = await alarmOf(he, METER, 'communication-loss', 'cleared');
    expect(alarm.comments.map((c) => c.text)).toContain('Repair order closed automatically: readings returned');
  }, 60_000);
});
