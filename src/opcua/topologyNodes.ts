/**
 * The topology as OPC UA nodes under Objects/Gridhead:
 *
 *   Gridhead
 *   ├─ Areas
 *   │   └─ <region> ─ <substation> ─ <feeder> ─ <transformer>   (objects, each with AggregateLoad)
 *   │                                               └─ Meters ─ <meter>   (ActivePower, …, methods)
 *   └─ UnassignedMeters ─ <meter>
 *
 * NodeIds are stable strings (`area:<id>`, `meter:<id>`, `meter:<id>.ActivePower`) so a SCADA
 * configuration survives restarts. Registry changes update the tree: a meter change touches its
 * own nodes; an area change builds the tree again (areas change seldom, meters often).
 *
 * The tree is built in steps (`restart`, then `step` until `building` is false), parents before
 * children and the mirrored meters last, so whoever drives it (build.ts) can spread the work of
 * ten thousand areas over many turns of the event loop. What is built so far is served.
 *
 * A meter's nodes weigh some 200 KiB in node-opcua (16 variables with their properties, three
 * methods), so a fleet of a million cannot each have them: at most `maxMeterNodes` meters are
 * mirrored, the first the registry lists (then meters added while there is room). Every area
 * keeps its nodes and its AggregateLoad, which counts all its meters, mirrored or not.
 */
import { DataType, makeEUInformation, standardUnits, StatusCodes, type EUInformation, type Namespace, type UAObject, type UAVariable } from 'node-opcua';
import type { Page } from '../registry/image.js';
import type { RegistryChange } from '../registry/registry.js';
import type { Area, AreaId, Meter, MeterId, Quantity } from '../domain/index.js';

/** The live variables of a meter, by browse name, and the quantity each shows. */
export const METER_VARIABLES: readonly { readonly name: string; readonly quantity: Quantity; readonly unit: EUInformation | undefined }[] = [
  { name: 'ActivePower', quantity: 'power.active', unit: standardUnits.kilowatt },
  { name: 'ActivePowerL1', quantity: 'power.active.l1', unit: standardUnits.kilowatt },
  { name: 'ActivePowerL2', quantity: 'power.active.l2', unit: standardUnits.kilowatt },
  { name: 'ActivePowerL3', quantity: 'power.active.l3', unit: standardUnits.kilowatt },
  { name: 'VoltageL1', quantity: 'voltage.l1', unit: standardUnits.volt },
  { name: 'VoltageL2', quantity: 'voltage.l2', unit: standardUnits.volt },
  { name: 'VoltageL3', quantity: 'voltage.l3', unit: standardUnits.volt },
  { name: 'CurrentL1', quantity: 'current.l1', unit: standardUnits.ampere },
  { name: 'CurrentL2', quantity: 'current.l2', unit: standardUnits.ampere },
  { name: 'CurrentL3', quantity: 'current.l3', unit: standardUnits.ampere },
  { name: 'PowerFactor', quantity: 'power.factor', unit: undefined },
  // UNECE Rec. 20 common code KWH (OPC UA Part 8 §5.6.3 EngineeringUnits).
  { name: 'EnergyImport', quantity: 'energy.active.import', unit: makeEUInformation('KWH', 'kWh', 'kilowatt hour') },
  { name: 'EnergyExport', quantity: 'energy.active.export', unit: makeEUInformation('KWH', 'kWh', 'kilowatt hour') },
];

/** node-opcua makes variables writable unless told otherwise; every value here comes from the station. */
const READ_ONLY = { accessLevel: 'CurrentRead', userAccessLevel: 'CurrentRead' } as const;

/** What the tree is built from: the registry, narrowed. */
export interface TopologySource {
  listAreas(): Area[];
  readonly meterCount: number;
  /** The area's own meters (not its sub-areas'), read from the registry's index: no copy per meter here. */
  meterIdsOfArea(id: string): Iterable<MeterId>;
  pageMeters(filter: Record<string, never>, after: string | undefined, limit: number): Page<Meter>;
  findMeter(id: string): Meter | undefined;
}

