/**
 * The `database` component of /health on PostgreSQL: whether the server answers, how much
 * of the pool is in use, the last error a store met, and the reading store's partition
 * window. The server unreachable is `degraded`, never `down`: the station keeps collecting
 * into its bounded pipeline and writes everything once the server is back.
 *
 * /health is public, so the probe is shared: one `SELECT 1` at a time, its answer reused for
 * `PROBE_REUSE_MS`, and a probe that gets no answer within `storage.postgres.healthTimeoutMs`
 * counts as unreachable. Every message comes from the typed errors, which carry the URL only
 * redacted.
 */
import type { ComponentStatus } from '../../observe/health.js';
import type { PostgresDatabase } from './connection.js';
import { databaseError } from './errors.js';
import { DAY_MS, type PartitionWindow } from './partitions.js';

/** A probe's answer serves every /health request of the next second. */
const PROBE_REUSE_MS = 1_000;

export interface DatabaseHealthOptions {
  /** `storage.postgres.healthTimeoutMs`. */
  readonly timeoutMs: number;
  readonly now?: () => number;
}

interface Probe {
  readonly at: number;
  readonly reachable: boolean;
  readonly error: string | undefined;
}

export class DatabaseHealth {
  private lastError: { readonly message: string; readonly at: number } | undefined;
  private partitions: { window(): PartitionWindow } | undefined;
  private probed: Probe | undefined;
  private probing: Promise<Probe> | undefined;
  private readonly now: () => number;

  constructor(private readonly db: PostgresDatabase, private readonly options: DatabaseHealthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The reading store whose partition window the report shows. */
  watchPartitions(store: { window(): PartitionWindow }): void {
    this.partitions = store;
  }

  /** A store's failure, kept (redacted, as every `DatabaseError` is) for the report. */
  noteError(err: unknown): void {
    this.lastError = { message: databaseError(err, this.db.target).message, at: this.now() };
  }

  async status(): Promise<ComponentStatus> {
    const probe = await this.probe();
    const pool = this.db.sql.stats;
    const window = this.partitions?.window();
    const info: Record<string, string | number | boolean | null> = {
      driver: 'postgres',
      database: this.db.target.redacted,
      reachable: probe.reachable,
      poolInUse: pool.connections - pool.idle,
      poolOpen: pool.connections,
      poolWaiting: pool.waiting,
      lastError: this.lastError?.message ?? null,
      lastErrorAt: this.lastError === undefined ? null : new Date(this.lastError.at).toISOString(),
      ...(window === undefined ? {} : { partitionsFrom: dayIso(window.firstDay), partitionsTo: dayIso(window.lastDay) }),
    };
    return probe.reachable
      ? { status: 'ok', detail: `PostgreSQL at ${this.db.target.redacted}`, info }
      : { status: 'degraded', detail: `PostgreSQL at ${this.db.target.redacted} does not answer (readings wait in the ingest pipeline): ${probe.error ?? 'no answer'}`, info };
  }

  private probe(): Promise<Probe> {
    const fresh = this.probed;
    if (fresh !== undefined && this.now() - fresh.at < PROBE_REUSE_MS) return Promise.resolve(fresh);
    this.probing ??= this.ask().then((p) => {
      this.probed = p;
      this.probing = undefined;
      return p;
    });
    return this.probing;
  }

  private async ask(): Promise<Probe> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Probe>((resolve) => {
      timer = setTimeout(() => { resolve({ at: this.now(), reachable: false, error: `no answer within ${this.options.timeoutMs} ms (storage.postgres.healthTimeoutMs)` }); }, this.options.timeoutMs);
    });
    const query = this.db.run((sql) => sql`SELECT 1`).then(
      (): Probe => ({ at: this.now(), reachable: true, error: undefined }),
      (err: unknown): Probe => {
        this.noteError(err);
        return { at: this.now(), reachable: false, error: databaseError(err, this.db.target).message };
      },
    );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function dayIso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
