/**
 * The topology on PostgreSQL: the embedded store's semantics (src/registry/store.ts) on tables
 * `areas`, `terminals` and `meters`. Every write is a multi-row `unnest` statement, one row or
 * a whole seed alike, so a seed of a large fleet costs a few round trips, not one per entry.
 *
 * Several nodes share the tables and each keeps an image in memory: every change is logged
 * under a sequence number and announced to the others, who read what it touched back
 * (src/registry/postgresChangeLog.ts). Each write names this store in the log, so a node skips
 * its own changes (it applied them when the write returned).
 */
import { randomBytes } from 'node:crypto';
import type { Area, AreaId, Meter, MeterId, Terminal, TerminalId } from '../domain/index.js';
import { meterId, terminalId } from '../domain/index.js';
import type { PostgresDatabase, Queryable, TransactionSql } from '../storage/postgres/connection.js';
import { REGISTRY_LOG_RETENTION_MS, announce, followChangeLog, logAs } from './postgresChangeLog.js';
import {
  METER_COLUMNS, areaOf, endpointOf, keyedMeterOf, meterRowOf, terminalSeedOf,
  type AreaRow, type MeterRow, type RegistryStore, type SharedTopology, type StoredEndpointPassword, type StoredTopology,
  type TerminalRow, type TopologyBatch, type TopologyHintSink, type TopologyIds, type TopologySink,
} from './store.js';

export { REGISTRY_CHANNEL } from './postgresChangeLog.js';

export interface PostgresRegistryStoreOptions {
  /** How long the change log keeps an entry; default REGISTRY_LOG_RETENTION_MS. */
  readonly changeLogRetentionMs?: number;
}

/** Rows per statement of a batch: each statement stays well inside storage.postgres.statementTimeoutMs. */
export const REGISTRY_BATCH_ROWS = 10_000;

const PUT_AREAS = `
  INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at)
  SELECT id, name, kind, parent_id, transformer_kva, $6, $6
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS v(id, name, kind, parent_id, transformer_kva)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id,
    transformer_kva = excluded.transformer_kva, updated_at = excluded.updated_at`;

const PUT_TERMINALS = `
  INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
  SELECT id, name, protocol, enabled, profiles::jsonb, endpoint::jsonb, $7, $7
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::text[]) AS v(id, name, protocol, enabled, profiles, endpoint)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, protocol = excluded.protocol, enabled = excluded.enabled,
    profiles = excluded.profiles, endpoint = excluded.endpoint, updated_at = excluded.updated_at`;

