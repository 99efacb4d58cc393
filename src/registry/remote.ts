/**
 * Changes other nodes commit to a shared registry store, brought into this node's image.
 *
 * Hints arrive a page of the store's change log at a time (src/registry/postgresChangeLog.ts);
 * they are gathered, and one catch-up at a time reads the rows they name back from the store and
 * applies them. A burst is coalesced: hints that arrive while a catch-up runs, or within
 * REMOTE_COALESCE_MS of the first, wait and go together into the next one. Bounded: past
 * REMOTE_PENDING_MAX_IDS ids waiting, a hint's promise holds the store until a catch-up has
 * taken them, so a batch of any size is caught up as the ids it names, a page at a time. A catch-up
 * that fails (the database unreachable) keeps its hints and is tried again after a backoff
 * doubling from REMOTE_RETRY_MIN_MS to REMOTE_RETRY_MAX_MS, however many failures: the image
 * must catch up once the database is back, and nothing else would bring it.
 *
 * Applying is the load's path, without the checks a local change passes: what the store holds
 * was checked by the node that wrote it and kept by the store's constraints. Only what differs
 * from the image is applied and announced, so a node's listeners hear real changes only,
 * whether a hint named an entry this node already has as stored or a reload read everything.
 */
import { isDeepStrictEqual } from 'node:util';
import { areaId, meterId, terminalId, type AreaId, type MeterId, type TerminalId } from '../domain/index.js';
import { reconnectDelayMs } from '../storage/postgres/connection.js';
import { toTerminal } from './checks.js';
import type { TopologyImage } from './image.js';
import type { RegistryChange } from './registry.js';
import type { SharedTopology, StoredTopology, TopologyIds, TopologySink } from './store.js';

/** How long the first hint of a burst waits for the others. */
export const REMOTE_COALESCE_MS = 20;
/** Ids waiting for a catch-up, beyond which the store waits before handing over more. */
export const REMOTE_PENDING_MAX_IDS = 10_000;
export const REMOTE_RETRY_MIN_MS = 100;
export const REMOTE_RETRY_MAX_MS = 10_000;

/** What a catch-up reads back: the entries named, or everything. */
export type CatchUp = { readonly all: true } | { readonly all: false; readonly ids: TopologyIds };

export interface RemoteFollowerOptions {
  /** Reads and applies a catch-up; called one at a time. */
  readonly apply: (work: CatchUp) => Promise<void>;
  /** A catch-up failed; it is tried again after a backoff. */
  readonly onError: (err: unknown) => void;
}

/** Gathers hints from a shared store and runs the catch-ups; `stop()` ends both. */
export class RemoteFollower {
  private readonly areas = new Set<string>();
  private readonly terminals = new Set<string>();
  private readonly meters = new Set<string>();
  private all = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  private listening: { stop(): Promise<void> } | undefined;
  /** Hints held until the ids waiting fall to REMOTE_PENDING_MAX_IDS. */
  private readonly held: (() => void)[] = [];

  /** Starts listening; hints heard from now on are caught up once `apply` can run. */
  static async start(shared: SharedTopology, options: RemoteFollowerOptions): Promise<RemoteFollower> {
    const follower = new RemoteFollower(options);
    follower.listening = await shared.follow({
      changed: (ids) => follower.changed(ids),
      changedAll: () => { follower.changedAll(); },
      failed: (err) => { options.onError(err); },
    });
    return follower;
  }

  private constructor(private readonly options: RemoteFollowerOptions) {}

  /** Stops listening and waits for a catch-up in progress; what is still pending is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.release();
    await this.listening?.stop();
    await this.running;
  }

  private changed(ids: TopologyIds): Promise<void> {
    if (!this.all) {
      for (const id of ids.areas) this.areas.add(id);
      for (const id of ids.terminals) this.terminals.add(id);
      for (const id of ids.meters) this.meters.add(id);
    }
    this.schedule(REMOTE_COALESCE_MS);
    if (this.stopped || this.waiting() <= REMOTE_PENDING_MAX_IDS) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }

  private waiting(): number {
    return this.areas.size + this.terminals.size + this.meters.size;
  }

  private release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  private changedAll(): void {
    this.all = true;
    this.areas.clear();
    this.terminals.clear();
    this.meters.clear();
    this.schedule(REMOTE_COALESCE_MS);
  }

  /** At most one timer and one catch-up at a time; a catch-up that ends looks for more work itself. */
  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined || this.running !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.catchUp().finally(() => {
        this.running = undefined;
        if (this.pending()) this.schedule(this.failures === 0 ? 0 : reconnectDelayMs(this.failures, REMOTE_RETRY_MIN_MS, REMOTE_RETRY_MAX_MS));
      });
    }, delayMs);
    this.timer.unref();
  }

  private pending(): boolean {
    return this.all || this.waiting() > 0;
  }

  private async catchUp(): Promise<void> {
    const work: CatchUp = this.all
      ? { all: true }
      : { all: false, ids: { areas: [...this.areas], terminals: [...this.terminals], meters: [...this.meters] } };
    this.all = false;
    this.areas.clear();
    this.terminals.clear();
    this.meters.clear();
    // Taken: the store may read on while these are applied, so one page is read as another is applied.
    this.release();
    try {
      await this.options.apply(work);
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      // Put back, so the retry covers it as well as whatever arrived meanwhile.
      if (work.all) this.changedAll();
      else void this.changed(work.ids);
      this.options.onError(err);
    }
  }
}

