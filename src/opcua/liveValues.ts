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
 * areas whose meters reported, at most every `areaRefreshMs`.
 */
import { DataType, StatusCodes, type StatusCode } from 'node-opcua';
import type { AreaId, AreaLoadSettings, LatestValue, Meter, MeterId, Quality, Reading } from '../domain/index.js';
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { MeterNode, TopologyNodes } from './topologyNodes.js';

export interface LiveSource {
  of(meterId: MeterId): LatestValue[];
  areaLoad(meters: readonly Pick<Meter, 'id' | 'areaId'>[], now: number, freshMs: number): { readonly powerActiveKw: number; readonly meters: number; readonly reporting: number };
}

export interface LiveValuesOptions {
  readonly nodes: TopologyNodes;
  readonly live: LiveSource;
  readonly metersOfArea: (areaId: string) => readonly Meter[];
  readonly terminalOnline: (terminalId: string) => boolean | undefined;
  readonly staleAfterMs: number;
  /** AggregateLoad is the station's one area load: its freshness and its meters (supply meters left out). */
  readonly areaLoad: AreaLoadSettings;
  readonly now?: () => number;
}

export class LiveValues {
  readonly #o: LiveValuesOptions;
  readonly #now: () => number;
  readonly #dirtyAreas = new Set<AreaId>();

  constructor(options: LiveValuesOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The pipeline's batch: every reading of a mirrored quantity sets its variable if it is newer. */
  write(batch: readonly Reading[]): void {
    const now = this.#now();
    for (const r of batch) {
      const node = this.#o.nodes.meter(r.meterId);
      if (node === undefined) continue;
      this.#show(node, r, now);
      if (r.quantity === 'power.active') for (const a of this.#o.nodes.areaChain(node.meter.areaId)) this.#dirtyAreas.add(a);
    }
  }

  /** A meter's nodes are new: show what the live state already knows of it. */
  seed(node: MeterNode): void {
    const now = this.#now();
    for (const v of this.#o.live.of(node.meter.id)) this.#show(node, v, now);
    const online = this.#o.terminalOnline(node.meter.terminalId);
    if (online !== undefined) node.online.setValueFromSource({ dataType: DataType.Boolean, value: online }, StatusCodes.Good, new Date(now));
    for (const a of this.#o.nodes.areaChain(node.meter.areaId)) this.#dirtyAreas.add(a);
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

  /** Recomputes the loads of the areas whose meters reported since the last call. */
  refreshAreas(): void {
    if (this.#dirtyAreas.size === 0) return;
    const now = this.#now();
    for (const id of this.#dirtyAreas) {
      const area = this.#o.nodes.area(id);
      if (area === undefined) continue;
      const { excluded, freshMs } = this.#o.areaLoad;
      const load = this.#o.live.areaLoad(this.#o.metersOfArea(id).filter((m) => !excluded.has(m.id)), now, freshMs);
      // Part 8 §6.3.2: UncertainSubNormal when fewer than all inputs were good.
      const status = load.reporting === 0 ? StatusCodes.BadWaitingForInitialData : load.reporting < load.meters ? StatusCodes.UncertainSubNormal : StatusCodes.Good;
      area.load.setValueFromSource({ dataType: DataType.Double, value: load.powerActiveKw }, status, new Date(now));
    }
    this.#dirtyAreas.clear();
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
    for (const area of this.#o.nodes.areas()) this.#dirtyAreas.add(area.area.id);
    return marked;
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
