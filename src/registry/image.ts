/**
 * The registry's in-memory image of the topology, with the indexes the hot paths need (a
 * meter by terminal address for every reading, a terminal's meters for every collection
 * cycle, an area's meters for load control, id order for pages). No rules: the registry
 * checks a local change before it reaches the image, and another node's change was checked
 * by that node and kept by the store.
 *
 * Sized for a million meters: a meter is a slot in columns (typed arrays for numbers, arrays
 * only for the strings that really differ per meter), found by one map from its id; its
 * terminal and area are the groups it belongs to (src/registry/slots.ts). A Meter object is
 * made on each read and belongs to the reader: nothing holds on to one, and no caller relies
 * on getting the same object twice. Areas and terminals, a hundred thousand at most, stay objects.
 */
import type { Area, AreaId, Meter, MeterId, Terminal, TerminalId } from '../domain/index.js';
import { SlotGroups, SortedIds, grown, pageOf } from './slots.js';

/** What the checks of a change read (src/registry/checks.ts): the image, or a batch staged over it. */
export interface TopologyView {
  area(id: AreaId): Area | undefined;
  terminal(id: TerminalId): Terminal | undefined;
  /** The areas whose parent is `id`. */
  childAreas(id: AreaId): Iterable<Area>;
  meterAt(terminal: string, address: string): Meter | undefined;
  hasMetersOn(id: TerminalId): boolean;
}

/** A meter as its store row holds it, in the order of the stores' SELECT: loaded without an object per meter. */
export type StoredMeterRow = readonly [
  key: number, id: string, name: string, terminalId: string, address: string, ctRatio: number, ptRatio: number,
  nominalVoltage: number | null, maxCurrent: number | null, areaId: string | null, isProtected: boolean | number,
  customerRef: string | null, accountRef: string | null,
];

/** One meter as a walk over the slots hands it: no Meter object made. */
export type MeterVisitor = (id: MeterId, terminal: TerminalId, area: AreaId | null) => void;

/** One page of ids in ascending order: `next` is the last id when more follow, else null. */
export interface Page<T> { items: T[]; next: string | null }

/** Terminals with more meters than this find one by address through a map; fewer are scanned. */
const ADDRESS_SCAN_MAX = 32;
/** A filter matching more than this share of the fleet walks the id order instead of sorting its matches. */
const WIDE_FILTER_SHARE = 1 / 16;

export class TopologyImage implements TopologyView {
  private readonly areaMap = new Map<AreaId, Area>();
  private readonly children = new Map<AreaId, Set<AreaId>>();
  private readonly areaOrder = new SortedIds<AreaId>();
  private readonly terminalMap = new Map<TerminalId, Terminal>();
  private readonly terminalOrder = new SortedIds<TerminalId>();

  private readonly slotOf = new Map<MeterId, number>();
  private readonly freeSlots: number[] = [];
  private ids: (MeterId | undefined)[] = [];
  /** Null: the name is the id, as it is unless one was given. */
  private names: (string | null)[] = [];
  /** Null: the address is the number in `addressNumbers`. */
  private addresses: (string | null)[] = [];
  private addressNumbers = new Int32Array(0);
  private customerRefs: (string | null)[] = [];
  private accountRefs: (string | null)[] = [];
  private ctRatios = new Float64Array(0);
  private ptRatios = new Float64Array(0);
  /** NaN: absent. */
  private nominalVoltages = new Float64Array(0);
  private maxCurrents = new Float64Array(0);
  /** NaN: not known yet (a staged meter before the store gave it one). */
  private keys = new Float64Array(0);
  private protectedFlags = new Uint8Array(0);
  private readonly byTerminal = new SlotGroups<TerminalId>();
  private readonly byArea = new SlotGroups<AreaId>();
  /** Address → slot of the terminals (by group number) past ADDRESS_SCAN_MAX meters. */
  private readonly addressMaps = new Map<number, Map<string, number>>();
  private readonly meterOrder = new SortedIds<MeterId>();

  // ── areas ────────────────────────────────────────────────────────────────

  get areas(): ReadonlyMap<AreaId, Area> {
    return this.areaMap;
  }

