/**
 * Live values into the OPC UA variables. Readings arrive as the pipeline's sink (no polling of
 * nodes): each sets its variable with the reading's timestamp as SourceTimestamp, so
 * subscriptions fire on change. Status codes (OPC UA Part 4 §7.34, Part 8 §6.3.2):
 *   never read            → BadWaitingForInitialData
 *   good and fresh        → Good
 *   suspect               → Uncertain
 *   bad                   → Bad
 *   older than staleAfter → UncertainLastUsableValue (set by `sweep`)
 * Area loads (the station's one definition, src/domain/areaLoad.ts) are recomputed for the
 * areas whose meters reported, at most every `areaRefreshMs`: an area's own meters are counted
 * again, and its ancestors add up their children's cached figures, so a refresh costs the
 * reporting areas' members and the tree's fan-out, never a pass over the fleet. Whether a
 * meter has OPC UA nodes of its own (topologyNodes.ts `maxMeterNodes`) makes no difference.
 */
import { DataType, StatusCodes, type StatusCode } from 'node-opcua';
import { addAreaLoadCounts, countPower, emptyAreaLoadCounts, type AreaId, type AreaLoadCounts, type AreaLoadSettings, type LatestValue, type MeterId, type Quality, type Quantity, type Reading } from '../domain/index.js';
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { MeterNode, TopologyNodes } from './topologyNodes.js';

export interface LiveSource {
  of(meterId: MeterId): LatestValue[];
  value(meterId: MeterId, quantity: Quantity): LatestValue | undefined;
}

export interface LiveValuesOptions {
  readonly nodes: TopologyNodes;
  readonly live: LiveSource;
  readonly terminalOnline: (terminalId: string) => boolean | undefined;
  readonly staleAfterMs: number;
  /** AggregateLoad is the station's one area load: its freshness and its meters (supply meters left out). */
  readonly areaLoad: AreaLoadSettings;
  readonly now?: () => number;
}

export class LiveValues {
  readonly #o: LiveValuesOptions;
  readonly #now: () => number;
  /** Areas some of whose own meters reported since the last refresh. */
  readonly #dirtyAreas = new Set<AreaId>();
  /** Each area's own figures and its subtree's, as last refreshed. */
  readonly #own = new Map<AreaId, AreaLoadCounts>();
  readonly #subtree = new Map<AreaId, AreaLoadCounts>();

