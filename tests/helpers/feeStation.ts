/**
 * A whole head-end with one simulated DLMS meter (sim-dl-01-1, its energy register read every
 * second) and fee control on: one prepaid account on the meter with no credit, so it is due for
 * disconnection as it stands, every hour and day allowed, payments followed every 200 ms. The
 * fee-control end-to-end test and the payment-to-reconnection benchmark share it.
 */
import { startTestHeadEnd, type TestHeadEnd } from './headend.js';

export const FEE_STATION_ACCOUNT = 'acc-e2e';
export const FEE_STATION_METER = 'sim-dl-01-1';

export function startFeeStation(): Promise<TestHeadEnd> {
  return startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    collect: { profiles: { fast: { quantities: ['energy.active.import'], intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 1000, retries: 1, retryBackoffMs: 50 } } },
    simulators: { enabled: true, seed: 11, modbus: { count: 0 }, mqtt: { count: 0 }, dlms: { count: 1, framing: 'wrapper', profiles: ['fast'] } },
    fees: {
      enabled: true,
      tariffs: [{ id: 'flat', kind: 'flat', price: '0.5' }],
      accounts: [{
        id: FEE_STATION_ACCOUNT, customerRef: 'C-E2E', name: 'Shop', meterIds: [FEE_STATION_METER], mode: 'prepaid', tariffId: 'flat',
        creditLimitMinor: 0, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 100,
      }],
      policy: { forbiddenHours: [], weekendDays: [], minHoursAfterLastWarning: 0 },
      run: { prepaidEveryMs: 1_000, paymentPollMs: 200 },
    },
  });
}

/** The simulated meter's relay: true when closed (connected). */
export function feeStationRelay(he: TestHeadEnd): boolean | undefined {
  return he.fleet?.dlms[0]?.meter.simulation.outputState;
}
