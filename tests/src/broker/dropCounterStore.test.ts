/**
 * The broker drop counter as last seen, one suite run against every driver (embedded SQLite
 * and PostgreSQL, see tests/helpers/storeDrivers.ts): one row, overwritten, kept across a
 * restart, so the drops of a time the station was down are counted at its next start.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, dropCounterStoreOf } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('broker drop counter store on $name', (driver) => {
  const db = connectEachTest(driver);

  it('has no mark before the first, then the latest one, across a restart', async () => {
    const store = dropCounterStoreOf(db().connection);
    expect(await store.get()).toBeUndefined();
    await store.put({ value: 3, confirmedAt: 1_000 });
    // The broker's counter is cumulative since it started: far past 32 bits on a long-lived broker.
    const mark = { value: 2 ** 40 + 7, confirmedAt: Date.UTC(2024, 5, 1) };
    await store.put(mark);
    expect(await store.get()).toEqual(mark);
    expect(await dropCounterStoreOf(await db().reconnect()).get()).toEqual(mark);
  });
});
