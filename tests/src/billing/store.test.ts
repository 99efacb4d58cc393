/**
 * The billing store's pages of an area subtree on both drivers: meters of several areas come
 * merged in id order, page after page from the previous page's last id, each once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STORE_DRIVERS, billingStoreOf, connectEachTest, disposeStoreDrivers, execute } from '../../helpers/storeDrivers.js';

afterAll(disposeStoreDrivers);

describe.each(STORE_DRIVERS)('billing store on $name', (driver) => {
  const database = connectEachTest(driver);

  it('pages the meters of several areas merged in id order, each once, none of other areas', async () => {
    const c = database().connection;
    const yes = c.sqlite !== undefined ? '1' : 'true';
    const no = c.sqlite !== undefined ? '0' : 'false';
    await execute(c, `INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at) VALUES
      ('r', 'r', 'region', NULL, NULL, 0, 0), ('a', 'a', 'transformer', 'r', 400, 0, 0), ('b', 'b', 'transformer', 'r', 400, 0, 0),
      ('c', 'c', 'transformer', 'r', 400, 0, 0)`);
    await execute(c, `INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('t1', 't1', 'mqtt', ${yes}, '[]', '{}', 0, 0)`);
    // Meter m<i> lies in area a, b or c by i mod 3; the subtree asked for is a and c.
    const values = Array.from({ length: 30 }, (_, i) => `('m${String(i).padStart(2, '0')}', 'm', 't1', '${i}', 1, 1, '${'abc'[i % 3] ?? ''}', ${no}, 0, 0)`);
    await execute(c, `INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at) VALUES ${values.join(', ')}`);
    const store = billingStoreOf(c);
    const seen: string[] = [];
    let afterId = '';
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.meters(afterId, 4, 'daily', ['a', 'c']);
      const around = await store.metersAround({ afterId, limit: 4, profile: 'daily', areaIds: ['a', 'c'], code: 1, at: 0, spanMs: 1 });
      expect(around.map((m) => m.id)).toEqual(page.map((m) => m.id));
      seen.push(...page.map((m) => m.id));
      const last = page.at(-1);
      if (last === undefined) break;
      afterId = last.id;
    }
    const expected = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 1).map((i) => `m${String(i).padStart(2, '0')}`);
    expect(seen).toEqual(expected);
  });
});