// Existing meters are updated and only new ones inserted: an INSERT … ON CONFLICT would draw
// an identity value for every row, kept or not, and a seed at every start would use the
// integer keys up. The ON CONFLICT stays for a meter another node inserts meanwhile.
const PUT_METERS = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                         $9::text[], $10::bool[], $11::text[], $12::text[])
      AS v(id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, protected, customer_ref, account_ref)
  ), updated AS (
    UPDATE meters m SET name = v.name, terminal_id = v.terminal_id, address = v.address, ct_ratio = v.ct_ratio, pt_ratio = v.pt_ratio,
      nominal_voltage = v.nominal_voltage, max_current = v.max_current, area_id = v.area_id, protected = v.protected,
      customer_ref = v.customer_ref, account_ref = v.account_ref, updated_at = $13
    FROM v WHERE m.id = v.id
    RETURNING m.id, m.key
  ), inserted AS (
    INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, protected,
      customer_ref, account_ref, created_at, updated_at)
    SELECT v.*, $13, $13 FROM v WHERE NOT EXISTS (SELECT 1 FROM meters e WHERE e.id = v.id)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, terminal_id = excluded.terminal_id, address = excluded.address,
      ct_ratio = excluded.ct_ratio, pt_ratio = excluded.pt_ratio, nominal_voltage = excluded.nominal_voltage,
      max_current = excluded.max_current, area_id = excluded.area_id, protected = excluded.protected,
      customer_ref = excluded.customer_ref, account_ref = excluded.account_ref, updated_at = excluded.updated_at
    RETURNING id, key
  )
  SELECT id, key FROM updated UNION ALL SELECT id, key FROM inserted`;

export class PostgresRegistryStore implements RegistryStore {
  /** Names this store in its notifications, so its own are told from other nodes'. */
  private readonly origin = randomBytes(8).toString('hex');
  readonly shared: SharedTopology = {
    follow: (sink) => this.follow(sink),
    read: (ids) => this.read(ids),
  };

  private readonly retentionMs: number;

  constructor(private readonly db: PostgresDatabase, options: PostgresRegistryStoreOptions = {}) {
    this.retentionMs = options.changeLogRetentionMs ?? REGISTRY_LOG_RETENTION_MS;
  }

  /**
   * One snapshot of the three tables, so a meter never arrives without the terminal another
   * node added with it; meters in batches of REGISTRY_BATCH_ROWS by key, so no more than a
   * batch of rows is ever in memory.
   */
  async load(into: TopologySink): Promise<void> {
    await this.db.run((sql) => sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
      for (const r of await tx<AreaRow[]>`SELECT id, name, kind, parent_id, transformer_kva FROM areas`) into.area(areaOf(r));
      for (const r of await tx<TerminalRow[]>`SELECT id, name, protocol, enabled, profiles, endpoint FROM terminals`) into.terminal(terminalSeedOf(r));
      for (let last = 0; ;) {
        const rows = await tx.unsafe<MeterRow[]>(`SELECT ${METER_COLUMNS} FROM meters WHERE key > $1 ORDER BY key LIMIT ${REGISTRY_BATCH_ROWS}`, [last], { prepare: true });
        for (const r of rows) into.meter(meterRowOf(r));
        if (rows.length < REGISTRY_BATCH_ROWS) break;
        last = rows[rows.length - 1]?.key ?? last;
      }
    }));
  }

  async putArea(area: Area, at: number): Promise<void> {
    await this.write((tx) => putAreas(tx, [area], at));
  }

  async deleteArea(id: AreaId): Promise<void> {
    await this.write((tx) => tx`DELETE FROM areas WHERE id = ${id}`);
  }

  async putTerminal(terminal: Terminal, at: number): Promise<void> {
    await this.write((tx) => putTerminals(tx, [terminal], at));
  }

  async deleteTerminal(id: TerminalId): Promise<void> {
    await this.write((tx) => tx`DELETE FROM terminals WHERE id = ${id}`);
  }

  async putMeter(meter: Meter, at: number): Promise<number> {
    const keys = await this.write((tx) => putMeters(tx, [meter], at));
    const key = keys.get(meter.id);
    if (key === undefined) throw new Error(`the meters table returned no key for meter ${JSON.stringify(meter.id)}`);
    return key;
  }

  async deleteMeter(id: MeterId): Promise<void> {
    await this.write((tx) => tx`DELETE FROM meters WHERE id = ${id}`);
  }

  /**
   * One transaction, in statements of REGISTRY_BATCH_ROWS rows. The registry checked the batch
   * step by step; set-wise, a meter may take an address another leaves in a later statement,
   * so the address constraint is checked at commit.
   */
  async putAll(batch: TopologyBatch, at: number): Promise<ReadonlyMap<MeterId, number>> {
    return this.write(async (tx) => {
      await tx`SET CONSTRAINTS meters_terminal_address DEFERRED`;
      for (const chunk of chunks(lastValues(batch.areas))) await putAreas(tx, chunk, at);
      for (const chunk of chunks(lastValues(batch.terminals))) await putTerminals(tx, chunk, at);
      const keys = new Map<MeterId, number>();
      for (const chunk of chunks(lastValues(batch.meters))) {
        for (const [id, key] of await putMeters(tx, chunk, at)) keys.set(id, key);
      }
      return keys;
    });
  }

  async storedEndpointPasswords(): Promise<readonly StoredEndpointPassword[]> {
    const rows = await this.db.run((sql) => sql<{ id: string; password: string }[]>`
      SELECT id, endpoint #>> '{dlms,password}' AS password FROM terminals
      WHERE protocol = 'dlms' AND jsonb_typeof(endpoint #> '{dlms,password}') = 'string'`);
    return rows.map((r) => ({ terminalId: terminalId(r.id), password: r.password }));
  }

  async dropStoredEndpointPassword(id: TerminalId): Promise<void> {
    await this.db.run((sql) => sql`UPDATE terminals SET endpoint = endpoint #- '{dlms,password}' WHERE id = ${id}`);
  }

  /** Follows the change log for other nodes' changes. */
  private follow(sink: TopologyHintSink): Promise<{ stop(): Promise<void> }> {
    return followChangeLog(this.db, this.origin, sink);
  }

  /** The rows of `ids`, from one snapshot. */
  private read(ids: TopologyIds): Promise<StoredTopology> {
    return this.db.run((sql) => sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
      const among = (list: readonly string[]) => tx`WHERE id = ANY(${list as string[]}::text[])`;
      const areas = await tx<AreaRow[]>`SELECT id, name, kind, parent_id, transformer_kva FROM areas ${among(ids.areas)}`;
      const terminals = await tx<TerminalRow[]>`SELECT id, name, protocol, enabled, profiles, endpoint FROM terminals ${among(ids.terminals)}`;
      const meters = await tx<MeterRow[]>`SELECT ${tx.unsafe(METER_COLUMNS)} FROM meters ${among(ids.meters)} ORDER BY key`;
      return { areas: areas.map(areaOf), terminals: terminals.map(terminalSeedOf), meters: meters.map(keyedMeterOf) };
    }));
  }

  /** `work`, logged as this store's, and its announcement, in one transaction. */
  private write<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      await logAs(tx, this.origin);
      const result = await work(tx);
      await announce(tx, this.origin, this.retentionMs);
      return result;
    }));
  }
}

