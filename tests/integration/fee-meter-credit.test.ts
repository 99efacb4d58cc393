/**
 * Meters that keep their own account compared with the station's balance, end to end over real
 * sockets: a whole head-end with fee control, two simulated DLMS meters with payment metering
 * objects (100.00 and 30.00 CNY of credit), one account on each with 100.00 and 80.00 CNY paid
 * in. Fee control reads each meter's account through the command service (read-account, as the
 * fee-control program) and compares: the one that agrees raises nothing, the one 50.00 CNY apart
 * raises METER_CREDIT_MISMATCH on its meter, cleared once an adjustment brings the balance to the
 * meter's credit; GET /api/v1/fees/accounts/:id shows each meter's reading beside the balance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const PASSWORD = '12345678';
let he: TestHeadEnd;
// No consumption is charged meanwhile worth speaking of: the tolerance (5.00 CNY) covers the load's few fen.
const agreeing = new DlmsMeterSimulator({ framing: 'wrapper', seed: 31, serialNumber: '00000031', historyDays: 0, password: PASSWORD, payment: { tokenCredit: 10_000 } });
const disagreeing = new DlmsMeterSimulator({ framing: 'wrapper', seed: 32, serialNumber: '00000032', historyDays: 0, password: PASSWORD, payment: { tokenCredit: 3_000 } });

interface Alarm { id: string; ruleId: string; detector: string; state: string; subject: { kind: string; id: string }; explanation: string; clearExplanation: string | null }
interface MeterCredit { meterId: string; availableMinor: number | null; currency: string; mode: string; status: string; comparison: { kind: string; stationBalanceMinor: number; differenceMinor: number | null } }

async function pay(accountId: string, amountMinor: number): Promise<void> {
  const res = await fetch(`${he.url}/api/v1/fees/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${he.token}`, 'content-type': 'application/json', 'idempotency-key': `pay-${accountId}` },
    body: JSON.stringify({ paymentId: `P-${accountId}`, accountId, amountMinor, currency: 'CNY', paidAt: new Date().toISOString() }),
  });
  expect(res.status).toBe(201);
}

async function alarmsOn(meterId: string): Promise<Alarm[]> {
  const res = await he.get(`/api/v1/alarms?meter=${meterId}&rule=fees:meter-credit&limit=50`);
  expect(res.status).toBe(200);
  return (res.body as { items: Alarm[] }).items;
}

async function meterCredit(accountId: string): Promise<MeterCredit[]> {
  const res = await he.get(`/api/v1/fees/accounts/${accountId}`);
  expect(res.status).toBe(200);
  return (res.body as { meterCredit: MeterCredit[] }).meterCredit;
}

beforeAll(async () => {
  await agreeing.start();
  await disagreeing.start();
  he = await startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    control: { confirmAbove: 10, perTerminalRatePerMinute: 6_000, commandTimeoutMs: 4_000 },
    // The fleet runner on (it keeps a master key in the data directory), with no meters of its own.
    simulators: { enabled: true, seed: 3, modbus: { count: 0 }, mqtt: { count: 0 }, dlms: { count: 0, framing: 'wrapper', profiles: [] } },
    fees: {
      enabled: true,
      tariffs: [{ id: 'flat', kind: 'flat', price: '0.5' }],
      run: { meterCreditEveryMs: 300, meterCreditToleranceMinor: 500 },
    },
  });
  for (const [id, sim] of [['agree', agreeing], ['apart', disagreeing]] as const) {
    expect((await he.send('POST', '/api/v1/terminals', { id, name: id, protocol: 'dlms', enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low' } })).status).toBe(201);
    expect((await he.send('POST', '/api/v1/meters', { id: `${id}-1`, name: `${id} 1`, terminalId: id, address: '1', ctRatio: 1, ptRatio: 1, protected: false })).status).toBe(201);
    const account = { id: `acc-${id}`, customerRef: `C-${id}`, name: id, meterIds: [`${id}-1`], mode: 'prepaid', protected: true, tariffId: 'flat', creditLimitMinor: 0, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 100 };
    const created = await he.send('POST', '/api/v1/fees/accounts', account);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  await pay('acc-agree', 10_000);
  await pay('acc-apart', 8_000);
  // Only now can the meters be read: every comparison sees the payments booked.
  for (const id of ['agree', 'apart']) expect((await he.send('PUT', `/api/v1/meters/${id}-1/keys`, { password: PASSWORD })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await he.stop();
  await agreeing.stop();
  await disagreeing.stop();
});

describe('meters that keep their own account compared with the station\'s balance', () => {
  it('raises an alarm on the meter whose credit and the balance disagree, and shows both', async () => {
    const alarm = await eventually(async () => (await alarmsOn('apart-1')).find((a) => a.state === 'raised'), 20_000, 'the mismatch alarm');
    expect(alarm).toMatchObject({ ruleId: 'fees:meter-credit', detector: 'meter-credit-mismatch', subject: { kind: 'meter', id: 'apart-1' } });
    // The meter's load spends its credit while the test runs: a few fen under 30.00 CNY by the time it is read.
    const held = /^Meter apart-1 holds (\d+\.\d\d) CNY of credit, but account acc-apart's balance at the station is 80\.00 CNY: the meter holds (\d+\.\d\d) CNY less/.exec(alarm.explanation);
    expect(held, alarm.explanation).not.toBeNull();
    const [credit, less] = [Number(held?.[1]), Number(held?.[2])];
    expect([credit >= 29 && credit <= 30, Math.round((credit + less) * 100)]).toEqual([true, 8_000]);
    const [reading] = await meterCredit('acc-apart');
    expect(reading).toMatchObject({ meterId: 'apart-1', currency: 'CNY', mode: 'prepayment', status: 'active', comparison: { kind: 'mismatch', stationBalanceMinor: 8_000 } });
    expect(reading?.availableMinor).toBeLessThanOrEqual(3_000);
    expect(reading?.comparison.differenceMinor).toBe((reading?.availableMinor ?? 0) - 8_000);
  });

  it('raises nothing for the meter whose credit agrees with the balance', async () => {
    const [reading] = await eventually(async () => { const r = await meterCredit('acc-agree'); return r.length > 0 ? r : undefined; }, 20_000, 'the agreeing meter read');
    expect(reading).toMatchObject({ meterId: 'agree-1', comparison: { kind: 'agree', stationBalanceMinor: 10_000 } });
    expect(await alarmsOn('agree-1')).toEqual([]);
  });

  it('clears the alarm once the balance agrees with the meter again', async () => {
    const [before] = await meterCredit('acc-apart');
    const adjusted = await fetch(`${he.url}/api/v1/fees/accounts/acc-apart/adjustments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${he.token}`, 'content-type': 'application/json', 'idempotency-key': 'adjust-apart' },
      body: JSON.stringify({ amountMinor: (before?.availableMinor ?? 3_000) - 8_000, currency: 'CNY', note: 'aligned with the meter\'s own credit' }),
    });
    expect(adjusted.status, await adjusted.clone().text()).toBe(201);
    const cleared = await eventually(async () => (await alarmsOn('apart-1')).find((a) => a.state === 'cleared'), 20_000, 'the alarm cleared');
    expect(cleared.clearExplanation).toContain('agree again');
    expect((await meterCredit('acc-apart'))[0]?.comparison.kind).toBe('agree');
  });
});
