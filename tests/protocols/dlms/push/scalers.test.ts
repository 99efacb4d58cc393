/**
 * The push scaler cache: scaler_unit is per meter (IEC 62056-6-2 Register attribute 3), so
 * meters of one type with different resolutions each get their own; reads are bounded in
 * number and in retries.
 */
import { describe, expect, it } from 'vitest';
import type { ScalerUnit } from '../../../../protocols/dlms/cosem/units.js';
import { PushScalerCache, type ScalerTerminal } from '../../../../protocols/dlms/push/scalers.js';

const ENERGY = '1.0.1.8.0.255';
const WH: ScalerUnit = { scaler: 0, unit: 30 };
const TEN_WH: ScalerUnit = { scaler: 1, unit: 30 };

function terminal(id: string): ScalerTerminal {
  return { id };
}

interface Deferred<T> { readonly promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('PushScalerCache', () => {
  it('keeps each meter\'s own scaler_unit when meters of one type differ in it', async () => {
    const onMeter: Record<string, ScalerUnit> = { residential: WH, industrial: TEN_WH };
    const loads: string[] = [];
    const cache = new PushScalerCache({
      load: (t) => {
        loads.push(t.id);
        return Promise.resolve(new Map([[ENERGY, onMeter[t.id] ?? WH]]));
      },
    });
    expect((await cache.get(terminal('residential'), '1', [ENERGY])).get(ENERGY)).toEqual(WH);
    expect((await cache.get(terminal('industrial'), '1', [ENERGY])).get(ENERGY)).toEqual(TEN_WH);
    // Known now: no further reads.
    expect((await cache.get(terminal('industrial'), '1', [ENERGY])).get(ENERGY)).toEqual(TEN_WH);
    expect(loads).toEqual(['residential', 'industrial']);
  });

  it('takes what polling already knows for that meter without reading', async () => {
    const cache = new PushScalerCache({
      known: (t, address, obis) => (t === 'industrial' && address === '1' && obis === ENERGY ? TEN_WH : undefined),
      load: () => Promise.reject(new Error('must not read')),
    });
    expect((await cache.get(terminal('industrial'), '1', [ENERGY])).get(ENERGY)).toEqual(TEN_WH);
  });

  it('runs at most maxConcurrentLoads reads at once; the others wait and then complete', async () => {
    const pending: Deferred<ReadonlyMap<string, ScalerUnit>>[] = [];
    let running = 0;
    let peak = 0;
    const cache = new PushScalerCache({
      maxConcurrentLoads: 2,
      load: async () => {
        running++;
        peak = Math.max(peak, running);
        const d = deferred<ReadonlyMap<string, ScalerUnit>>();
        pending.push(d);
        try {
          return await d.promise;
        } finally {
          running--;
        }
      },
    });
    const gets = ['a', 'b', 'c', 'd', 'e'].map((id) => cache.get(terminal(id), '1', [ENERGY]));
    const settle = async () => { for (let i = 0; i < 10; i++) await Promise.resolve(); };
    let answered = 0;
    while (answered < 5) {
      await settle();
      expect(running).toBeLessThanOrEqual(2);
      const d = pending[answered];
      if (d === undefined) throw new Error(`read ${answered + 1} never started`);
      d.resolve(new Map([[ENERGY, WH]]));
      answered++;
    }
    const results = await Promise.all(gets);
    expect(results.map((r) => r.get(ENERGY))).toEqual([WH, WH, WH, WH, WH]);
    expect(peak).toBe(2);
  });

  it('does not read a failed meter again before retryAfterMs, then does', async () => {
    let now = 0;
    let calls = 0;
    const cache = new PushScalerCache({
      now: () => now,
      retryAfterMs: 1_000,
      load: () => {
        calls++;
        return calls === 1 ? Promise.reject(new Error('meter busy')) : Promise.resolve(new Map([[ENERGY, TEN_WH]]));
      },
    });
    await expect(cache.get(terminal('m'), '1', [ENERGY])).rejects.toThrow('meter busy');
    now = 999;
    expect((await cache.get(terminal('m'), '1', [ENERGY])).size).toBe(0);
    expect(calls).toBe(1);
    now = 1_000;
    expect((await cache.get(terminal('m'), '1', [ENERGY])).get(ENERGY)).toEqual(TEN_WH);
    expect(calls).toBe(2);
  });
});
