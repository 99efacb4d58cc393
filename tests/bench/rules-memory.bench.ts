/**
 * The rule engine at fleet scale, in process: GRIDHEAD_BENCH_RULES_METERS meters (default
 * 1,000,000) behind one terminal per 10 meters, one transformer area per 100 meters under 20
 * feeders, the default rule set (config/rules.yaml, loaded as the station loads it). The
 * topology hands out a fresh Meter object per meter on every listing, as the registry's slot
 * image does, so a rule that walks or keeps the fleet's objects pays for it here too.
 * Printed:
 *
 * - rules.heap_per_meter_silent: heap the engine holds once every rule has enrolled its
 *   meters (one tick with an unbounded budget), after a forced GC, per meter, B;
 * - rules.heap_per_meter_reported: the same after every meter reported once what the default
 *   rules look at (power.active, voltage.l1, energy.active.import), B;
 * - rules.us_per_reading: wall time of `engine.write` over those readings, per reading, µs;
 * - rules.tick_ms_1m: a steady tick (area figures judged, nothing falling silent), median of 9, ms.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { areaId, meterId, terminalId, type Area, type Meter, type Reading } from '../../src/domain/index.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { loadRuleSet } from '../../src/rules/ruleSet.js';
import { ROOT } from '../helpers/transpile.js';
import { percentile } from './stats.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_RULES_METERS ?? 1_000_000);
const PER_TERMINAL = 10;
const PER_AREA = 100;
const FEEDERS = 20;
const BATCH = 1000;
const T0 = Date.UTC(2026, 11, 1);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed; };

const pad = (i: number): string => String(i).padStart(7, '0');
const areas = Math.ceil(METERS / PER_AREA);

function areaRows(): Area[] {
  const rows: Area[] = [{ id: areaId('region'), name: 'Region', kind: 'region', parentId: null, transformerKva: null }];
  for (let f = 0; f < FEEDERS; f++) rows.push({ id: areaId(`fdr${f}`), name: `Feeder ${f}`, kind: 'feeder', parentId: areaId('region'), transformerKva: null });
  for (let a = 0; a < areas; a++) rows.push({ id: areaId(`tx${pad(a)}`), name: `TX ${a}`, kind: 'transformer', parentId: areaId(`fdr${a % FEEDERS}`), transformerKva: 400 });
  return rows;
}

/** A fresh object per call, as Registry.listMeters and findMeter hand out. */
function meterRow(i: number): Meter {
  return {
    id: meterId(`m${pad(i)}`), name: `m${pad(i)}`, terminalId: terminalId(`t${pad(Math.floor(i / PER_TERMINAL))}`),
    address: String(i % PER_TERMINAL), ctRatio: 1, ptRatio: 1, areaId: areaId(`tx${pad(Math.floor(i / PER_AREA))}`),
    protected: false, customerRef: null, accountRef: null,
  };
}

function* allMeters(): Generator<Meter> {
  for (let i = 0; i < METERS; i++) yield meterRow(i);
}

it(`measures the rule engine over ${METERS} meters`, () => {
  const topologyAreas = areaRows();
  const clock = { now: T0 };
  const before = heap();
  const engine = new RuleEngine({
    topology: {
      meter: (id) => {
        const i = Number(id.slice(1));
        return id.startsWith('m') && i >= 0 && i < METERS ? meterRow(i) : undefined;
      },
      meters: allMeters,
      areas: () => topologyAreas,
      expectedIntervalMs: () => 15 * 60_000,
    },
    onSignal: () => undefined,
    now: () => clock.now,
    // One tick does all sliced work, so the heap is measured with every meter enrolled.
    tickBudgetMs: 3_600_000,
  });
  for (const r of loadRuleSet(join(ROOT, 'config/rules.yaml'))) engine.upsert(r);
  engine.tick(clock.now);
  const silent = heap() - before;

  let writeMs = 0;
  let readings = 0;
  clock.now += 1000;
  for (let from = 0; from < METERS; from += BATCH) {
    const batch: Reading[] = [];
    for (let i = from; i < Math.min(METERS, from + BATCH); i++) {
      const m = meterId(`m${pad(i)}`);
      const source = { protocol: 'mqtt', terminalId: terminalId(`t${pad(Math.floor(i / PER_TERMINAL))}`), mode: 'push' } as const;
      const base = { meterId: m, ts: clock.now, quality: 'good', source } as const;
      batch.push(
        { ...base, quantity: 'power.active', value: 2 + (i % 5), unit: 'kW' },
        { ...base, quantity: 'voltage.l1', value: 230, unit: 'V' },
        { ...base, quantity: 'energy.active.import', value: 1000 + i, unit: 'kWh' },
      );
    }
    const t = performance.now();
    engine.write(batch);
    writeMs += performance.now() - t;
    readings += batch.length;
  }
  clock.now += 1000;
  engine.tick(clock.now);
  const reported = heap() - before;

  const ticks: number[] = [];
  for (let i = 0; i < 9; i++) {
    clock.now += 1000;
    const t = performance.now();
    engine.tick(clock.now);
    ticks.push(performance.now() - t);
  }
  const stats = engine.stats();
  engine.close();
  expect(stats.signals).toBe(0);
  // Every meter judged: none of its states refused under the engine's bound.
  expect(stats.statesRefused).toBe(0);
  console.log(`bench: rules.heap_per_meter_silent = ${(silent / METERS).toFixed(0)} B`);
  console.log(`bench: rules.heap_per_meter_reported = ${(reported / METERS).toFixed(0)} B`);
  console.log(`bench: rules.us_per_reading = ${((writeMs * 1000) / readings).toFixed(2)} µs`);
  console.log(`bench: rules.tick_ms_1m = ${percentile(ticks, 0.5).toFixed(2)} ms (${METERS} meters)`);
  console.log(`bench: rules.states = ${stats.states} states, ${stats.timeDriven} time-driven entries`);
}, 3_600_000);
