/**
 * The topology: areas (a tree), terminals and the meters behind them. Persisted through a
 * RegistryStore (embedded SQLite, or PostgreSQL); held in memory as well, because ingest
 * resolves a meter for every reading: every read here is synchronous and answered from memory.
 * Every change is validated here (not only in the API), so seeding and the API obey the same
 * rules; then it is written to the store and awaited, and only then applied to memory and
 * announced, so memory never shows what the store refused. Changes run one at a time, each
 * checked against the result of the one before.
 *
 * Several nodes on one PostgreSQL: each node keeps its own image, and every change a node
 * commits reaches the others within a moment (src/registry/remote.ts): they read the rows back,
 * apply what differs and announce it to their listeners as they would a local change. In that
 * moment a node's checks may pass on an image another node has just outdated; the store's
 * constraints (unique ids, one meter per terminal address, parents and terminals that exist)
 * still refuse what would break it, and such a refusal comes out as a ConflictError that leaves
 * memory as it was. The embedded store has one writer, this process, and nothing to follow.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AreaSeed, MeterSeed, TerminalSeed } from '../config/schema.js';
import {
  ConflictError, NotFoundError, ValidationError, areaId, meterId, terminalId,
  type Area, type AreaId, type Meter, type MeterId, type Terminal, type TerminalId,
} from '../domain/index.js';
import { refusedForGood } from '../storage/refusedRows.js';
import { checkedArea, checkedMeter, checkedTerminal, type ConfiguredNames } from './checks.js';
import { TopologyImage, type MeterVisitor, type Page } from './image.js';
import { RemoteFollower, patch, reload, type CatchUp } from './remote.js';
import { StagedTopology } from './staged.js';
import type { RegistryStore, StoredEndpointPassword } from './store.js';

export type RegistryChange =
  | { readonly kind: 'area'; readonly id: AreaId; readonly op: 'upsert' | 'delete' }
  | { readonly kind: 'terminal'; readonly id: TerminalId; readonly op: 'upsert' | 'delete' }
  | { readonly kind: 'meter'; readonly id: MeterId; readonly op: 'upsert' | 'delete' };

export interface RegistryOptions extends ConfiguredNames {
  readonly now?: () => number;
  /** On a shared store: another node's change could not be read back yet; it is tried again after a backoff. */
  readonly onRemoteError?: (err: unknown) => void;
}

export interface MeterFilter {
  readonly areaId?: string;
  readonly terminalId?: string;
}

export interface RegistrySeed {
  readonly areas: readonly AreaSeed[];
  readonly terminals: readonly TerminalSeed[];
  readonly meters: readonly MeterSeed[];
}

/** A row of a bulk import, with the line it came from, for the rejection that names it. */
export interface ImportRow<S> {
  readonly line: number;
  readonly seed: S;
}

/** One batch of a bulk import: rows of one kind, in file order. */
export type ImportBatch =
  | { readonly kind: 'areas'; readonly rows: readonly ImportRow<AreaSeed>[] }
  | { readonly kind: 'terminals'; readonly rows: readonly ImportRow<TerminalSeed>[] }
  | { readonly kind: 'meters'; readonly rows: readonly ImportRow<MeterSeed>[] };

/** A row the registry's checks refused: its line, the field (a CSV column's name) when one is to blame, and why. */
export interface RowRejection {
  readonly line: number;
  readonly field: string | null;
  readonly code: string;
  readonly message: string;
}

export interface ImportBatchOutcome {
  readonly created: number;
  readonly updated: number;
  /** Rows equal to what is stored: not written, not announced. */
  readonly unchanged: number;
  readonly rejected: readonly RowRejection[];
}