  constructor(options: LiveValuesOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The pipeline's batch: every reading of a mirrored quantity sets its variable if it is newer. */
  write(batch: readonly Reading[]): void {
    const now = this.#now();
    for (const r of batch) {
      if (r.quantity === 'power.active') {
        const area = this.#o.nodes.areaOfMeter(r.meterId);
        if (area !== undefined) this.#dirtyAreas.add(area);
      }
      const node = this.#o.nodes.meter(r.meterId);
      if (node !== undefined) this.#show(node, r, now);
    }
  }

  /** A meter's nodes are new: show what the live state already knows of it. */
  seed(node: MeterNode): void {
    const now = this.#now();
    for (const v of this.#o.live.of(node.meter.id)) this.#show(node, v, now);
    const online = this.#o.terminalOnline(node.meter.terminalId);
    if (online !== undefined) node.online.setValueFromSource({ dataType: DataType.Boolean, value: online }, StatusCodes.Good, new Date(now));
    if (node.meter.areaId !== null) this.#dirtyAreas.add(node.meter.areaId);
  }

  terminalChanged(terminalId: string, online: boolean, at: number): void {
    for (const node of this.#o.nodes.meters()) {
      if (node.meter.terminalId === terminalId) node.online.setValueFromSource({ dataType: DataType.Boolean, value: online }, StatusCodes.Good, new Date(at));
    }
  }

  /** A command read the relay back (any origin: API, program, OPC UA). */
  controlState(meterId: string, state: DeviceControlState, at: number): void {
    const node = this.#o.nodes.meter(meterId);
    if (node === undefined || state.connected === undefined) return;
    node.relay.setValueFromSource({ dataType: DataType.Boolean, value: state.connected }, StatusCodes.Good, new Date(at));
  }

  /** Recomputes the loads of the areas whose meters reported since the last call, and of their ancestors. */
  refreshAreas(): void {
    if (this.#dirtyAreas.size === 0) return;
    const now = this.#now();
    const { excluded, freshMs } = this.#o.areaLoad;
    const due = new Map<AreaId, number>();
    for (const id of this.#dirtyAreas) {
      const own = emptyAreaLoadCounts();
      for (const m of this.#o.nodes.members(id)) if (!excluded.has(m)) countPower(own, this.#o.live.value(m, 'power.active'), now, freshMs);
      this.#own.set(id, own);
      const chain = this.#o.nodes.areaChain(id);
      // Deepest first, so every child's subtree is current when its parent adds it up.
      chain.forEach((a, i) => { due.set(a, Math.max(due.get(a) ?? 0, chain.length - i)); });
    }
    this.#dirtyAreas.clear();
    for (const [id] of [...due].sort((a, b) => b[1] - a[1])) {
      const subtree = { ...(this.#own.get(id) ?? emptyAreaLoadCounts()) };
      for (const child of this.#o.nodes.children(id)) {
        const c = this.#subtree.get(child);
        if (c !== undefined) addAreaLoadCounts(subtree, c);
      }
      this.#subtree.set(id, subtree);
      const area = this.#o.nodes.area(id);
      if (area === undefined) continue;
      // Part 8 §6.3.2: UncertainSubNormal when fewer than all inputs were good.
      const status = subtree.fresh === 0 ? StatusCodes.BadWaitingForInitialData : subtree.fresh < subtree.meters ? StatusCodes.UncertainSubNormal : StatusCodes.Good;
      area.load.setValueFromSource({ dataType: DataType.Double, value: subtree.loadKw }, status, new Date(now));
    }
  }

  /** Marks values older than staleAfter as UncertainLastUsableValue; every area's load is due again. Returns how many were marked. */
  sweep(): number {
    const now = this.#now();
    let marked = 0;
    for (const node of this.#o.nodes.meters()) {
      for (const [quantity, shown] of node.shown) {
        if (shown.stale || now - shown.ts <= this.#o.staleAfterMs) continue;
        const variable = node.values.get(quantity);
        const dv = variable?.readValue();
        if (variable === undefined || dv === undefined) continue;
        shown.stale = true;
        marked++;
        variable.setValueFromSource(dv.value, StatusCodes.UncertainLastUsableValue, new Date(shown.ts));
      }
    }
    this.areasChanged('all');
    return marked;
  }

  /** Meters joined or left these areas (`all`: the tree was rebuilt): their loads are due at the next refresh. */
  areasChanged(areas: 'all' | readonly (AreaId | undefined)[]): void {
    if (areas === 'all') {
      this.#own.clear();
      this.#subtree.clear();
      for (const area of this.#o.nodes.areas()) this.#dirtyAreas.add(area.area.id);
      return;
    }
    for (const a of areas) if (a !== undefined) this.#dirtyAreas.add(a);
  }

  #show(node: MeterNode, r: Pick<Reading, 'quantity' | 'value' | 'ts' | 'quality'>, now: number): void {
    const variable = node.values.get(r.quantity);
    if (variable === undefined) return;
    const prev = node.shown.get(r.quantity);
    if (prev !== undefined && prev.ts > r.ts) return;
    const stale = now - r.ts > this.#o.staleAfterMs;
    node.shown.set(r.quantity, { ts: r.ts, stale });
    variable.setValueFromSource({ dataType: DataType.Double, value: r.value }, stale ? StatusCodes.UncertainLastUsableValue : statusOf(r.quality), new Date(r.ts));
  }
}

function statusOf(q: Quality): StatusCode {
  if (q === 'good') return StatusCodes.Good;
  return q === 'suspect' ? StatusCodes.Uncertain : StatusCodes.Bad;
}
