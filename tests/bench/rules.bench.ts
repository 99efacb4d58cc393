/**
 * Rule engine figures (DESIGN.md target: reading in → alarm out p99 ≤ 5 ms at 50,000
 * readings/s with the default rule set).
 *
 * 20,000 meters in 40 transformer areas, the default rule set (config/rules.yaml), readings
 * fed through a real IngestPipeline (normalise → queue → sinks: live values, then the
 * engine) at a paced 50,000 readings/s, the engine ticking every second as in src/rules/index.ts.
 * Each meter sends polls of five quantities; one poll in twenty carries an import register
 * lower than the last, which register-backwards raises at once. Latency is measured from the
 * `offer` of that batch to the engine's signal callback, for those raises. The engine is set
 * up as src/rules/index.ts sets it up (left-over tick slices continue 5 ms after each other).
 *
 * Then the ingest throughput with rules on and off: the same readings offered as fast as
 * the pipeline takes them, live values only versus live values + engine.
 */
import { it } from 'vitest';
import type { RawReading } from '../../protocols/adapter.js';
import { areaId, meterId, terminalId, type Area, type Meter } from '../../src/domain/index.js';
import { IngestPipeline, type ReadingSink } from '../../src/ingest/pipeline.js';
import { LatestValues } from '../../src/live/latest.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { loadRuleSet } from '../../src/rules/ruleSet.js';
import type { RuleTopology } from '../../src/rules/scope.js';
import { percentile } from './stats.js';

const METERS = 20_000;
const AREAS = 40;
const RATE = 50_000;
const SECONDS = 12;
const BATCH = 500;
const PER_POLL = 5;

const areas: Area[] = [
  { id: areaId('region'), name: 'Region', kind: 'region', parentId: null, transformerKva: null },
  ...Array.from({ length: AREAS }, (_, i): Area => ({ id: areaId(`tx-${i}`), name: `TX ${i}`, kind: 'transformer', parentId: areaId('region'), transformerKva: 2000 })),
];
const meters = new Map<string, Meter>();
for (let i = 0; i < METERS; i++) {
  const id = meterId(`m-${i}`);
  meters.set(`t-${i % 1000}|${i}`, {
    id, name: id, terminalId: terminalId(`t-${i % 1000}`), address: String(i), ctRatio: 1, ptRatio: 1,
    areaId: areaId(`tx-${i % AREAS}`), protected: false, customerRef: null, accountRef: null,
  });
}
const byId = new Map([...meters.values()].map((m) => [m.id as string, m]));
const topology: RuleTopology = {
  meter: (id) => byId.get(id),
  meters: () => byId.values(),
  areas: () => areas,
  expectedIntervalMs: () => 15_000,
};

/** Poll n of every meter, in meter order; `raising` polls carry a register that went backwards. */
function* polls(count: number, t0: number): Generator<{ raw: RawReading[]; raising: string | null }> {
  for (let n = 0; n < count; n++) {
    const i = n % METERS;
    const round = Math.floor(n / METERS);
    const ts = t0 + round * 2_000;
    const raising = i % 4 === 0 && round === (i / 4) % 5;
    const energy = 1000 + round * 0.5 - (raising ? 5 : 0);
    const base = { terminalId: `t-${i % 1000}`, address: String(i), ts };
    yield {
      raising: raising ? `m-${i}` : null,
      raw: [
        { ...base, quantity: 'power.active', value: 3 + (i % 7) },
        { ...base, quantity: 'voltage.l1', value: 229 + (i % 3) },
        { ...base, quantity: 'current.l1', value: 10 + (i % 5) },
        { ...base, quantity: 'power.factor', value: 0.95 },
        { ...base, quantity: 'energy.active.import', value: energy },
      ],
    };
  }
}

function pipelineWith(sinks: ReadingSink[]): IngestPipeline {
  return new IngestPipeline({ capacity: 200_000, sinks, meterAt: (t, a) => meters.get(`${t}|${a}`) });
}