  area(id: AreaId): Area | undefined {
    return this.areaMap.get(id);
  }

  *childAreas(id: AreaId): Generator<Area> {
    for (const child of this.children.get(id) ?? []) {
      const a = this.areaMap.get(child);
      if (a !== undefined) yield a;
    }
  }

  /** The area and every area below it (the area need not exist). */
  areaSubtree(root: AreaId): Set<AreaId> {
    const out = new Set<AreaId>([root]);
    for (const id of out) for (const child of this.children.get(id) ?? []) out.add(child);
    return out;
  }

  setArea(a: Area): void {
    const previous = this.areaMap.get(a.id);
    if (previous === undefined) this.areaOrder.add(a.id);
    else this.unparent(previous);
    this.areaMap.set(a.id, a);
    if (a.parentId !== null) {
      let siblings = this.children.get(a.parentId);
      if (siblings === undefined) this.children.set(a.parentId, (siblings = new Set()));
      siblings.add(a.id);
    }
  }

  removeArea(id: AreaId): boolean {
    const a = this.areaMap.get(id);
    if (a === undefined) return false;
    this.unparent(a);
    this.areaMap.delete(id);
    this.areaOrder.remove(id);
    return true;
  }

  pageAreas(after: string | undefined, limit: number): Page<Area> {
    return this.pageBy(this.areaOrder.after(after, limit), (id) => this.areaMap.get(id));
  }

  // ── terminals ────────────────────────────────────────────────────────────

  get terminals(): ReadonlyMap<TerminalId, Terminal> {
    return this.terminalMap;
  }

  terminal(id: TerminalId): Terminal | undefined {
    return this.terminalMap.get(id);
  }

  setTerminal(t: Terminal): void {
    if (!this.terminalMap.has(t.id)) this.terminalOrder.add(t.id);
    this.terminalMap.set(t.id, t);
  }

  removeTerminal(id: TerminalId): boolean {
    if (!this.terminalMap.delete(id)) return false;
    this.terminalOrder.remove(id);
    return true;
  }

  pageTerminals(after: string | undefined, limit: number): Page<Terminal> {
    return this.pageBy(this.terminalOrder.after(after, limit), (id) => this.terminalMap.get(id));
  }

  // ── meters: reads ────────────────────────────────────────────────────────

  get meterCount(): number {
    return this.slotOf.size;
  }

  hasMeter(id: MeterId): boolean {
    return this.slotOf.has(id);
  }