export class Registry {
  private readonly listeners = new Set<(c: RegistryChange) => void>();
  private readonly now: () => number;
  /** The last change queued; the next one starts when it has settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private remote: RemoteFollower | undefined;

  /**
   * Loads everything the store holds. On a shared store it listens first, so a change another
   * node commits while the load runs is caught up right after it; `close()` stops listening.
   */
  static async open(store: RegistryStore, options: RegistryOptions): Promise<Registry> {
    const registry = new Registry(store, new TopologyImage(), options);
    const { shared } = store;
    if (shared !== undefined) {
      registry.remote = await RemoteFollower.start(shared, {
        apply: (work) => registry.exclusive(() => registry.catchUp(work)),
        onError: (err) => options.onRemoteError?.(err),
      });
    }
    try {
      await registry.exclusive(() => reload(registry.image, (into) => store.load(into)));
    } catch (err) {
      await registry.close();
      throw err;
    }
    return registry;
  }

  private constructor(private readonly store: RegistryStore, private readonly image: TopologyImage, private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Stops following other nodes' changes; the store belongs to its opener. */
  async close(): Promise<void> {
    await this.remote?.stop();
    this.remote = undefined;
  }

  onChange(listener: (c: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── areas ────────────────────────────────────────────────────────────────

  listAreas(): Area[] {
    return [...this.image.areas.values()];
  }

  hasArea(id: string): boolean {
    return this.image.areas.has(areaId(id));
  }

  /** Areas in id order after `after`: a binary search and the page, whatever the number of areas. */
  pageAreas(after: string | undefined, limit: number): Page<Area> {
    return this.image.pageAreas(after, limit);
  }

  getArea(id: string): Area {
    const a = this.image.areas.get(areaId(id));
    if (a === undefined) throw new NotFoundError('area', id);
    return a;
  }

  findArea(id: string): Area | undefined {
    return this.image.areas.get(areaId(id));
  }

  /** The area and every area below it. */
  areaSubtree(id: string): Set<AreaId> {
    return this.image.areaSubtree(this.getArea(id).id);
  }

  createArea(input: AreaSeed): Promise<Area> {
    return this.exclusive(async () => {
      if (this.image.areas.has(areaId(input.id))) throw new ConflictError(`area ${JSON.stringify(input.id)} already exists`);
      return this.putArea(input);
    });
  }

  updateArea(id: string, input: Omit<AreaSeed, 'id'>): Promise<Area> {
    return this.exclusive(async () => {
      this.getArea(id);
      return this.putArea({ ...input, id });
    });
  }

  deleteArea(id: string): Promise<void> {
    return this.exclusive(async () => {
      const a = this.getArea(id);
      for (const child of this.image.childAreas(a.id)) throw new ConflictError(`area ${JSON.stringify(id)} still has child area ${JSON.stringify(child.id)}`);
      const meter = this.image.anyMeterIn(a.id);
      if (meter !== undefined) throw new ConflictError(`area ${JSON.stringify(id)} still has meter ${JSON.stringify(meter)}`);
      await this.write(`deleting area ${JSON.stringify(id)}`, () => this.store.deleteArea(a.id));
      this.image.removeArea(a.id);
      this.emit({ kind: 'area', id: a.id, op: 'delete' });
    });
  }

  private async putArea(input: AreaSeed): Promise<Area> {
    const area = checkedArea(this.image, input);
    await this.write(`area ${JSON.stringify(area.id)}`, () => this.store.putArea(area, this.now()));
    this.image.setArea(area);
    this.emit({ kind: 'area', id: area.id, op: 'upsert' });
    return area;
  }

  // ── terminals ────────────────────────────────────────────────────────────

  listTerminals(): Terminal[] {
    return [...this.image.terminals.values()];
  }

  /** Terminals in id order after `after`: a binary search and the page, whatever the number of terminals. */
  pageTerminals(after: string | undefined, limit: number): Page<Terminal> {
    return this.image.pageTerminals(after, limit);
  }

  getTerminal(id: string): Terminal {
    const t = this.image.terminals.get(terminalId(id));
    if (t === undefined) throw new NotFoundError('terminal', id);
    return t;
  }

  findTerminal(id: string): Terminal | undefined {
    return this.image.terminals.get(terminalId(id));
  }

  createTerminal(input: TerminalSeed): Promise<Terminal> {
    return this.exclusive(async () => {
      if (this.image.terminals.has(terminalId(input.id))) throw new ConflictError(`terminal ${JSON.stringify(input.id)} already exists`);
      return this.putTerminal(input);
    });
  }

  updateTerminal(id: string, input: Omit<TerminalSeed, 'id'>): Promise<Terminal> {
    return this.exclusive(async () => {
      this.getTerminal(id);
      return this.putTerminal({ ...input, id });
    });
  }

  deleteTerminal(id: string): Promise<void> {
    return this.exclusive(async () => {
      const t = this.getTerminal(id);
      const meters = this.image.meterCountOn(t.id);
      if (meters > 0) throw new ConflictError(`terminal ${JSON.stringify(id)} still has ${meters} meter(s); delete or move them first`);
      await this.write(`deleting terminal ${JSON.stringify(id)}`, () => this.store.deleteTerminal(t.id));
      this.image.removeTerminal(t.id);
      this.emit({ kind: 'terminal', id: t.id, op: 'delete' });
    });
  }

  private async putTerminal(input: TerminalSeed): Promise<Terminal> {
    const terminal = checkedTerminal(this.image, input, this.options);
    await this.write(`terminal ${JSON.stringify(terminal.id)}`, () => this.store.putTerminal(terminal, this.now()));
    this.image.setTerminal(terminal);
    this.emit({ kind: 'terminal', id: terminal.id, op: 'upsert' });
    return terminal;
  }

  /**
   * LLS passwords left in stored DLMS endpoints by an older station (terminals created
   * through the API kept them in the row); they are not part of the loaded terminals.
   */
  storedEndpointPasswords(): Promise<readonly StoredEndpointPassword[]> {
    return this.store.storedEndpointPasswords();
  }

  /** Removes the password from a stored DLMS endpoint, once it is safe elsewhere. */
  dropStoredEndpointPassword(id: string): Promise<void> {
    return this.exclusive(() => this.store.dropStoredEndpointPassword(terminalId(id)));
  }

  // ── meters ───────────────────────────────────────────────────────────────

  /** Every meter, or those of a terminal, of an area's subtree, or both; each costs the meters it returns, not the fleet. */
  listMeters(filter: MeterFilter = {}): Meter[] {
    return this.image.listMeters(this.imageFilter(filter));
  }

  /**
   * Meters in id order after `after`: unfiltered a binary search and the page, filtered by a
   * terminal or an area the meters of the terminal or of the area's subtree.
   */
  pageMeters(filter: MeterFilter, after: string | undefined, limit: number): Page<Meter> {
    return this.image.pageMeters(this.imageFilter(filter), after, limit);
  }

  get meterCount(): number {
    return this.image.meterCount;
  }

  /**
   * A walk over every meter in slices, without a Meter object each: hands `visit` the id,
   * terminal and area of the meters in the next `count` slots from `from` (0 to begin) and
   * returns where to go on, or -1 at the end. The walk may pause between slices; a meter
   * changed meanwhile may be handed or not, so a reader that must see it follows `onChange`.
   */
  visitMeters(from: number, count: number, visit: MeterVisitor): number {
    return this.image.visitMeters(from, count, visit);
  }

  /** Ids of the meters placed in the area itself, not in its sub-areas: no Meter object per meter. */
  meterIdsOfArea(id: string): Iterable<MeterId> {
    return this.image.meterIdsIn(areaId(id));
  }

  /** Meters of the area and its sub-areas; undefined when the area does not exist. */
  metersOfArea(id: string): Meter[] | undefined {
    return this.hasArea(id) ? this.listMeters({ areaId: id }) : undefined;
  }

  getMeter(id: string): Meter {
    const m = this.image.meter(meterId(id));
    if (m === undefined) throw new NotFoundError('meter', id);
    return m;
  }

  findMeter(id: string): Meter | undefined {
    return this.image.meter(meterId(id));
  }

  /** The meter at `address` on `terminal`: the hot path of ingest. */
  meterAt(terminal: string, address: string): Meter | undefined {
    return this.image.meterAt(terminal, address);
  }

  /** The compact integer key the reading store uses for a meter. */
  meterKey(id: MeterId): number | undefined {
    return this.image.meterKey(id);
  }

  metersOfTerminal(id: string): Meter[] {
    return this.image.metersOfTerminal(terminalId(id));
  }

  createMeter(input: MeterSeed): Promise<Meter> {
    return this.exclusive(async () => {
      if (this.image.hasMeter(meterId(input.id))) throw new ConflictError(`meter ${JSON.stringify(input.id)} already exists`);
      return this.putMeter(input);
    });
  }

  updateMeter(id: string, input: Omit<MeterSeed, 'id'>): Promise<Meter> {
    return this.exclusive(async () => {
      this.getMeter(id);
      return this.putMeter({ ...input, id });
    });
  }

  deleteMeter(id: string): Promise<void> {
    return this.exclusive(async () => {
      const m = this.getMeter(id);
      await this.write(`deleting meter ${JSON.stringify(id)}`, () => this.store.deleteMeter(m.id));
      this.image.removeMeter(m.id);
      this.emit({ kind: 'meter', id: m.id, op: 'delete' });
    });
  }

  private async putMeter(input: MeterSeed): Promise<Meter> {
    const meter = checkedMeter(this.image, input);
    const key = await this.write(`meter ${JSON.stringify(meter.id)}`, () => this.store.putMeter(meter, this.now()));
    this.image.setMeter(meter, key);
    this.emit({ kind: 'meter', id: meter.id, op: 'upsert' });
    return meter;
  }

  // ── seeding ──────────────────────────────────────────────────────────────

  /**
   * Brings the store in line with the configuration's registry section: creates or updates
   * every seeded entry; entries created through the API are left alone. All or nothing: the
   * entries are checked in order against the image with the entries before them staged over
   * it, written in one transaction, and applied to the image once the store has them.
   */
  seed(seed: RegistrySeed): Promise<void> {
    return this.exclusive(async () => {
      if (seed.areas.length + seed.terminals.length + seed.meters.length === 0) return;
      const draft = new StagedTopology(this.image);
      const batch: { areas: Area[]; terminals: Terminal[]; meters: Meter[] } = { areas: [], terminals: [], meters: [] };
      const changes: RegistryChange[] = [];
      // Parents before children, whatever the order in the file.
      const pending = [...seed.areas];
      while (pending.length > 0) {
        const ready = pending.findIndex((a) => a.parentId === undefined || draft.hasArea(areaId(a.parentId)));
        if (ready < 0) throw new ValidationError(`area ${JSON.stringify(pending[0]?.id)} has a parent that is neither configured nor stored`, 'parentId');
        const [input] = pending.splice(ready, 1);
        if (input === undefined) continue;
        const a = checkedArea(draft, input);
        draft.setArea(a);
        batch.areas.push(a);
        changes.push({ kind: 'area', id: a.id, op: 'upsert' });
      }
      for (const input of seed.terminals) {
        const t = checkedTerminal(draft, input, this.options);
        draft.setTerminal(t);
        batch.terminals.push(t);
        changes.push({ kind: 'terminal', id: t.id, op: 'upsert' });
      }
      for (const input of seed.meters) {
        const m = checkedMeter(draft, input);
        draft.setMeter(m);
        batch.meters.push(m);
        changes.push({ kind: 'meter', id: m.id, op: 'upsert' });
      }
      const keys = await this.write('the registry seed', () => this.store.putAll(batch, this.now()));
      for (const a of batch.areas) this.image.setArea(a);
      for (const t of batch.terminals) this.image.setTerminal(t);
      for (const m of batch.meters) this.image.setMeter(m, keys.get(m.id));
      for (const c of changes) this.emit(c);
    });
  }

  // ── bulk import ──────────────────────────────────────────────────────────

  /**
   * One batch of a bulk import (src/registry/import/), under the same lock as every other
   * change, so no API change lands between its checks and its write. Each row is checked as
   * an API change is, against the registry plus the rows accepted above it in the batch (an
   * area may be the parent of a later one; two meters may not take one address); a row the
   * checks refuse is rejected with its line and the rest go on. A row equal to what is stored
   * is counted unchanged and not written, so importing a file again writes nothing. The rest
   * is written with one `putAll` (one transaction), then applied and announced. A dry run
   * checks and counts only.
   *
   * The caller cuts the batches so no row depends on one of the same batch beyond what is
   * checked here: a row for an id given above in the batch, or taking the address of a meter
   * that moves in the batch, starts a new batch (the importer does).
   */
  importBatch(batch: ImportBatch, options: { readonly dryRun?: boolean } = {}): Promise<ImportBatchOutcome> {
    return this.exclusive(async () => {
      const staged = batch.kind === 'areas' ? this.stagedAreas(batch.rows)
        : batch.kind === 'terminals' ? this.stagedTerminals(batch.rows)
          : this.stagedMeters(batch.rows);
      const { areas, terminals, meters } = staged;
      const outcome: ImportBatchOutcome = { created: staged.created, updated: staged.updated, unchanged: staged.unchanged, rejected: staged.rejected };
      if (options.dryRun === true || areas.length + terminals.length + meters.length === 0) return outcome;
      const keys = await this.write('an import batch', () => this.store.putAll({ areas, terminals, meters, newMeters: staged.newMeters }, this.now()));
      for (const a of areas) this.image.setArea(a);
      for (const t of terminals) this.image.setTerminal(t);
      for (const m of meters) this.image.setMeter(m, keys.get(m.id));
      // Unheard (the CLI's registry has no listeners), a change per row would be garbage only.
      if (this.listeners.size === 0) return outcome;
      for (const a of areas) this.emit({ kind: 'area', id: a.id, op: 'upsert' });
      for (const t of terminals) this.emit({ kind: 'terminal', id: t.id, op: 'upsert' });
      for (const m of meters) this.emit({ kind: 'meter', id: m.id, op: 'upsert' });
      return outcome;
    });
  }

  /** The areas of an import batch, staged over the image so a row may be the parent of a later one. */
  private stagedAreas(rows: readonly ImportRow<AreaSeed>[]): Staged {
    const staged = new Staged();
    const draft = new StagedTopology(this.image);
    const seen = new Set<string>();
    for (const row of rows) {
      staged.take(row.line, () => {
        once(seen, row.seed.id, 'area');
        const area = checkedArea(draft, row.seed);
        const before = draft.area(area.id);
        if (!staged.counted(before, isDeepStrictEqual(before, area))) return;
        draft.setArea(area);
        staged.areas.push(area);
      });
    }
    return staged;
  }

  private stagedTerminals(rows: readonly ImportRow<TerminalSeed>[]): Staged {
    const staged = new Staged();
    const seen = new Set<string>();
    for (const row of rows) {
      staged.take(row.line, () => {
        once(seen, row.seed.id, 'terminal');
        const terminal = checkedTerminal(this.image, row.seed, this.options);
        const before = this.findTerminal(terminal.id);
        if (staged.counted(before, isDeepStrictEqual(before, terminal))) staged.terminals.push(terminal);
      });
    }
    return staged;
  }

  private stagedMeters(rows: readonly ImportRow<MeterSeed>[]): Staged {
    const staged = new Staged();
    const seen = new Set<string>();
    /** Addresses taken by rows above in the batch: the image does not show them yet. */
    const taken = new Map<string, MeterId>();
    for (const row of rows) {
      staged.take(row.line, () => {
        once(seen, row.seed.id, 'meter');
        const meter = checkedMeter(this.image, row.seed);
        const at = `${meter.terminalId}\u0000${meter.address}`;
        const holder = taken.get(at);
        if (holder !== undefined) {
          throw new ConflictError(`address ${JSON.stringify(meter.address)} on terminal ${JSON.stringify(meter.terminalId)} is taken by meter ${JSON.stringify(holder)}, given above in the import`);
        }
        const before = this.findMeter(meter.id);
        if (!staged.counted(before, before !== undefined && sameMeter(before, meter))) return;
        taken.set(at, meter.id);
        staged.meters.push(meter);
        staged.newMeters.push(before === undefined);
      });
    }
    return staged;
  }

  /**
   * Another node's changes, read back from the store: queued as a local change is, so the rows
   * read are never older than a local change already applied.
   */
  private async catchUp(work: CatchUp): Promise<void> {
    const { shared } = this.store;
    if (shared === undefined) return;
    if (!work.all) {
      for (const c of patch(this.image, work.ids, await shared.read(work.ids))) this.emit(c);
      return;
    }
    await reload(this.image, (into) => this.store.load(into), (c) => { this.emit(c); });
  }

  /** Runs `change` after every change queued before it has settled, whatever their outcome. */
  private exclusive<T>(change: () => Promise<T>): Promise<T> {
    const run = this.tail.then(change);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * A write the image allowed but the store refused for good (a constraint: another node, or
   * a change made past the station, holds what this node's image does not show) is a conflict
   * for the caller; anything else (the database unreachable, closed) comes out as it is.
   */
  private async write<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!refusedForGood(err)) throw err;
      throw new ConflictError(`the store refused ${what}: it conflicts with a change made outside this station node since it started`, { cause: err });
    }
  }

  private imageFilter(filter: MeterFilter): { readonly areas?: ReadonlySet<AreaId>; readonly terminalId?: TerminalId } {
    return {
      ...(filter.areaId === undefined ? {} : { areas: this.areaSubtree(filter.areaId) }),
      ...(filter.terminalId === undefined ? {} : { terminalId: terminalId(filter.terminalId) }),
    };
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) l(change);
  }
}

/** An import batch being checked: what it will write, and how each row came out. */
class Staged {
  readonly areas: Area[] = [];
  readonly terminals: Terminal[] = [];
  readonly meters: Meter[] = [];
  /** Per meter, whether the image lacks it (TopologyBatch.newMeters). */
  readonly newMeters: boolean[] = [];
  readonly rejected: RowRejection[] = [];
  created = 0;
  updated = 0;
  unchanged = 0;