export interface MeterNode {
  readonly meter: Meter;
  readonly object: UAObject;
  readonly values: ReadonlyMap<Quantity, UAVariable>;
  readonly relay: UAVariable;
  readonly online: UAVariable;
  /** Source timestamp of the value each variable shows, for newer-wins and staleness. */
  readonly shown: Map<Quantity, { ts: number; stale: boolean }>;
}

export interface AreaNode {
  readonly area: Area;
  readonly object: UAObject;
  readonly meters: UAObject;
  readonly load: UAVariable;
}

/** What `step` spends per area and per mirrored meter: their analog items, the bulk of node-opcua's work. */
const AREA_WEIGHT = 1;
export const METER_WEIGHT = METER_VARIABLES.length;

export interface TopologyHooks {
  /** A meter's nodes were (re)created: add its methods, show its current values. */
  meterAdded(node: MeterNode): void;
  /** Building the tree left `leftOut` meters without nodes, `maxMeterNodes` being mirrored. */
  metersLeftOut?(leftOut: number, maxMeterNodes: number): void;
}

export class TopologyNodes {
  readonly root: UAObject;
  readonly #areasFolder: UAObject;
  readonly #unassigned: UAObject;
  readonly #areas = new Map<AreaId, AreaNode>();
  readonly #meters = new Map<MeterId, MeterNode>();
  /** The area each meter was counted in: the registry has moved it already when its change arrives, this still knows where from. */
  readonly #areaOf = new Map<MeterId, AreaId>();
  readonly #children = new Map<AreaId, AreaId[]>();
  /** The build under way: areas in the order they are added, then the meters to mirror. */
  #plan: { readonly areas: readonly Area[]; next: number; meters: readonly MeterId[] | undefined; nextMeter: number } | undefined;
  #builds = 0;

