/**
 * The nameplate refresh: reads what each meter says it is, on first sight (a new meter is due
 * at once) and then every `deviceRegister.refreshHours`, through the collection lanes' background
 * priority (scheduler.sessionInBackground), so reads and commands always go first.
 *
 * Bounded: at most `concurrency` reads in flight on this node and never two on one terminal (a
 * terminal takes few background slices at once: COLLECT_BUSY). Spread: due meters are taken
 * oldest due first at that pace, so a fleet seen for the first time is read over the time its
 * reads take, and comes due again just as spread `refreshHours` later. Only meters of terminals
 * this node polls are read here (their lanes are here); other nodes read theirs.
 *
 * A read that fails is tried again after `retryMinutes` and reported once (the caller throttles
 * per meter); a terminal whose protocol offers no nameplate (its session has no readNameplate,
 * or it only pushes) is not asked again before `refreshHours`.
 */
import type { DeviceNameplate, TerminalSession } from '../../protocols/adapter.js';
import type { DeviceRegisterService } from './service.js';
import type { DeviceRegisterStore, DueCursor } from './store.js';

/** Due meters read from the store per page of a sweep. */
const DUE_PAGE = 200;

/** What the refresh asks of the collection lanes (CollectionScheduler). */
export interface BackgroundLanes {
  sessionInBackground<T>(terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<T>;
}

/** Where a meter is read: its terminal, its address there, the terminal's protocol. */
export interface MeterWhereabouts {
  readonly terminalId: string;
  readonly address: string;
  readonly protocol: string;
}

export interface NameplateRefreshOptions {
  readonly store: Pick<DeviceRegisterStore, 'due' | 'deferCheck'>;
  readonly register: Pick<DeviceRegisterService, 'noteNameplate'>;
  readonly lanes: BackgroundLanes;
  /** The meter in the registry now; undefined when it is gone (its removal is on its way). */
  readonly meter: (meterId: string) => MeterWhereabouts | undefined;
  /** Whether this node polls the terminal now (src/cluster/placement.ts). */
  readonly owns: (terminalId: string) => boolean;
  readonly concurrency: number;
  readonly refreshMs: number;
  readonly retryMs: number;
  readonly now: () => number;
  /** A meter's read failed: report it (throttled per meter by the caller). */
  readonly onFailure: (meterId: string, terminalId: string, err: unknown) => void;
}

/** Collection errors that say the read cannot happen here or now, not that the meter failed. */
const NOT_HERE = new Set(['COLLECT_PLACED_ELSEWHERE', 'COLLECT_STOPPED', 'COLLECT_UNKNOWN_TERMINAL']);
const NOT_NOW = 'COLLECT_BUSY';
const PUSH_ONLY = 'COLLECT_NOT_POLLABLE';

export class NameplateRefresh {
  readonly #o: NameplateRefreshOptions;
  /** Protocols whose sessions offer no readNameplate: their meters are not asked again before refreshHours. */
  readonly #withoutNameplate = new Set<string>();
  readonly #busyTerminals = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #sweeping: Promise<void> | undefined;

  constructor(options: NameplateRefreshOptions) {
    this.#o = options;
  }

  /** Reads in flight now. */
  get inFlight(): number {
    return this.#running.size;
  }

  /**
   * Reads every due meter this node polls, `concurrency` at a time; resolves once they are all
   * read (or deferred). A sweep asked for while one runs joins it.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => { this.#sweeping = undefined; });
    return this.#sweeping;
  }

  /** Aborts the reads in flight and waits for the sweep to end; a later sweep starts afresh. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#sweeping;
    this.#abort = new AbortController();
  }

  async #sweep(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const waitingForTerminal = await this.#walk(signal);
      // Meters behind a terminal already being read: once one read ends, walk again for them.
      if (!waitingForTerminal || this.#running.size === 0) break;
      await Promise.race(this.#running);
    }
    await Promise.all(this.#running);
  }

  /** One walk over the due meters; true when some were left for a terminal busy with another read. */
  async #walk(signal: AbortSignal): Promise<boolean> {
    const { store, concurrency } = this.#o;
    let after: DueCursor | undefined;
    let waiting = false;
    while (!signal.aborted) {
      const page = await store.due('meter', this.#o.now(), after, DUE_PAGE);
      for (const due of page) {
        after = { checkAt: due.checkAt, id: due.id };
        const meter = this.#o.meter(due.id);
        if (meter === undefined || !this.#o.owns(meter.terminalId)) continue;
        // Waiting for a slot first: a read ending meanwhile may have freed the terminal or found the protocol without nameplates.
        while (this.#running.size >= concurrency) await Promise.race(this.#running);
        // eslint cannot see that the awaits above may end with the signal aborted.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (signal.aborted) break;
        if (this.#withoutNameplate.has(meter.protocol)) {
          await store.deferCheck('meter', due.id, this.#o.now() + this.#o.refreshMs);
          continue;
        }
        if (this.#busyTerminals.has(meter.terminalId)) {
          waiting = true;
          continue;
        }
        const read = this.#read(due.id, meter, signal).catch((err: unknown) => { this.#o.onFailure(due.id, meter.terminalId, err); }).finally(() => {
          this.#running.delete(read);
          this.#busyTerminals.delete(meter.terminalId);
        });
        this.#busyTerminals.add(meter.terminalId);
        this.#running.add(read);
      }
      if (page.length < DUE_PAGE) break;
    }
    return waiting;
  }

  async #read(meterId: string, meter: MeterWhereabouts, signal: AbortSignal): Promise<void> {
    const { store, register, refreshMs, retryMs } = this.#o;
    let nameplate: DeviceNameplate | undefined;
    try {
      nameplate = await this.#o.lanes.sessionInBackground(meter.terminalId, `nameplate of ${meterId}`,
        (session, s) => (session.readNameplate === undefined ? Promise.resolve(undefined) : session.readNameplate(meter.address, s)), { signal });
    } catch (err) {
      if (signal.aborted) return;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && NOT_HERE.has(code)) return;
      await store.deferCheck('meter', meterId, this.#o.now() + (code === PUSH_ONLY ? refreshMs : retryMs));
      if (code !== NOT_NOW && code !== PUSH_ONLY) this.#o.onFailure(meterId, meter.terminalId, err);
      return;
    }
    if (nameplate === undefined) {
      this.#withoutNameplate.add(meter.protocol);
      await store.deferCheck('meter', meterId, this.#o.now() + refreshMs);
      return;
    }
    await register.noteNameplate('meter', meterId, nameplate, this.#o.now(), 'read');
  }
}
