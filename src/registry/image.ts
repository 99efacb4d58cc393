/**
 * The registry's in-memory image of the topology, with the indexes the hot paths need (a
 * meter by terminal address for every reading, a terminal's meters for every collection
 * cycle). Plain maps and no rules: the registry checks a local change before it reaches the
 * image, and another node's change was checked by that node and kept by the store.
 */
import type { Area, AreaId, Meter, MeterId, Terminal, TerminalId } from '../domain/index.js';

export class TopologyImage {
  readonly areas = new Map<AreaId, Area>();
  readonly terminals = new Map<TerminalId, Terminal>();
  readonly meters = new Map<MeterId, Meter>();
  readonly meterKeys = new Map<MeterId, number>();
  private readonly byAddress = new Map<string, Meter>();
  /** Meters per terminal, in insertion order. */
  private readonly byTerminal = new Map<TerminalId, Map<MeterId, Meter>>();

  /** A copy to stage a batch of changes on; the maps are new, the entries (immutable) shared. */
  clone(): TopologyImage {
    const c = new TopologyImage();
    for (const [id, a] of this.areas) c.areas.set(id, a);
    for (const [id, t] of this.terminals) c.terminals.set(id, t);
    for (const [id, m] of this.meters) c.meters.set(id, m);
    for (const [id, k] of this.meterKeys) c.meterKeys.set(id, k);
    for (const [address, m] of this.byAddress) c.byAddress.set(address, m);
    for (const [id, group] of this.byTerminal) c.byTerminal.set(id, new Map(group));
    return c;
  }

  meterAt(terminal: string, address: string): Meter | undefined {
    return this.byAddress.get(addressKey(terminal, address));
  }

  metersOfTerminal(id: TerminalId): Meter[] {
    const meters = this.byTerminal.get(id);
    return meters === undefined ? [] : [...meters.values()];
  }

  hasMetersOn(id: TerminalId): boolean {
    return this.byTerminal.has(id);
  }

  setMeter(m: Meter, key: number | undefined): void {
    const previous = this.meters.get(m.id);
    if (previous !== undefined) this.unindex(previous);
    this.meters.set(m.id, m);
    if (key !== undefined) this.meterKeys.set(m.id, key);
    this.byAddress.set(addressKey(m.terminalId, m.address), m);
    let group = this.byTerminal.get(m.terminalId);
    if (group === undefined) {
      group = new Map();
      this.byTerminal.set(m.terminalId, group);
    }
    group.set(m.id, m);
  }

  removeMeter(id: MeterId): void {
    const m = this.meters.get(id);
    if (m === undefined) return;
    this.meters.delete(id);
    this.meterKeys.delete(id);
    this.unindex(m);
  }

  private unindex(m: Meter): void {
    // Another meter may hold the address already: changes another node made arrive together, in any order.
    const key = addressKey(m.terminalId, m.address);
    if (this.byAddress.get(key)?.id === m.id) this.byAddress.delete(key);
    const group = this.byTerminal.get(m.terminalId);
    group?.delete(m.id);
    if (group?.size === 0) this.byTerminal.delete(m.terminalId);
  }
}

function addressKey(terminal: string, address: string): string {
  return `${terminal}\u0000${address}`;
}