it('measures reading → signal latency at 50,000 readings/s with the default rule set', async () => {
  const rules = loadRuleSet('config/rules.yaml');
  const offeredAt = new Map<string, number>();
  const latencies: number[] = [];
  let raises = 0;
  const engine = new RuleEngine({
    topology,
    continueAfterMs: 5,
    onSignal: (s) => {
      if (s.kind !== 'raise' || s.detector !== 'register-backwards') return;
      raises += 1;
      const t = offeredAt.get(s.subject.id);
      if (t !== undefined) latencies.push(performance.now() - t);
    },
  });
  for (const r of rules) engine.upsert(r);
  const pipeline = pipelineWith([new LatestValues(), engine]);
  const tickMs: number[] = [];
  const tick = setInterval(() => {
    const t = performance.now();
    engine.tick();
    tickMs.push(performance.now() - t);
  }, 1000);
  const total = RATE * SECONDS;
  const source = polls(total / PER_POLL, Date.now() - 60_000);
  const start = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, ((performance.now() - start) / 1000) * RATE);
      while (sent + BATCH <= due) {
        const batch: RawReading[] = [];
        const raising: string[] = [];
        for (let k = 0; k < BATCH / PER_POLL; k++) {
          const p = source.next();
          if (p.done === true) break;
          batch.push(...p.value.raw);
          if (p.value.raising !== null) raising.push(p.value.raising);
        }
        const t = performance.now();
        for (const m of raising) offeredAt.set(m, t);
        await pipeline.offer(batch, 'mqtt', 'push');
        sent += batch.length;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await pipeline.close();
  } finally {
    clearInterval(tick);
    engine.close();
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(`bench: rules.offered_rate = ${Math.round(sent / elapsed)} readings/s`);
  console.log(`bench: rules.latency_p50 = ${percentile(latencies, 0.5).toFixed(3)} ms`);
  console.log(`bench: rules.latency_p99 = ${percentile(latencies, 0.99).toFixed(3)} ms`);
  console.log(`bench: rules.latency_max = ${percentile(latencies, 1).toFixed(3)} ms`);
  console.log(`bench: rules.tick_max = ${percentile(tickMs, 1).toFixed(1)} ms`);
  console.log(`bench: rules.raises_measured = ${latencies.length} signals`);
  console.log(`bench: rules.raises = ${raises} signals`);
  console.log(`bench: rules.engine_states = ${engine.stats().states} states`);
  console.log(`bench: rules.time_driven_entries = ${engine.stats().timeDriven} entries`);
});

it('measures ingest throughput with rules on and off', async () => {
  const total = 1_000_000;
  const run = async (withRules: boolean): Promise<number> => {
    const sinks: ReadingSink[] = [new LatestValues()];
    if (withRules) {
      const engine = new RuleEngine({ topology, onSignal: () => undefined });
      for (const r of loadRuleSet('config/rules.yaml')) engine.upsert(r);
      sinks.push(engine);
    }
    const pipeline = pipelineWith(sinks);
    const batches: RawReading[][] = [];
    let batch: RawReading[] = [];
    for (const p of polls(total / PER_POLL, Date.now() - 600_000)) {
      batch.push(...p.raw);
      if (batch.length >= BATCH) {
        batches.push(batch);
        batch = [];
      }
    }
    const start = performance.now();
    for (const b of batches) await pipeline.offer(b, 'mqtt', 'push');
    await pipeline.close();
    return total / ((performance.now() - start) / 1000);
  };
  await run(true); // warm-up
  const off = await run(false);
  const on = await run(true);
  console.log(`bench: ingest.rules_off = ${Math.round(off)} readings/s`);
  console.log(`bench: ingest.rules_on = ${Math.round(on)} readings/s`);
  console.log(`bench: ingest.rules_cost = ${((1 / on - 1 / off) * 1e6).toFixed(2)} us/reading`);
});
