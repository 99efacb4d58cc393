/**
 * The overview kept up to date (areaFigures.ts, openAlarms.ts) against the overview counted
 * from scratch (tests/helpers/liveOverview.ts) on a real registry: after random sequences of
 * readings (fresh, already stale, bad, registers only), time passing in steps that land on the
 * freshness and silence edges, the clock set back, meters created, moved and deleted,
 * terminals disabled and enabled, the rules' missed intervals changed, and alarms raised and
 * cleared, both give the same overview to the last figure.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, meterId, terminalId, type Alarm, type AreaId, type Meter, type Reading } from '../../../src/domain/index.js';
import { LatestValues } from '../../../src/live/latest.js';
import { ABNORMAL_AREA_DETECTOR, OpenAlarmIndex } from '../../../src/live/openAlarms.js';
import { LiveOverview } from '../../../src/live/overview.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { liveOverviewFromScratch } from '../../helpers/liveOverview.js';
import { prng } from '../../helpers/prng.js';

const SEC = 1_000;
const FRESH_MS = 45 * SEC;
const AREAS = ['r', 'f0', 'f1', 'tx0', 'tx1', 'tx2', 'tx3', 'tx4', 'lone'];
const TERMINALS = ['t0', 't1', 't2'];

async function station(): Promise<Registry> {
  const registry = await Registry.open(new SqliteRegistryStore(openDatabase(':memory:')), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: [
      { id: 'r', name: 'Region', kind: 'region' },
      { id: 'f0', name: 'F0', kind: 'feeder', parentId: 'r' },
      { id: 'f1', name: 'F1', kind: 'feeder', parentId: 'r' },
      ...[0, 1, 2, 3, 4].map((i) => ({ id: `tx${i}`, name: `TX ${i}`, kind: 'transformer' as const, parentId: `f${i % 2}`, transformerKva: 400 })),
      { id: 'lone', name: 'Lone', kind: 'transformer', transformerKva: 100 },
    ],
    terminals: TERMINALS.map((id) => ({ id, protocol: 'mqtt' as const, enabled: true, profiles: [] })),
    meters: [],
  });
  return registry;
}

class Alarms {
  readonly #open = new Map<string, Alarm>();
  readonly #listeners = new Set<(c: { readonly alarm: Alarm }) => void>();
  openAlarms(): readonly Alarm[] {
    return [...this.#open.values()];
  }
  onChange(listener: (c: { readonly alarm: Alarm }) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(alarm: Alarm): void {
    if (alarm.state === 'cleared') this.#open.delete(alarm.id);
    else this.#open.set(alarm.id, alarm);
    for (const l of this.#listeners) l({ alarm });
  }
  get(id: string): Alarm | undefined {
    return this.#open.get(id);
  }
}

function alarm(id: string, subject: Alarm['subject'], detector: string, area: string | null, state: Alarm['state'], at: number): Alarm {
  return {
    id, ruleId: `rule-${detector}`, detector, subject, areaId: area as AreaId | null, severity: 'major', state, raisedAt: at, since: at,
    acknowledgedAt: null, acknowledgedBy: null, clearedAt: state === 'cleared' ? at : null, explanation: `${detector} ${id}`,
    clearExplanation: null, explanationData: null, clearExplanationData: null, value: 1, comments: [],
  };
}

describe('the overview kept up to date', () => {
  it.each([1, 2, 3, 4, 5, 6])('equals the overview counted from scratch after a random sequence of changes (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const registry = await station();
    const clock = { now: 1_700_000_000_000 };
    const live = new LatestValues(() => clock.now);
    registry.onChange((c) => { if (c.kind === 'meter' && c.op === 'delete') live.forget(c.id); });
    const alarms = new Alarms();
    const index = new OpenAlarmIndex(alarms);
    let missed = 3;
    const areaLoad = { freshMs: FRESH_MS, powerFactor: 0.9, excluded: new Set(['supply']) };
    const expectedIntervalMs = (m: Pick<Meter, 'terminalId'>): number | undefined => {
      const t = registry.findTerminal(m.terminalId);
      return t?.enabled === true ? (t.id === 't1' ? 20 * SEC : 15 * SEC) : undefined;
    };
    const sources = { topology: registry, live, areaLoad, expectedIntervalMs, missedIntervals: () => missed, now: () => clock.now };
    const overview = new LiveOverview({ ...sources, alarms: index });
    const fromScratch = () => liveOverviewFromScratch({
      ...sources, areas: () => registry.listAreas(), meters: () => registry.listMeters(), alarms: index, collectionRateToday: null,
    });

    let created = 0;
    const createMeter = async (id = `m${created++}`) => {
      await registry.createMeter({ id, terminalId: pick(TERMINALS), address: id, ctRatio: 1, ptRatio: 1, protected: false, ...(rnd() < 0.1 ? {} : { areaId: pick(AREAS) }) });
    };
    for (let i = 0; i < 30; i++) await createMeter();
    await createMeter('supply');
    let alarmsRaised = 0;
    const seen = { compared: 0, fresh: 0, stale: 0, reporting: 0, silent: 0 };

    for (let step = 0; step < 1_500; step++) {
      const meters = registry.listMeters();
      const r = rnd();
      if (r < 0.4 && meters.length > 0) {
        const m = pick(meters);
        const power = rnd() < 0.8;
        // Quarter kW: every sum is exact whatever the order it is added in.
        const value = Math.round(rnd() * 400) / 4;
        const age = rnd() < 0.2 ? FRESH_MS + Math.floor(rnd() * 3) - 1 : Math.floor(rnd() * FRESH_MS * 1.5);
        live.write([{
          meterId: m.id, quantity: power ? 'power.active' : 'energy.active.import', value, unit: 'kW', ts: clock.now - age,
          quality: rnd() < 0.1 ? 'bad' : 'good', source: { protocol: 'mqtt', terminalId: terminalId(m.terminalId), mode: 'push' },
        }]);
      } else if (r < 0.65) {
        // Time passes, often by a millisecond or two so the freshness and silence edges are met exactly.
        clock.now += rnd() < 0.5 ? Math.floor(rnd() * 3) : Math.floor(rnd() * 20 * SEC);
      } else if (r < 0.67) {
        clock.now -= Math.floor(rnd() * 30 * SEC);
      } else if (r < 0.75 && meters.length > 0) {
        const m = pick(meters);
        await registry.updateMeter(m.id, { terminalId: m.terminalId, address: m.address, ctRatio: 1, ptRatio: 1, protected: false, ...(rnd() < 0.1 ? {} : { areaId: pick(AREAS) }) });
      } else if (r < 0.79 && meters.length > 0) {
        await registry.deleteMeter(pick(meters).id);
      } else if (r < 0.83) {
        await createMeter(rnd() < 0.3 && meters.length < created ? `m${Math.floor(rnd() * created)}` : undefined).catch((err: unknown) => { if (!(err instanceof ConflictError)) throw err; });
      } else if (r < 0.86) {
        const t = registry.getTerminal(pick(TERMINALS));
        await registry.updateTerminal(t.id, { protocol: 'mqtt', enabled: !t.enabled, profiles: [] });
      } else if (r < 0.87) {
        missed = missed === 3 ? 2 : 3;
      } else if (r < 0.95) {
        const open = alarms.openAlarms();
        if (open.length > 0 && rnd() < 0.4) {
          const a = pick(open);
          alarms.set({ ...a, state: rnd() < 0.5 ? 'acknowledged' : 'cleared' });
        } else if (rnd() < 0.3) {
          const area = pick(AREAS);
          alarms.set(alarm(`a${alarmsRaised++}`, { kind: 'area', id: area as AreaId }, rnd() < 0.7 ? ABNORMAL_AREA_DETECTOR : 'overload', area, 'raised', clock.now));
        } else if (meters.length > 0) {
          const m = pick(meters);
          alarms.set(alarm(`a${alarmsRaised++}`, { kind: 'meter', id: m.id }, 'communication-loss', m.areaId, 'raised', clock.now));
        }
      }
      if (rnd() < 0.3) {
        const want = fromScratch();
        expect(overview.overview(null), `step ${step}`).toEqual(want);
        seen.compared++;
        for (const m of registry.listMeters()) {
          expect(index.countForMeter(m.id)).toBe(alarms.openAlarms().filter((a) => a.subject.kind === 'meter' && a.subject.id === m.id).length);
        }
        for (const a of want.areas) {
          seen.reporting += a.parentId === null ? a.metersReporting : 0;
          seen.silent += a.parentId === null ? a.meters - a.metersReporting : 0;
        }
        seen.fresh += want.totalKw > 0 ? 1 : 0;
        seen.stale += want.areas.some((a) => a.meters > 0 && a.loadKw === null) ? 1 : 0;
      }
    }
    // The sequence went through every state it claims to compare.
    expect(seen.compared).toBeGreaterThan(300);
    expect(Math.min(seen.fresh, seen.stale, seen.reporting, seen.silent)).toBeGreaterThan(20);
    expect(alarmsRaised).toBeGreaterThan(20);
    overview.close();
    index.close();
    await registry.close();
  });

  it('forgets a deleted meter and takes a moved one to its new area, subtree by subtree, never listing the meters again', async () => {
    const registry = await station();
    const clock = { now: 1_700_000_000_000 };
    const live = new LatestValues(() => clock.now);
    const listed = { walks: 0, lists: 0 };
    const topology = Object.assign(Object.create(registry) as Registry, {
      visitMeters: (...args: Parameters<Registry['visitMeters']>) => { listed.walks += args[0] === 0 ? 1 : 0; return registry.visitMeters(...args); },
      listMeters: (...args: Parameters<Registry['listMeters']>) => { listed.lists++; return registry.listMeters(...args); },
    });
    const overview = new LiveOverview({
      topology, live, alarms: { countForArea: () => 0, abnormal: () => undefined },
      areaLoad: { freshMs: FRESH_MS, powerFactor: 0.9, excluded: new Set() }, expectedIntervalMs: () => 15 * SEC, missedIntervals: () => 3, now: () => clock.now,
    });
    const byId = () => new Map(overview.overview(null).areas.map((a) => [a.id, a]));
    for (const [id, area] of [['a', 'tx0'], ['b', 'tx1']] as const) await registry.createMeter({ id, terminalId: 't0', address: id, ctRatio: 1, ptRatio: 1, protected: false, areaId: area });
    expect(byId().get('r')).toMatchObject({ meters: 2, loadKw: null, metersReporting: 0 });
    live.write([{ meterId: meterId('a'), quantity: 'power.active', value: 5, unit: 'kW', ts: clock.now, quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId('t0'), mode: 'push' } }]);
    expect(byId().get('f0')).toMatchObject({ meters: 1, loadKw: 5, metersReporting: 1 });
    await registry.updateMeter('a', { terminalId: 't0', address: 'a', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx1' });
    let areas = byId();
    expect(areas.get('f0')).toMatchObject({ meters: 0, loadKw: null, metersReporting: 0 });
    expect(areas.get('f1')).toMatchObject({ meters: 2, loadKw: 5, metersReporting: 1 });
    await registry.deleteMeter('a');
    clock.now += 1;
    areas = byId();
    expect(areas.get('f1')).toMatchObject({ meters: 1, loadKw: null, metersReporting: 0 });
    expect(overview.overview(null).totalKw).toBe(0);
    // Read once, when first asked for; every later request comes from the kept figures.
    expect(listed).toEqual({ walks: 1, lists: 0 });
    overview.close();
    await registry.close();
  });

  it('answers a request that arrives half-way through the background build, and counts readings and changes during it once', async () => {
    const registry = await station();
    const placed = (i: number) => ({ terminalId: TERMINALS[i % TERMINALS.length] ?? 't0', ctRatio: 1, ptRatio: 1, protected: false, areaId: AREAS[i % AREAS.length] ?? 'r' });
    for (let i = 0; i < 200; i++) await registry.createMeter({ id: `m${i}`, address: `m${i}`, ...placed(i) });
    const clock = { now: 1_700_000_000_000 };
    const live = new LatestValues(() => clock.now);
    registry.onChange((c) => { if (c.kind === 'meter' && c.op === 'delete') live.forget(c.id); });
    const reading = (id: string, kw: number): Reading => ({
      meterId: meterId(id), quantity: 'power.active', value: kw, unit: 'kW', ts: clock.now, quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId('t0'), mode: 'push' },
    });
    live.write([reading('m0', 1), reading('m199', 2)]);
    const sources = {
      topology: registry, live, areaLoad: { freshMs: FRESH_MS, powerFactor: 0.9, excluded: new Set<string>() },
      expectedIntervalMs: () => 15 * SEC, missedIntervals: () => 3, now: () => clock.now, buildSliceSlots: 8,
    };
    const fromScratch = () => liveOverviewFromScratch({
      ...sources, areas: () => registry.listAreas(), meters: () => registry.listMeters(), alarms: { all: () => [][Symbol.iterator]() }, collectionRateToday: null,
    });
    const asked = new LiveOverview({ ...sources, alarms: { countForArea: () => 0, abnormal: () => undefined } });
    const waited = new LiveOverview({ ...sources, alarms: { countForArea: () => 0, abnormal: () => undefined } });
    const built = { asked: false, waited: false };
    void asked.whenBuilt().then(() => { built.asked = true; });
    void waited.whenBuilt().then(() => { built.waited = true; });
    asked.start();
    waited.start();
    await new Promise((resolve) => setImmediate(resolve));

    // Both builds are under way: readings reach meters already walked and meters not yet walked,
    // one meter ahead of the walk goes, one comes, one behind it moves.
    clock.now += SEC;
    live.write([reading('m1', 3), reading('m150', 4)]);
    live.write([reading('m150', 5), reading('m2', 6)]);
    await registry.deleteMeter('m180');
    await registry.createMeter({ id: 'late', address: 'late', ...placed(3) });
    live.write([reading('late', 7)]);
    await registry.updateMeter('m4', { address: 'm4', ...placed(5) });
    expect(built).toEqual({ asked: false, waited: false });
    expect(asked.overview(null)).toEqual(fromScratch());
    await Promise.resolve();
    expect(built).toEqual({ asked: true, waited: false });

    for (let i = 0; !built.waited; i++) {
      live.write([reading(`m${(i * 37) % 200}`, i)]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    clock.now += SEC;
    expect(waited.overview(null)).toEqual(fromScratch());
    expect(asked.overview(null)).toEqual(fromScratch());
    asked.close();
    waited.close();
    await registry.close();
  });
});