async function putAreas(q: Queryable, areas: readonly Area[], at: number): Promise<void> {
  await q.unsafe(PUT_AREAS, [
    areas.map((a) => a.id), areas.map((a) => a.name), areas.map((a) => a.kind), areas.map((a) => a.parentId), areas.map((a) => a.transformerKva), at,
  ], { prepare: true });
}

async function putTerminals(q: Queryable, terminals: readonly Terminal[], at: number): Promise<void> {
  await q.unsafe(PUT_TERMINALS, [
    terminals.map((t) => t.id), terminals.map((t) => t.name), terminals.map((t) => t.protocol), terminals.map((t) => t.enabled),
    terminals.map((t) => JSON.stringify(t.profiles)), terminals.map((t) => JSON.stringify(endpointOf(t))), at,
  ], { prepare: true });
}

async function putMeters(q: Queryable, meters: readonly Meter[], at: number): Promise<Map<MeterId, number>> {
  const rows = await q.unsafe<{ id: string; key: number }[]>(PUT_METERS, [
    meters.map((m) => m.id), meters.map((m) => m.name), meters.map((m) => m.terminalId), meters.map((m) => m.address),
    meters.map((m) => m.ctRatio), meters.map((m) => m.ptRatio), meters.map((m) => m.nominalVoltage ?? null), meters.map((m) => m.maxCurrent ?? null),
    meters.map((m) => m.areaId), meters.map((m) => m.protected), meters.map((m) => m.customerRef), meters.map((m) => m.accountRef), at,
  ], { prepare: true });
  return new Map(rows.map((r) => [meterId(r.id), r.key]));
}

/**
 * One row per id, at the place of its first occurrence (a parent area stays before its
 * children) with its last value: one statement cannot write a row twice.
 */
function lastValues<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...new Map(items.map((x) => [x.id, x])).values()];
}

function* chunks<T>(items: readonly T[]): Generator<readonly T[]> {
  for (let i = 0; i < items.length; i += REGISTRY_BATCH_ROWS) yield items.slice(i, i + REGISTRY_BATCH_ROWS);
}
