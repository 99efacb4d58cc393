import { afterEach, describe, expect, it, vi } from 'vitest';
import { CollectionStats } from '../../../src/collect/stats.js';
import { SqliteCollectionStatsStore, type CollectionStatsStore, type DayCount } from '../../../src/collect/statsStore.js';
import { areaId } from '../../../src/domain/index.js';
import { closeAll, harness, modbusTerminal, mqttTerminal, profile, type Harness } from './harness.js';

/** Puts the terminal's meters in `area`, as a registry edit between cycles would. */
function moveMeters(h: Harness, terminal: string, area: string): void {
  h.topology.meters.set(terminal, h.topology.metersOf(terminal).map((m) => ({ ...m, areaId: areaId(area) })));
}

afterEach(closeAll);

describe('collection success rate', () => {
  it('counts expected = quantities × meters per cycle and collected = items read, flushed to SQLite', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'), 2);
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'voltage.l1' ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2 * 60_000 + 100);
    expect((await h.stats.successRate({ day: '2025-01-15' })).total).toEqual({ expected: 12, collected: 6, rate: 0.5 });
    // The periodic flush (every 5 s) has written them.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.db.prepare('SELECT day, terminal_id, expected, collected FROM collection_stats').all()).toEqual([
      { day: '2025-01-15', terminal_id: 'T1', expected: 12, collected: 6 },
    ]);
    await vi.advanceTimersByTimeAsync(55_000);
    await h.scheduler.stop();
    expect(await new SqliteCollectionStatsStore(h.db).query('2025-01-15')).toEqual([{ day: '2025-01-15', terminalId: 'T1', expected: 16, collected: 8 }]);
  });

  it('counts an overrun as expected and not collected', async () => {
    const h = harness({ profiles: { fast: profile({ timeoutMs: 120_000 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 90_000;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100_000);
    // Cycle 1 read both items; cycle 2 was skipped.
    expect((await h.stats.successRate({ day: '2025-01-15' })).total).toEqual({ expected: 4, collected: 2, rate: 0.5 });
  });

  it('gives per-terminal rates and their sum for a set of terminals, zeros for silent ones', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.topology.put(modbusTerminal('T2'));
    h.topology.put(modbusTerminal('T3'));
    h.adapter.script('T2').readError = () => new Error('exception 0x0B');
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    await h.scheduler.stop();
    const report = await h.stats.successRate({ day: '2025-01-15', terminalIds: ['T1', 'T2', 'none'] });
    expect(report).toEqual({
      day: '2025-01-15',
      terminals: [
        { terminalId: 'T1', expected: 2, collected: 2, rate: 1 },
        { terminalId: 'T2', expected: 2, collected: 0, rate: 0 },
        { terminalId: 'none', expected: 0, collected: 0, rate: null },
      ],
      total: { expected: 4, collected: 2, rate: 0.5 },
    });
  });

  it('buckets by station-local day', async () => {
    // UTC+8: 15:59 UTC is 23:59 local on the 15th, 16:00 UTC is midnight of the 16th.
    const h = harness({ utcOffsetMinutes: 480 });
    vi.setSystemTime(Date.UTC(2025, 0, 15, 15, 58, 30));
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 100);
    await h.scheduler.stop();
    expect(await h.store.query('2025-01-15')).toEqual([{ day: '2025-01-15', terminalId: 'T1', expected: 2, collected: 2 }]);
    expect(await h.store.query('2025-01-16')).toEqual([{ day: '2025-01-16', terminalId: 'T1', expected: 2, collected: 2 }]);
  });

  it('counts pushed readings as both expected and collected', async () => {
    const h = harness();
    h.topology.put(mqttTerminal('P1'));
    h.scheduler.start();
    h.scheduler.notePush('P1', 40);
    h.scheduler.notePush('P1', 2);
    await h.scheduler.stop();
    expect(await h.store.query('2025-01-15', ['P1'])).toEqual([{ day: '2025-01-15', terminalId: 'P1', expected: 42, collected: 42 }]);
  });
});