  meter(id: MeterId): Meter | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.meterIn(slot);
  }

  meterKey(id: MeterId): number | undefined {
    const slot = this.slotOf.get(id);
    const key = slot === undefined ? Number.NaN : this.keys[slot] ?? Number.NaN;
    return Number.isNaN(key) ? undefined : key;
  }

  meterAt(terminal: string, address: string): Meter | undefined {
    const group = this.byTerminal.numberOf(terminal as TerminalId);
    if (group < 0) return undefined;
    const map = this.addressMaps.get(group);
    let slot: number;
    if (map === undefined) {
      const n = addressNumber(address);
      slot = this.byTerminal.find(group, (s) => this.addressIs(s, address, n));
    } else {
      slot = map.get(address) ?? -1;
      if (slot >= 0 && this.byTerminal.ownerNumberOf(slot) !== group) slot = -1;
    }
    return slot < 0 ? undefined : this.meterIn(slot);
  }

  /** The terminal's meters, in the order they came to it. */
  metersOfTerminal(id: TerminalId): Meter[] {
    return [...this.byTerminal.slotsOf(id)].map((s) => this.meterIn(s));
  }

  hasMetersOn(id: TerminalId): boolean {
    return this.meterCountOn(id) > 0;
  }

  meterCountOn(id: TerminalId): number {
    return this.byTerminal.size(id);
  }

  /** Ids of the terminal's meters. */
  *meterIdsOn(id: TerminalId): Generator<MeterId> {
    for (const s of this.byTerminal.slotsOf(id)) yield this.idIn(s);
  }

  /** Ids of the meters placed in the area itself (not below it). */
  *meterIdsIn(id: AreaId): Generator<MeterId> {
    for (const s of this.byArea.slotsOf(id)) yield this.idIn(s);
  }

  /** The first meter placed in the area itself (not below it), if any. */
  anyMeterIn(id: AreaId): MeterId | undefined {
    for (const s of this.byArea.slotsOf(id)) return this.ids[s];
    return undefined;
  }

  /** Every meter, or those of a terminal, or of the areas given (a subtree), or both filters at once. */
  listMeters(filter: { readonly areas?: ReadonlySet<AreaId>; readonly terminalId?: TerminalId }): Meter[] {
    const out: Meter[] = [];
    for (const s of this.candidateSlots(filter)) if (this.matches(s, filter)) out.push(this.meterIn(s));
    return out;
  }

  /**
   * A page in id order after `after`. Unfiltered: a binary search and the page. Filtered by a
   * terminal, or by areas holding a small share of the fleet: their meters only, sorted. A
   * wide area filter walks the id order, skipping the few meters outside it.
   */
  pageMeters(filter: { readonly areas?: ReadonlySet<AreaId>; readonly terminalId?: TerminalId }, after: string | undefined, limit: number): Page<Meter> {
    const meter = (id: MeterId) => this.meter(id);
    if (filter.areas === undefined && filter.terminalId === undefined) return this.pageBy(this.meterOrder.after(after, limit), meter);
    const narrow = filter.terminalId !== undefined || this.sizeOfAreas(filter.areas ?? new Set()) <= this.slotOf.size * WIDE_FILTER_SHARE;
    if (narrow) {
      const ids: MeterId[] = [];
      for (const s of this.candidateSlots(filter)) if (this.matches(s, filter)) ids.push(this.idIn(s));
      return this.pageBy(pageOf(ids, after, limit), meter);
    }
    const ids: MeterId[] = [];
    let more = false;
    for (const id of this.meterOrder.from(after)) {
      if (!this.matches(this.slotOf.get(id) ?? -1, filter)) continue;
      if (ids.length === limit) {
        more = true;
        break;
      }
      ids.push(id);
    }
    return this.pageBy({ ids, more }, meter);
  }

  // ── meters: changes ──────────────────────────────────────────────────────

  /**
   * Puts the meter in the image; `key` undefined keeps the key it has (a staged meter before
   * the store gave it one). Returns whether anything changed.
   */
  setMeter(m: Meter, key: number | undefined): boolean {
    return this.putMeterRow([
      key ?? Number.NaN, m.id, m.name, m.terminalId, m.address, m.ctRatio, m.ptRatio, m.nominalVoltage ?? null, m.maxCurrent ?? null,
      m.areaId, m.protected, m.customerRef, m.accountRef,
    ]);
  }

  /** `setMeter` for a stored row (a NaN key keeps the key the meter has); returns whether anything changed. */
  putMeterRow(row: StoredMeterRow): boolean {
    const [key, rawId, name, rawTerminal, address, ct, pt, nv, mc, rawArea, prot, customerRef, accountRef] = row;
    const id = rawId as MeterId;
    const terminal = rawTerminal as TerminalId;
    const area = rawArea as AreaId | null;
    let slot = this.slotOf.get(id);
    if (slot !== undefined && this.rowMatches(slot, row, key)) return false;
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.ids.length;
      this.reserve(slot + 1);
      this.ids[slot] = id;
      this.slotOf.set(id, slot);
      this.meterOrder.add(id);
      this.keys[slot] = Number.NaN;
    }
    const n = addressNumber(address);
    if (this.byTerminal.ownerOf(slot) !== terminal || !this.addressIs(slot, address, n)) {
      this.forgetAddress(slot);
      this.addressNumbers[slot] = n;
      this.addresses[slot] = n < 0 ? address : null;
      if (this.byTerminal.ownerOf(slot) !== terminal) this.byTerminal.join(slot, terminal);
      this.rememberAddress(slot, address);
    }
    this.names[slot] = name === id ? null : name;
    this.ctRatios[slot] = ct;
    this.ptRatios[slot] = pt;
    this.nominalVoltages[slot] = nv ?? Number.NaN;
    this.maxCurrents[slot] = mc ?? Number.NaN;
    if (!Number.isNaN(key)) this.keys[slot] = key;
    this.protectedFlags[slot] = prot === true || prot === 1 ? 1 : 0;
    this.customerRefs[slot] = customerRef;
    this.accountRefs[slot] = accountRef;
    if (area === null) this.byArea.leave(slot);
    else if (this.byArea.ownerOf(slot) !== area) this.byArea.join(slot, area);
    return true;
  }

  removeMeter(id: MeterId): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.forgetAddress(slot);
    this.byTerminal.leave(slot);
    this.byArea.leave(slot);
    this.slotOf.delete(id);
    this.meterOrder.remove(id);
    this.ids[slot] = undefined;
    this.names[slot] = null;
    this.addresses[slot] = null;
    this.customerRefs[slot] = null;
    this.accountRefs[slot] = null;
    this.freeSlots.push(slot);
    return true;
  }

  /** Ids of every meter, in slot order; no change may come while they are walked. */
  *meterIds(): Generator<MeterId> {
    for (const id of this.ids) if (id !== undefined) yield id;
  }

  /**
   * Hands `visit` the meters in slots `from` to `from + count - 1`; returns the slot to go on
   * from, or -1 past the last. A meter added or removed between two calls may be handed or not.
   */
  visitMeters(from: number, count: number, visit: MeterVisitor): number {
    const end = Math.min(this.ids.length, from + count);
    for (let slot = Math.max(0, from); slot < end; slot++) {
      const id = this.ids[slot];
      if (id !== undefined) visit(id, this.byTerminal.ownerOf(slot) ?? ('' as TerminalId), this.byArea.ownerOf(slot) ?? null);
    }
    return end < this.ids.length ? end : -1;
  }

  /** Sorts what a bulk load left unsorted, so the first page after it costs what any page does. */
  settle(): void {
    this.areaOrder.settle();
    this.terminalOrder.settle();
    this.meterOrder.settle();
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  private idIn(slot: number): MeterId {
    return this.ids[slot] ?? ('' as MeterId);
  }

  private meterIn(slot: number): Meter {
    const id = this.idIn(slot);
    const nv = this.nominalVoltages[slot] ?? Number.NaN;
    const mc = this.maxCurrents[slot] ?? Number.NaN;
    return {
      id,
      name: this.names[slot] ?? id,
      terminalId: this.byTerminal.ownerOf(slot) ?? ('' as TerminalId),
      address: this.addressOf(slot),
      ctRatio: this.ctRatios[slot] ?? 1,
      ptRatio: this.ptRatios[slot] ?? 1,
      ...(Number.isNaN(nv) ? {} : { nominalVoltage: nv }),
      ...(Number.isNaN(mc) ? {} : { maxCurrent: mc }),
      areaId: this.byArea.ownerOf(slot) ?? null,
      protected: this.protectedFlags[slot] === 1,
      customerRef: this.customerRefs[slot] ?? null,
      accountRef: this.accountRefs[slot] ?? null,
    };
  }

  private rowMatches(slot: number, row: StoredMeterRow, key: number): boolean {
    const [, id, name, terminal, address, ct, pt, nv, mc, area, prot, customerRef, accountRef] = row;
    return (this.names[slot] ?? id) === name
      && this.byTerminal.ownerOf(slot) === terminal
      && this.addressIs(slot, address, addressNumber(address))
      && this.ctRatios[slot] === ct && this.ptRatios[slot] === pt
      && sameOptional(this.nominalVoltages[slot], nv) && sameOptional(this.maxCurrents[slot], mc)
      && (this.byArea.ownerOf(slot) ?? null) === area
      && this.protectedFlags[slot] === (prot === true || prot === 1 ? 1 : 0)
      && this.customerRefs[slot] === customerRef && this.accountRefs[slot] === accountRef
      && (Number.isNaN(key) || this.keys[slot] === key);
  }

  private addressOf(slot: number): string {
    const n = this.addressNumbers[slot] ?? -1;
    return n < 0 ? this.addresses[slot] ?? '' : String(n);
  }

  /** Whether the meter in `slot` is at `address` (`n`: its number, or -1). */
  private addressIs(slot: number, address: string, n: number): boolean {
    const own = this.addressNumbers[slot] ?? -1;
    return own >= 0 ? own === n : this.addresses[slot] === address;
  }

  private rememberAddress(slot: number, address: string): void {
    const group = this.byTerminal.ownerNumberOf(slot);
    const size = this.byTerminal.sizeOfNumber(group);
    // A number given again to another terminal starts without the map of the one before.
    if (size === 1) {
      this.addressMaps.delete(group);
      return;
    }
    let map = this.addressMaps.get(group);
    if (map === undefined && size > ADDRESS_SCAN_MAX) {
      map = new Map();
      for (const s of this.byTerminal.slotsOfNumber(group)) map.set(this.addressOf(s), s);
      this.addressMaps.set(group, map);
    }
    map?.set(address, slot);
  }

  private forgetAddress(slot: number): void {
    const group = this.byTerminal.ownerNumberOf(slot);
    const map = this.addressMaps.get(group);
    if (map === undefined) return;
    // Another meter may hold the address already: changes another node made arrive together, in any order.
    const address = this.addressOf(slot);
    if (map.get(address) === slot) map.delete(address);
    if (map.size === 0) this.addressMaps.delete(group);
  }

  private candidateSlots(filter: { readonly areas?: ReadonlySet<AreaId>; readonly terminalId?: TerminalId }): Iterable<number> {
    if (filter.terminalId !== undefined) return this.byTerminal.slotsOf(filter.terminalId);
    const { areas } = filter;
    if (areas !== undefined) return (function* (groups: SlotGroups<AreaId>) { for (const a of areas) yield* groups.slotsOf(a); })(this.byArea);
    return this.slotOf.values();
  }

  private matches(slot: number, filter: { readonly areas?: ReadonlySet<AreaId>; readonly terminalId?: TerminalId }): boolean {
    if (slot < 0) return false;
    if (filter.terminalId !== undefined && this.byTerminal.ownerOf(slot) !== filter.terminalId) return false;
    if (filter.areas === undefined) return true;
    const area = this.byArea.ownerOf(slot);
    return area !== undefined && filter.areas.has(area);
  }

  private sizeOfAreas(areas: ReadonlySet<AreaId>): number {
    let n = 0;
    for (const a of areas) n += this.byArea.size(a);
    return n;
  }

  private pageBy<Id extends string, T>(p: { readonly ids: readonly Id[]; readonly more: boolean }, get: (id: Id) => T | undefined): Page<T> {
    const items: T[] = [];
    for (const id of p.ids) {
      const x = get(id);
      if (x !== undefined) items.push(x);
    }
    return { items, next: p.more ? p.ids[p.ids.length - 1] ?? null : null };
  }

  private unparent(a: Area): void {
    if (a.parentId === null) return;
    const siblings = this.children.get(a.parentId);
    siblings?.delete(a.id);
    if (siblings?.size === 0) this.children.delete(a.parentId);
  }

  private reserve(capacity: number): void {
    if (capacity <= this.keys.length) return;
    this.addressNumbers = grown(this.addressNumbers, capacity, -1);
    this.ctRatios = grown(this.ctRatios, capacity, 1);
    this.ptRatios = grown(this.ptRatios, capacity, 1);
    this.nominalVoltages = grown(this.nominalVoltages, capacity, Number.NaN);
    this.maxCurrents = grown(this.maxCurrents, capacity, Number.NaN);
    this.keys = grown(this.keys, capacity, Number.NaN);
    this.protectedFlags = grown(this.protectedFlags, capacity, 0);
    this.byTerminal.reserve(this.keys.length);
    this.byArea.reserve(this.keys.length);
  }
}

/** The address as a number when it is one written plainly (most are: unit ids, server addresses), else -1. */
function addressNumber(address: string): number {
  const length = address.length;
  if (length === 0 || length > 9 || (length > 1 && address.charCodeAt(0) === 0x30)) return -1;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = address.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

function sameOptional(own: number | undefined, stored: number | null): boolean {
  return stored === null ? Number.isNaN(own) : own === stored;
}
