/**
 * A batch of changes staged over the image, for the checks of a seed: each entry is checked
 * against the image as the entries before it in the batch leave it, and the image itself is
 * changed only once the store has kept the whole batch. Only what the batch touches is held
 * here, so staging a small seed over a million meters costs the seed, not a copy of the fleet.
 */
import type { Area, AreaId, Meter, MeterId, Terminal, TerminalId } from '../domain/index.js';
import type { TopologyImage, TopologyView } from './image.js';

export class StagedTopology implements TopologyView {
  private readonly areas = new Map<AreaId, Area>();
  private readonly children = new Map<AreaId, Set<AreaId>>();
  private readonly terminals = new Map<TerminalId, Terminal>();
  private readonly meters = new Map<MeterId, Meter>();
  /** Where the staged meters are: terminal → address → meter. */
  private readonly places = new Map<TerminalId, Map<string, Meter>>();

  constructor(private readonly base: TopologyImage) {}

  area(id: AreaId): Area | undefined {
    return this.areas.get(id) ?? this.base.area(id);
  }

  terminal(id: TerminalId): Terminal | undefined {
    return this.terminals.get(id) ?? this.base.terminal(id);
  }

  *childAreas(id: AreaId): Generator<Area> {
    for (const a of this.base.childAreas(id)) if (!this.areas.has(a.id)) yield a;
    for (const child of this.children.get(id) ?? []) {
      const a = this.areas.get(child);
      if (a?.parentId === id) yield a;
    }
  }

  meterAt(terminal: string, address: string): Meter | undefined {
    const staged = this.places.get(terminal as TerminalId)?.get(address);
    if (staged !== undefined) return staged;
    const stored = this.base.meterAt(terminal, address);
    // A stored meter the batch moves is no longer where the image has it.
    return stored === undefined || this.meters.has(stored.id) ? undefined : stored;
  }

  hasMetersOn(id: TerminalId): boolean {
    if ((this.places.get(id)?.size ?? 0) > 0) return true;
    for (const m of this.base.meterIdsOn(id)) if (!this.meters.has(m)) return true;
    return false;
  }

  hasArea(id: AreaId): boolean {
    return this.area(id) !== undefined;
  }

  setArea(a: Area): void {
    this.areas.set(a.id, a);
    if (a.parentId === null) return;
    let siblings = this.children.get(a.parentId);
    if (siblings === undefined) this.children.set(a.parentId, (siblings = new Set()));
    siblings.add(a.id);
  }

  setTerminal(t: Terminal): void {
    this.terminals.set(t.id, t);
  }

  setMeter(m: Meter): void {
    const before = this.meters.get(m.id);
    if (before !== undefined) {
      const place = this.places.get(before.terminalId);
      if (place?.get(before.address)?.id === m.id) place.delete(before.address);
    }
    this.meters.set(m.id, m);
    let place = this.places.get(m.terminalId);
    if (place === undefined) this.places.set(m.terminalId, (place = new Map<string, Meter>()));
    place.set(m.address, m);
  }
}