describe('daily read success per meter', () => {
  it('counts each meter once a day in its area, read when one cycle read all its quantities', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'), 3);
    moveMeters(h, 'T1', 'tx1');
    // Meter 2 never gives its voltage; meter 3 gives it from the second cycle on.
    h.adapter.script('T1').itemError = (item, n) => (item.quantity === 'voltage.l1' && (item.address === '2' || (item.address === '3' && n === 1)) ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 3 * 60_000 + 100);
    expect(await h.stats.areaDays({ from: '2025-01-15', to: '2025-01-15' })).toEqual([{ day: '2025-01-15', areaId: 'tx1', expected: 3, collected: 2 }]);
  });

  it('counts a meter moved mid-day where it was when first read', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    moveMeters(h, 'T1', 'tx1');
    let failing = true;
    h.adapter.script('T1').readError = () => (failing ? new Error('exception 0x0B') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    expect(await h.stats.areaDays({ from: '2025-01-15', to: '2025-01-15' })).toEqual([{ day: '2025-01-15', areaId: 'tx1', expected: 1, collected: 0 }]);
    moveMeters(h, 'T1', 'tx2');
    failing = false;
    await vi.advanceTimersByTimeAsync(60_000);
    moveMeters(h, 'T1', 'tx3');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await h.stats.areaDays({ from: '2025-01-15', to: '2025-01-15' })).toEqual([
      { day: '2025-01-15', areaId: 'tx1', expected: 0, collected: 0 },
      { day: '2025-01-15', areaId: 'tx2', expected: 1, collected: 1 },
    ]);
  });

  it('counts an overrun\'s meters as expected and not read', async () => {
    const h = harness({ profiles: { fast: profile({ timeoutMs: 120_000 }) } });
    h.topology.put(modbusTerminal('T1'), 2);
    moveMeters(h, 'T1', 'tx1');
    h.adapter.script('T1').hang = true;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 100);
    expect(await h.stats.areaDays({ from: '2025-01-15', to: '2025-01-15' })).toEqual([{ day: '2025-01-15', areaId: 'tx1', expected: 2, collected: 0 }]);
  });

  it('counts a meter once on a day a restart came between its reads', async () => {
    const h = harness();
    const ts = Date.UTC(2025, 0, 15, 10);
    const before = new CollectionStats({ store: h.store, utcOffsetMinutes: 0 });
    before.recordMeter('m1', 'tx1', ts, true);
    before.recordMeter('m2', 'tx1', ts, false);
    await before.stop();
    const after = new CollectionStats({ store: h.store, utcOffsetMinutes: 0 });
    after.recordMeter('m1', 'tx1', ts + 900_000, true);
    after.recordMeter('m2', 'tx1', ts + 900_000, false);
    expect(await after.areaDays({ from: '2025-01-15', to: '2025-01-15' })).toEqual([{ day: '2025-01-15', areaId: 'tx1', expected: 2, collected: 1 }]);
  });
});

describe('CollectionStats', () => {
  it('keeps counts in memory when a flush fails and writes them with the next one', async () => {
    const rows: { expected: number }[] = [];
    let failing = true;
    const store: CollectionStatsStore = {
      add: (r) => {
        if (failing) return Promise.reject(new Error('SQLITE_FULL'));
        rows.push(...r);
        return Promise.resolve();
      },
      query: () => Promise.resolve([]),
      addMeterDays: () => Promise.resolve(),
      areaDays: () => Promise.resolve([]),
    };
    const errors: Error[] = [];
    const stats = new CollectionStats({ store, utcOffsetMinutes: 0, onError: (e) => errors.push(e) });
    const ts = Date.UTC(2025, 0, 15);
    stats.record('T1', ts, 4, 3);
    await stats.flush();
    stats.record('T1', ts, 4, 4);
    expect((await stats.successRate({ day: '2025-01-15' })).total).toEqual({ expected: 8, collected: 7, rate: 7 / 8 });
    failing = false;
    await stats.flush();
    expect(rows).toEqual([{ day: '2025-01-15', terminalId: 'T1', expected: 8, collected: 7 }]);
    expect(errors.map((e) => e.message)).toEqual(['SQLITE_FULL']);
    expect(stats.flushErrors).toBe(1);
  });

  it('counts every item once when a query comes while a flush is being written', async () => {
    const stored: DayCount[] = [];
    let commit = (): void => undefined;
    const store: CollectionStatsStore = {
      // The write takes effect only when the test lets it, as a slow database would.
      add: (r) => new Promise((resolve) => { commit = () => { stored.push(...r); resolve(); }; }),
      query: () => Promise.resolve(stored.map((r) => ({ ...r }))),
      addMeterDays: () => Promise.resolve(),
      areaDays: () => Promise.resolve([]),
    };
    const stats = new CollectionStats({ store, utcOffsetMinutes: 0 });
    const ts = Date.UTC(2025, 0, 15);
    stats.record('T1', ts, 4, 3);
    const flushed = stats.flush();
    stats.record('T1', ts, 1, 1);
    const report = stats.successRate({ day: '2025-01-15' });
    await Promise.resolve();
    commit();
    await flushed;
    expect((await report).total).toEqual({ expected: 5, collected: 4, rate: 0.8 });
  });
});
