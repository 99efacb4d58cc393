/**
 * The shipped processes on a whole head-end with simulated DLMS meters, driven through the API
 * as an operator and as a field crew: a tamper scenario's cover-open alarm runs suspected theft
 * to a replacement billing sees (or to a commented false alarm); an outage's communication-loss
 * alarm ends by itself when readings return before commLossWait; a meter replacement started
 * through the API records the exchange for billing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHeadEnd } from '../helpers/headend.js';
import {
  alarmOf, crewCompletes, fieldCrew, instance, instanceOf, instanceWhen, orderAt, startWorkflowStation, workOrder, type FieldCrew,
} from '../helpers/workflowStation.js';

const THEFT = 'sim-dl-01-1';
const FALSE_ALARM = 'sim-dl-02-1';
const SILENT = 'sim-dl-03-1';
const REPLACED = 'sim-dl-04-1';
let he: TestHeadEnd;
let crew: FieldCrew;

beforeAll(async () => {
  he = await startWorkflowStation({
    meters: 4,
    scenarios: [
      { name: 'theft', kind: 'tamper', meters: [THEFT, FALSE_ALARM], startAfterMs: 2_000, durationMs: 0 },
      // Back within commLossWait (an hour here): the loss ends before any repair order.
      { name: 'blip', kind: 'outage', terminals: ['sim-dl-03'], startAfterMs: 2_000, durationMs: 6_000 },
    ],
    triggers: [
      { process: 'suspected-theft', on: 'alarm', rules: ['cover-open'] },
      { process: 'communication-loss', on: 'alarm', detectors: ['communication-loss'] },
    ],
    variables: { commLossWait: 'PT1H' },
  });
  crew = await fieldCrew(he, 'crew-wang');
}, 60_000);

afterAll(async () => {
  await he.stop();
});

describe('suspected theft from a tamper scenario', () => {
  it('confirmed on site: a replacement order follows, and the replacement is recorded for billing', async () => {
    const alarm = await alarmOf(he, THEFT, 'cover-open');
    const started = await instanceOf(he, 'suspected-theft', THEFT);
    expect(started.variables).toMatchObject({ alarmId: alarm.id, meterId: THEFT });
    const check = await orderAt(he, started.id, 'fieldCheck');
    expect(check).toMatchObject({ type: 'field-check', meterId: THEFT, state: 'open' });
    // A field crew sees only what is assigned to it.
    expect((await crew.send('GET', `/api/v1/work-orders/${check.id}`)).status).toBe(404);
    await crewCompletes(he, crew, check, { outcome: 'confirmed', sealIntact: false });

    const replace = await orderAt(he, started.id, 'replaceMeter');
    expect(replace).toMatchObject({ type: 'meter-replacement', meterId: THEFT, state: 'open' });
    await crewCompletes(he, crew, replace, { oldMeterId: THEFT, newMeterId: 'NEW-0001', finalRead: 1234.5, initialRead: 0.25 });

    const done = await instanceWhen(he, started.id, (i) => i.status === 'completed', 'the theft instance completed');
    expect(done.variables).toMatchObject({ outcome: 'confirmed', newMeterId: 'NEW-0001', completedBy: crew.name });
    const billing = (await he.get(`/api/v1/billing/replacements?meter=${THEFT}`)).body as { items: { meterId: string; oldFinal: number; newInitial: number }[] };
    expect(billing.items).toEqual([expect.objectContaining({ meterId: THEFT, oldFinal: 1234.5, newInitial: 0.25 })]);
  }, 60_000);

  it('a false alarm ends the instance with the workflow\'s comment on the alarm, acknowledged', async () => {
    const started = await instanceOf(he, 'suspected-theft', FALSE_ALARM);
    const check = await orderAt(he, started.id, 'fieldCheck');
    await crewCompletes(he, crew, check, { outcome: 'false-alarm', findings: 'cover opened by the landlord' });
    const done = await instanceWhen(he, started.id, (i) => i.status === 'completed', 'the false-alarm instance completed');
    expect(done.waiting).toEqual([]);
    const alarm = (await he.get(`/api/v1/alarms/${String(started.variables.alarmId)}`)).body as { state: string; comments: { text: string }[] };
    expect(alarm.state).toBe('acknowledged');
    expect(alarm.comments.map((c) => c.text)).toContain('Field check: false alarm, no theft found');
    // No replacement order was opened for it.
    const orders = (await he.get(`/api/v1/work-orders?meterId=${FALSE_ALARM}`)).body as { items: { type: string }[] };
    expect(orders.items.map((o) => o.type)).toEqual(['field-check']);
  }, 60_000);
});

describe('communication loss that ends before commLossWait', () => {
  it('opens no order: the alarm clears and the instance completes at "recovered"', async () => {
    const started = await instanceOf(he, 'communication-loss', SILENT);
    const done = await instanceWhen(he, started.id, (i) => i.status === 'completed', 'the communication-loss instance completed', 30_000);
    expect(done.variables).toMatchObject({ alarmCleared: true });
    const detail = await instance(he, started.id);
    expect(detail.history?.some((h) => h.elementId === 'recovered' && h.event === 'end')).toBe(true);
    // The repair task was only discarded with the branch not taken, never started.
    expect(detail.history?.filter((h) => h.elementId === 'repair').map((h) => h.event)).toEqual(['discard']);
    const orders = (await he.get(`/api/v1/work-orders?meterId=${SILENT}`)).body as { items: unknown[] };
    expect(orders.items).toEqual([]);
  }, 60_000);
});

describe('meter replacement started through the API', () => {
  it('records the exchange for billing once the order is completed', async () => {
    const res = await he.send('POST', '/api/v1/workflows/instances', { processKey: 'meter-replacement', variables: { meterId: REPLACED }, businessKey: REPLACED });
    expect(res.status).toBe(201);
    const id = (res.body as { id: string }).id;
    const order = await orderAt(he, id, 'replaceMeter');
    expect(order).toMatchObject({ type: 'meter-replacement', meterId: REPLACED });
    await crewCompletes(he, crew, order, { oldMeterId: REPLACED, newMeterId: 'NEW-0002', finalRead: 88, initialRead: 1, replacedAt: '2025-01-02T03:04:05Z' });
    await instanceWhen(he, id, (i) => i.status === 'completed', 'the replacement instance completed');
    expect((await workOrder(he, order.id)).state).toBe('done');
    const billing = (await he.get(`/api/v1/billing/replacements?meter=${REPLACED}`)).body as { items: unknown[] };
    expect(billing.items).toEqual([{ meterId: REPLACED, at: '2025-01-02T03:04:05.000Z', oldFinal: 88, newInitial: 1 }]);
  }, 60_000);
});
