/**
 * Payment to reconnection over real sockets: a whole head-end with a simulated DLMS meter and
 * the fee-control runner on its timers (payments followed every 200 ms). Each round the
 * account's payment is reversed, so it is warned and disconnected again; then a payment is
 * posted to the API and the time until the simulated meter's relay is closed again is taken.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { eventually, type TestHeadEnd } from '../helpers/headend.js';
import { FEE_STATION_ACCOUNT, feeStationRelay, startFeeStation } from '../helpers/feeStation.js';
import { percentile } from './stats.js';

const ROUNDS = 10;
let he: TestHeadEnd;

beforeAll(async () => {
  he = await startFeeStation();
}, 60_000);

afterAll(async () => {
  await he.stop();
});

const relay = () => feeStationRelay(he);

async function post(path: string, key: string, body: unknown): Promise<void> {
  const res = await fetch(`${he.url}/api/v1${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${he.token}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
}

describe('fee control', () => {
  it('payment to reconnection', async () => {
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await eventually(() => Promise.resolve(relay() === false ? true : undefined), 30_000, 'the disconnection');
      const start = performance.now();
      await post('/fees/payments', `pay-${round}`, { paymentId: `P-${round}`, accountId: FEE_STATION_ACCOUNT, amountMinor: 5_000, currency: 'CNY', paidAt: new Date().toISOString() });
      await eventually(async () => { await new Promise((r) => setTimeout(r, 5)); return relay() === true ? true : undefined; }, 30_000, 'the reconnection');
      samples.push(performance.now() - start);
      await post(`/fees/payments/P-${round}/reversal`, `rev-${round}`, { reason: 'bench: run out again' });
    }
    console.log(`bench: fee-payment-to-reconnection-p50 = ${Math.round(percentile(samples, 0.5))} ms`);
    console.log(`bench: fee-payment-to-reconnection-p95 = ${Math.round(percentile(samples, 0.95))} ms`);
    console.log(`bench: fee-payment-to-reconnection-max = ${Math.round(Math.max(...samples))} ms`);
  });
});