  constructor(private readonly ns: Namespace, private readonly source: TopologySource, private readonly hooks: TopologyHooks, private readonly maxMeterNodes: number) {
    const objects = ns.addressSpace.rootFolder.objects;
    this.root = ns.addObject({ nodeId: this.#id('gridhead'), browseName: 'Gridhead', organizedBy: objects, eventNotifier: 1, notifierOf: ns.addressSpace.rootFolder.objects.server });
    this.#areasFolder = this.#folder(this.root, 'areas', 'Areas');
    this.#unassigned = this.#folder(this.root, 'unassigned', 'UnassignedMeters');
  }

  /** Drops the tree and plans it anew from the registry as it is now; `step` then builds it. */
  restart(): void {
    this.#clear();
    const areas = this.source.listAreas();
    const byParent = new Map<AreaId | null, Area[]>();
    for (const a of areas) {
      const siblings = byParent.get(a.parentId);
      if (siblings === undefined) byParent.set(a.parentId, [a]);
      else siblings.push(a);
    }
    const known = new Set(areas.map((a) => a.id));
    // Parents before children; an area whose parent vanished hangs at the top.
    const order = areas.filter((a) => a.parentId === null || !known.has(a.parentId));
    // The loop reaches the children pushed behind it: an array's iterator reads its length on each step.
    for (const area of order) {
      const children = byParent.get(area.id) ?? [];
      this.#children.set(area.id, children.map((c) => c.id));
      for (const child of children) order.push(child);
    }
    this.#plan = { areas: order, next: 0, meters: undefined, nextMeter: 0 };
    this.#builds++;
  }

  /**
   * Adds the next areas, then the next mirrored meters, for about `budget` (an area weighs 1, a
   * meter METER_WEIGHT); returns the areas added. The meters are listed once every area is in.
   */
  step(budget: number): AreaId[] {
    const plan = this.#plan;
    const added: AreaId[] = [];
    if (plan === undefined) return added;
    let spent = 0;
    for (; spent < budget && plan.next < plan.areas.length; spent += AREA_WEIGHT) {
      const area = plan.areas[plan.next++];
      if (area === undefined) break;
      const parent = area.parentId === null ? undefined : this.#areas.get(area.parentId);
      this.#addArea(area, parent?.object ?? this.#areasFolder);
      // Area by area from the registry's index, and only the mirrored meters as objects: a
      // million Meter objects made at once were the largest part of the start-up peak.
      for (const id of this.source.meterIdsOfArea(area.id)) this.#areaOf.set(id, area.id);
      added.push(area.id);
    }
    if (plan.next < plan.areas.length) return added;
    plan.meters ??= this.source.pageMeters({}, undefined, this.maxMeterNodes).items.map((m) => m.id);
    for (; spent < budget && plan.nextMeter < plan.meters.length; spent += METER_WEIGHT) {
      const id = plan.meters[plan.nextMeter++];
      const meter = id === undefined || this.#meters.has(id) ? undefined : this.source.findMeter(id);
      if (meter !== undefined && this.#meters.size < this.maxMeterNodes) this.#addMeter(meter);
    }
    if (plan.nextMeter < plan.meters.length) return added;
    this.#plan = undefined;
    const leftOut = this.source.meterCount - this.#meters.size;
    if (leftOut > 0) this.hooks.metersLeftOut?.(leftOut, this.maxMeterNodes);
    return added;
  }

  /** Whether a build is under way (`step` has more to add). */
  get building(): boolean {
    return this.#plan !== undefined;
  }

  /** How far the build is: areas with nodes of the areas planned, meter nodes, and how many builds were begun. */
  progress(): { readonly areas: number; readonly of: number; readonly meterNodes: number; readonly builds: number } {
    return { areas: this.#areas.size, of: this.#plan?.areas.length ?? this.#areas.size, meterNodes: this.#meters.size, builds: this.#builds };
  }

  meter(id: string): MeterNode | undefined {
    return this.#meters.get(id as MeterId);
  }

  area(id: string): AreaNode | undefined {
    return this.#areas.get(id as AreaId);
  }

  meters(): IterableIterator<MeterNode> {
    return this.#meters.values();
  }

  areas(): IterableIterator<AreaNode> {
    return this.#areas.values();
  }

  /** The meters whose own area is `id` (sub-areas' meters are not in it), mirrored or not. */
  members(id: AreaId): Iterable<MeterId> {
    return this.source.meterIdsOfArea(id);
  }

  /** The area a meter counts in; undefined for a meter of no area (or unknown). */
  areaOfMeter(id: MeterId): AreaId | undefined {
    return this.#areaOf.get(id);
  }

  children(id: AreaId): readonly AreaId[] {
    return this.#children.get(id) ?? [];
  }

  /** The area and its ancestors (whose loads a reading of one of its meters changes). */
  areaChain(id: AreaId | null): AreaId[] {
    const out: AreaId[] = [];
    for (let cur = id === null ? undefined : this.#areas.get(id); cur !== undefined && out.length < 16; cur = cur.area.parentId === null ? undefined : this.#areas.get(cur.area.parentId)) {
      out.push(cur.area.id);
    }
    return out;
  }

  /**
   * A meter was created, changed or deleted: its own nodes follow, in O(1). While a build is
   * under way a new meter gets nodes only if the build will not list it anyway and there is
   * room left beside the meters it will add.
   */
  applyMeter(change: Extract<RegistryChange, { kind: 'meter' }>): void {
    const existing = this.#meters.get(change.id);
    const meter = change.op === 'delete' ? undefined : this.source.findMeter(change.id);
    this.#leave(change.id);
    if (meter !== undefined) this.#join(meter);
    // Same place in the tree: keep the nodes (and their subscriptions), refresh the name.
    if (existing !== undefined && meter !== undefined && sameArea(existing.meter, meter)) {
      this.#meters.set(meter.id, { ...existing, meter });
      existing.object.setDisplayName(meter.name);
      return;
    }
    if (existing !== undefined) this.#removeMeter(existing);
    if (meter !== undefined && this.#meters.size + this.#metersToCome() < this.maxMeterNodes) this.#addMeter(meter);
  }

  /** Meters the build under way will still add; the maximum while it has not listed them yet. */
  #metersToCome(): number {
    const plan = this.#plan;
    if (plan === undefined) return 0;
    return plan.meters === undefined ? this.maxMeterNodes : plan.meters.length - plan.nextMeter;
  }

  #clear(): void {
    for (const m of [...this.#meters.values()]) this.#removeMeter(m);
    for (const a of this.#areas.values()) if (a.area.parentId === null || !this.#areas.has(a.area.parentId)) this.ns.addressSpace.deleteNode(a.object);
    this.#areas.clear();
    this.#areaOf.clear();
    this.#children.clear();
    this.#plan = undefined;
  }

  #join(meter: Meter): void {
    if (meter.areaId !== null) this.#areaOf.set(meter.id, meter.areaId);
  }

  #leave(id: MeterId): void {
    this.#areaOf.delete(id);
  }

  #addArea(area: Area, parent: UAObject): AreaNode {
    const base = `area:${area.id}`;
    const object = this.ns.addObject({
      nodeId: this.#id(base), browseName: area.id, displayName: area.name, organizedBy: parent, eventNotifier: 1,
      description: `${area.kind} area${area.transformerKva === null ? '' : ` (${area.transformerKva} kVA)`}`,
    });
    if (parent !== this.#areasFolder) parent.addReference({ referenceType: 'HasNotifier', nodeId: object.nodeId });
    const load = this.ns.addAnalogDataItem({
      nodeId: this.#id(`${base}.AggregateLoad`), browseName: 'AggregateLoad', componentOf: object, dataType: 'Double', ...READ_ONLY,
      engineeringUnits: standardUnits.kilowatt, engineeringUnitsRange: { low: -1e9, high: 1e9 },
      description: 'Sum of the latest active power of the meters of the area and its sub-areas that reported recently',
    });
    load.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.BadWaitingForInitialData);
    const meters = this.#folder(object, `${base}.Meters`, 'Meters');
    const node: AreaNode = { area, object, meters, load };
    this.#areas.set(area.id, node);
    return node;
  }

  #addMeter(meter: Meter): void {
    const area = meter.areaId === null ? undefined : this.#areas.get(meter.areaId);
    const folder = area?.meters ?? this.#unassigned;
    const base = `meter:${meter.id}`;
    const object = this.ns.addObject({
      nodeId: this.#id(base), browseName: meter.id, displayName: meter.name, organizedBy: folder, eventNotifier: 1,
      description: `meter ${meter.address} on terminal ${meter.terminalId}${meter.protected ? ', protected (保电)' : ''}`,
    });
    if (area !== undefined) area.object.addReference({ referenceType: 'HasEventSource', nodeId: object.nodeId });
    const values = new Map<Quantity, UAVariable>();
    for (const v of METER_VARIABLES) {
      const variable = this.ns.addAnalogDataItem({
        nodeId: this.#id(`${base}.${v.name}`), browseName: v.name, componentOf: object, dataType: 'Double', ...READ_ONLY,
        engineeringUnitsRange: { low: -1e9, high: 1e9 }, ...(v.unit === undefined ? {} : { engineeringUnits: v.unit }),
        description: v.quantity,
      });
      variable.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.BadWaitingForInitialData);
      values.set(v.quantity, variable);
    }
    const relay = this.#boolean(object, `${base}.RelayConnected`, 'RelayConnected', 'Relay state as last read back by a command: true connected');
    const online = this.#boolean(object, `${base}.Online`, 'Online', 'Whether the meter\'s terminal answers');
    const node: MeterNode = { meter, object, values, relay, online, shown: new Map() };
    this.#meters.set(meter.id, node);
    this.hooks.meterAdded(node);
  }

  /** A FolderType object organized by any object (node-opcua's addFolder wants a folder parent). */
  #folder(parent: UAObject, nodeId: string, browseName: string): UAObject {
    return this.ns.addObject({ nodeId: this.#id(nodeId), browseName, typeDefinition: 'FolderType', organizedBy: parent });
  }

  #boolean(parent: UAObject, nodeId: string, browseName: string, description: string): UAVariable {
    const v = this.ns.addVariable({ nodeId: this.#id(nodeId), browseName, componentOf: parent, dataType: 'Boolean', description, ...READ_ONLY });
    v.setValueFromSource({ dataType: DataType.Boolean, value: false }, StatusCodes.BadWaitingForInitialData);
    return v;
  }

  #removeMeter(node: MeterNode): void {
    this.#meters.delete(node.meter.id);
    this.ns.addressSpace.deleteNode(node.object);
  }

  #id(s: string): string {
    return `ns=${this.ns.index};s=${s}`;
  }
}

function sameArea(a: Meter, b: Meter): boolean {
  return a.areaId === b.areaId;
}
