/**
 * The broker drop monitor keeps the counter it sees through its store on either driver
 * (embedded SQLite and PostgreSQL, see tests/helpers/storeDrivers.ts), against a real
 * Mosquitto publishing its $SYS counters: what one run saw is what the next run starts from.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerDropMonitor } from '../../../src/broker/dropMonitor.js';
import { createLogger } from '../../../src/observe/logger.js';
import type { TestBroker } from '../../helpers/aedes.js';
import { eventually } from '../../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../../helpers/mosquitto.js';
import { STORE_DRIVERS, disconnect, disposeStoreDrivers, dropCounterStoreOf, type StoreConnection, type StoreDatabase } from '../../helpers/storeDrivers.js';

const absent = mosquittoPath() === null;
if (absent) console.log('skipping the broker drop monitor store test: no mosquitto binary (apt-get install mosquitto)');

let broker: TestBroker | undefined;

afterAll(async () => {
  await broker?.close();
  await disposeStoreDrivers();
});

describe.skipIf(absent).each(STORE_DRIVERS)('broker drop monitor on $name', (driver) => {
  let database: StoreDatabase | undefined;
  let conn: StoreConnection;
  const monitors: BrokerDropMonitor[] = [];
  const monitor = async (): Promise<BrokerDropMonitor> => {
    broker ??= await startMosquitto({ extraConfig: ['sys_interval 1'] });
    const m = await BrokerDropMonitor.open({
      url: broker.url, clientId: `drops-${monitors.length}-${Date.now() % 100_000}`, clearAfterMs: 60_000, counterWaitMs: 60_000,
      store: dropCounterStoreOf(conn), alarms: { onSignal: () => undefined, openFor: () => undefined }, logger: createLogger('silent'),
    });
    monitors.push(m);
    m.start();
    return m;
  };

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    database = await driver.create();
    conn = await database.connect();
  }, 30_000);
  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.close();
    await database?.dispose();
    database = undefined;
  });

  it('writes the counter it sees through its store, and the next run starts from it', async () => {
    const first = await monitor();
    const seen = await eventually(() => Promise.resolve(first.stats().counter), 15_000, 'the dropped-message counter');
    // Closing writes what is still queued.
    await first.close();
    const kept = await dropCounterStoreOf(conn).get();
    expect(kept?.value).toBe(seen);
    expect(kept?.confirmedAt).toBeGreaterThan(0);
    await disconnect(conn);
    conn = await database!.connect();
    expect(await dropCounterStoreOf(conn).get()).toEqual(kept);
    // The next run knows the counter before the broker says anything.
    const second = await monitor();
    expect(second.stats().counter).toBe(seen);
  }, 30_000);
});