/**
 * Brings `image` to everything the store holds, in place: the load's path, unchecked, the same
 * at start (into an empty image) and for a reload of everything another node changed. Only
 * what differs is applied, and each change is announced to `announce` as soon as it is
 * applied (upserts parents first as they are read, then deletes children first), so what the
 * image shows and what was announced agree at every step, also when the load fails half-way.
 * No second image is built: besides the rows of one batch, a reload holds the ids it has
 * seen, to find what is gone.
 */
export async function reload(image: TopologyImage, load: (into: TopologySink) => Promise<void>, announce?: (c: RegistryChange) => void): Promise<void> {
  const note = (c: RegistryChange) => { announce?.(c); };
  // Nothing can be gone from an empty image: the start of a node with a million meters keeps no set of their ids.
  const hadMeters = image.meterCount > 0;
  const areas = new Set<AreaId>();
  const terminals = new Set<TerminalId>();
  const meters = new Set<MeterId>();
  await load({
    area: (a) => {
      areas.add(a.id);
      if (isDeepStrictEqual(image.area(a.id), a)) return;
      image.setArea(a);
      note({ kind: 'area', id: a.id, op: 'upsert' });
    },
    terminal: (seed) => {
      const t = toTerminal(seed);
      terminals.add(t.id);
      if (isDeepStrictEqual(image.terminal(t.id), t)) return;
      image.setTerminal(t);
      note({ kind: 'terminal', id: t.id, op: 'upsert' });
    },
    meter: (row) => {
      const id = meterId(row[1]);
      if (hadMeters) meters.add(id);
      if (image.putMeterRow(row)) note({ kind: 'meter', id, op: 'upsert' });
    },
  });
  if (hadMeters) {
    for (const id of [...image.meterIds()].filter((m) => !meters.has(m))) {
      image.removeMeter(id);
      note({ kind: 'meter', id, op: 'delete' });
    }
  }
  for (const id of [...image.terminals.keys()].filter((t) => !terminals.has(t))) {
    image.removeTerminal(id);
    note({ kind: 'terminal', id, op: 'delete' });
  }
  for (const id of [...image.areas.keys()].filter((a) => !areas.has(a))) {
    image.removeArea(id);
    note({ kind: 'area', id, op: 'delete' });
  }
  image.settle();
}

/**
 * Brings the entries `ids` names in `image` to what `stored` holds of them (an entry named
 * and not stored is gone); returns what changed, in the order of `reload`.
 */
export function patch(image: TopologyImage, ids: TopologyIds, stored: StoredTopology): RegistryChange[] {
  const upserts: RegistryChange[] = [];
  const deletes: RegistryChange[] = [];
  const areas = new Set<AreaId>();
  for (const a of stored.areas) {
    areas.add(a.id);
    if (isDeepStrictEqual(image.area(a.id), a)) continue;
    image.setArea(a);
    upserts.push({ kind: 'area', id: a.id, op: 'upsert' });
  }
  const terminals = new Set<TerminalId>();
  for (const seed of stored.terminals) {
    const t = toTerminal(seed);
    terminals.add(t.id);
    if (isDeepStrictEqual(image.terminal(t.id), t)) continue;
    image.setTerminal(t);
    upserts.push({ kind: 'terminal', id: t.id, op: 'upsert' });
  }
  const meters = new Set<MeterId>();
  for (const { meter, key } of stored.meters) {
    meters.add(meter.id);
    if (image.setMeter(meter, key)) upserts.push({ kind: 'meter', id: meter.id, op: 'upsert' });
  }
  for (const id of ids.meters.map(meterId)) {
    if (meters.has(id) || !image.removeMeter(id)) continue;
    deletes.push({ kind: 'meter', id, op: 'delete' });
  }
  for (const id of ids.terminals.map(terminalId)) {
    if (terminals.has(id) || !image.removeTerminal(id)) continue;
    deletes.push({ kind: 'terminal', id, op: 'delete' });
  }
  for (const id of ids.areas.map(areaId)) {
    if (areas.has(id) || !image.removeArea(id)) continue;
    deletes.push({ kind: 'area', id, op: 'delete' });
  }
  return [...upserts, ...deletes];
}