  /** Runs the checks of one row; what they refuse (a rule of the topology) rejects the row, anything else stops the batch. */
  take(line: number, check: () => void): void {
    try {
      check();
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      this.rejected.push({ line, field: err instanceof ValidationError ? err.field ?? null : null, code: err.code, message: err.message });
    }
  }

  /** Counts a checked row; true when it is to be written (new or changed). */
  counted(before: unknown, same: boolean): boolean {
    if (before === undefined) this.created++;
    else if (same) this.unchanged++;
    else this.updated++;
    return before === undefined || !same;
  }
}

/** A batch names an entry once: the importer starts a new batch for a repeated id. */
function once(seen: Set<string>, id: string, kind: string): void {
  if (seen.has(id)) throw new ConflictError(`${kind} ${JSON.stringify(id)} is given twice in one import batch`);
  seen.add(id);
}

/** Field by field, absent and null alike: the image may keep a meter in another shape than the checks build it. */
function sameMeter(a: Meter, b: Meter): boolean {
  return a.name === b.name && a.terminalId === b.terminalId && a.address === b.address && a.ctRatio === b.ctRatio && a.ptRatio === b.ptRatio
    && (a.nominalVoltage ?? null) === (b.nominalVoltage ?? null) && (a.maxCurrent ?? null) === (b.maxCurrent ?? null)
    && (a.areaId ?? null) === (b.areaId ?? null) && a.protected === b.protected
    && (a.customerRef ?? null) === (b.customerRef ?? null) && (a.accountRef ?? null) === (b.accountRef ?? null);
}
