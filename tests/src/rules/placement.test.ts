/**
 * The rule engine in a cluster judges only what the placement puts on this node: meter rules
 * and device events of the meters of its terminals, area rules of its areas, silences of its
 * meters. Readings of other areas still reach its values (an owned area's load counts them),
 * but raise nothing here. A meter or area taken over is judged afresh: its silence counts from
 * the taking, and what this node held about it from an earlier term is dropped.
 */
import { describe, expect, it } from 'vitest';
import { meterId, terminalId, type DeviceEvent } from '../../../src/domain/index.js';
import type { RulePlacement } from '../../../src/rules/scope.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule, type Harness } from './fixture.js';

/** t1 (meter m1) and t3 (meter m3) in tx1; t2 (meter m2) in tx2. */
const station = () => new FakeTopology(
  [area('r1', null), area('tx1', 'r1', 400), area('tx2', 'r1', 400)],
  [meter('m1', 'tx1', 't1'), meter('m2', 'tx2', 't2'), meter('m3', 'tx1', 't3')],
);

/** Terminals and areas placed on this node, each under its lease token. */
class Placed implements RulePlacement {
  readonly terminals = new Map<string, { lease: string; token: number }>();
  readonly areas = new Set<string>();
  fenceFor(id: string): { lease: string; token: number } | undefined { return this.terminals.get(id); }
  ownsArea(id: string): boolean { return this.areas.has(id); }
  take(areaId: string, token: number, ...terminals: string[]): void {
    this.areas.add(areaId);
    for (const t of terminals) this.terminals.set(t, { lease: `area:${areaId}`, token });
  }
  give(areaId: string, ...terminals: string[]): void {
    this.areas.delete(areaId);
    for (const t of terminals) this.terminals.delete(t);
  }
}

const overVoltage = rule({ id: 'v', subject: { all: true }, detector: 'voltage-out-of-limits', params: { nominalV: 230, lowPct: 10, highPct: 10 } });
const commLoss = rule({ id: 'comm', subject: { all: true }, detector: 'communication-loss', params: { missedIntervals: 3 } });

function ticks(h: Harness, until: number): string[] {
  const out: string[] = [];
  while (h.clock.now < until) {
    h.clock.now += SEC;
    h.engine.tick();
    out.push(...h.take().map((s) => `${s}@${(h.clock.now - T0) / SEC}`));
  }
  return out;
}

describe('rule engine scoped by placement', () => {
  it('judges meter rules only for meters of terminals placed here', () => {
    const placement = new Placed();
    placement.take('tx1', 1, 't1', 't3');
    const h = harness(station(), [overVoltage], { placement });
    h.engine.write([reading('m1', 'voltage.l1', 260, T0), reading('m2', 'voltage.l1', 260, T0), reading('m3', 'voltage.l1', 260, T0)]);
    expect(h.take().sort()).toEqual(['raise:m1:v', 'raise:m3:v']);
  });

  it('judges area rules only for areas owned here, summing every reading of an owned area whichever node collected it', () => {
    const placement = new Placed();
    // m3's terminal is placed elsewhere (say it straddles two areas), yet m3 is in tx1.
    placement.take('tx1', 1, 't1');
    const overload = rule({ id: 'tx', subject: { all: true }, detector: 'transformer-overload', params: { limitKw: 100, hysteresisPct: 0, minReportingPct: 0 } });
    const h = harness(station(), [overload], { placement });
    h.engine.tick(T0);
    h.engine.write([reading('m1', 'power.active', 60, T0), reading('m3', 'power.active', 60, T0), reading('m2', 'power.active', 500, T0)]);
    h.engine.tick(T0 + SEC);
    expect(h.signals.map((s) => [s.kind, s.subject.id, s.value])).toEqual([['raise', 'tx1', 120]]);
  });

  it('judges silence only for meters placed here, and counts a meter taken over from the taking', () => {
    const placement = new Placed();
    placement.take('tx1', 1, 't1', 't3');
    const h = harness(station(), [commLoss], { placement });
    // 3 × 15 s without data from the first tick, when this node first looked at them; m2 is another node's.
    expect(ticks(h, T0 + 100 * SEC).sort()).toEqual(['raise:m1:comm@46', 'raise:m3:comm@46']);
    placement.take('tx2', 1, 't2');
    h.engine.placementChanged();
    const after = ticks(h, T0 + 200 * SEC);
    // Silent since the start, but judged here only from the tick after the taking: raised at 146 s, not at once.
    expect(after).toEqual(['raise:m2:comm@146']);
    expect(h.signals).toEqual([]);
  });

  it('says a meter taken over has been silent since this node took it', () => {
    const placement = new Placed();
    const h = harness(station(), [commLoss], { placement });
    ticks(h, T0 + 60 * SEC);
    placement.take('tx2', 3, 't2');
    h.engine.placementChanged();
    const raised: string[] = [];
    while (h.clock.now < T0 + 120 * SEC) {
      h.clock.now += SEC;
      h.engine.tick();
      raised.push(...h.signals.splice(0).map((s) => s.explanation));
    }
    expect(raised).toEqual([expect.stringContaining('no reading since this node took it over at 02:01:01Z')]);
  });

  it('stops judging the silence of a meter whose area is given up, and raises nothing for it', () => {
    const placement = new Placed();
    placement.take('tx1', 1, 't1', 't3');
    const h = harness(station(), [commLoss], { placement });
    ticks(h, T0 + 20 * SEC);
    placement.give('tx1', 't1', 't3');
    h.engine.placementChanged();
    expect(ticks(h, T0 + 200 * SEC)).toEqual([]);
  });

  it('raises nothing for a device event of a terminal placed elsewhere', () => {
    const placement = new Placed();
    placement.take('tx1', 1, 't1', 't3');
    const cover = rule({ id: 'cover', subject: { all: true }, detector: 'device-event', params: { codes: ['cover-open'], clearAfterMs: 10 * MIN } });
    const h = harness(station(), [cover], { placement });
    const ev = (m: string | null, t: string): DeviceEvent => ({
      meterId: m === null ? null : meterId(m), terminalId: terminalId(t), code: 'cover-open', ts: T0, receivedAt: T0, source: 'mqtt', detail: null,
    });
    for (const e of [ev('m1', 't1'), ev('m2', 't2'), ev(null, 't1'), ev(null, 't2')]) h.engine.onDeviceEvent(e);
    expect(h.take().sort()).toEqual(['raise:m1:cover', 'raise:t1:cover']);
  });

  it('judges a meter taken again under a new term afresh, not from what it held before', () => {
    const placement = new Placed();
    placement.take('tx1', 1, 't1');
    const h = harness(station(), [overVoltage], { placement });
    h.engine.write([reading('m1', 'voltage.l1', 260, T0)]);
    expect(h.take()).toEqual(['raise:m1:v']);
    // Another node judged m1 meanwhile (and may have cleared its alarm); here it comes back under token 2.
    placement.give('tx1', 't1');
    h.engine.write([reading('m1', 'voltage.l1', 230, T0 + SEC)]);
    placement.take('tx1', 2, 't1');
    h.engine.write([reading('m1', 'voltage.l1', 261, T0 + 2 * SEC)]);
    expect(h.take()).toEqual(['raise:m1:v']);
  });
});
