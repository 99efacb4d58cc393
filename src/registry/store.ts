/**
 * Where the topology is persisted: the port the registry writes through, and its embedded
 * implementation (tables `areas`, `terminals`, `meters` of the embedded migrations; PostgreSQL
 * in src/registry/postgresStore.ts). The registry validates every change against its own
 * image first; the store only keeps what it is given, and refuses what its constraints forbid
 * (a meter at an address another node took, a parent another node deleted).
 */
import type { Statement } from 'better-sqlite3';
import type { TerminalSeed } from '../config/schema.js';
import { areaId, meterId, terminalId, type Area, type AreaId, type Meter, type MeterId, type Terminal, type TerminalId } from '../domain/index.js';
import { settled, type Db } from '../storage/db.js';
import { withoutPassword } from './checks.js';
import type { StoredMeterRow } from './image.js';

export interface RegistryStore {
  /**
   * Everything stored, from one snapshot, handed to `into` entry by entry (every area, then
   * every terminal, then every meter): a million meters are never a million rows in memory at once.
   */
  load(into: TopologySink): Promise<void>;
  putArea(area: Area, at: number): Promise<void>;
  deleteArea(id: AreaId): Promise<void>;
  putTerminal(terminal: Terminal, at: number): Promise<void>;
  deleteTerminal(id: TerminalId): Promise<void>;
  /** Inserts or updates the meter; returns its key, given at its first insert and kept by every update. */
  putMeter(meter: Meter, at: number): Promise<number>;
  deleteMeter(id: MeterId): Promise<void>;
  /** All of it in one transaction, or nothing; returns the key of each meter. */
  putAll(batch: TopologyBatch, at: number): Promise<ReadonlyMap<MeterId, number>>;
  /**
   * LLS passwords an older station left in stored DLMS endpoints (terminals created through
   * the API kept them in the row). They are never part of `load()`'s terminals.
   */
  storedEndpointPasswords(): Promise<readonly StoredEndpointPassword[]>;
  /** Removes the password from a stored DLMS endpoint, once it is safe elsewhere. */
  dropStoredEndpointPassword(id: TerminalId): Promise<void>;
  /** Present on a store several nodes share (PostgreSQL); absent on one only this process writes. */
  readonly shared?: SharedTopology;
}

/**
 * What other nodes commit to a shared store. A hint names what a transaction touched, not
 * what it wrote: the receiver reads the rows back, since the table is the truth and a later
 * change may already have overtaken the one hinted.
 */
export interface SharedTopology {
  /** Calls `sink` for every change another node commits; resolves once listening. */
  follow(sink: TopologyHintSink): Promise<{ stop(): Promise<void> }>;
  /** The stored rows of these entries, from one snapshot; an entry missing from the answer is gone. */
  read(ids: TopologyIds): Promise<StoredTopology>;
}

export interface TopologyHintSink {
  /** Another node committed a change to these entries; resolves once there is room for more: the promise is the backpressure. */
  changed(ids: TopologyIds): Promise<void>;
  /** What changed can no longer be told (the store's record of changes was pruned past this node's place): read everything. */
  changedAll(): void;
  /** Reading what changed failed (the database unreachable); the store tries again after a backoff. */
  failed(err: unknown): void;
}

export interface TopologyIds {
  readonly areas: readonly string[];
  readonly terminals: readonly string[];
  readonly meters: readonly string[];
}

/** Where a load puts what it reads. */
export interface TopologySink {
  area(a: Area): void;
  /** As configured, so the registry checks a stored terminal as it checks a new one; no endpoint password. */
  terminal(t: TerminalSeed): void;
  meter(row: StoredMeterRow): void;
}

/** The columns of a meter row, in the order of StoredMeterRow. */
export const METER_COLUMNS = `key, id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, protected,
  customer_ref, account_ref`;

export interface StoredTopology {
  readonly areas: readonly Area[];
  /** As configured, so the registry checks a stored terminal as it checks a new one; no endpoint password. */
  readonly terminals: readonly TerminalSeed[];
  readonly meters: readonly KeyedMeter[];
}

export interface KeyedMeter {
  readonly meter: Meter;
  /** The compact integer the reading stores use for the meter. */
  readonly key: number;
}

/**
 * Changes written at once, in the order the registry checked them one after the other (so a
 * parent area comes before its children); an entry given twice takes its last value.
 */
export interface TopologyBatch {
  readonly areas: readonly Area[];
  readonly terminals: readonly Terminal[];
  readonly meters: readonly Meter[];
  /**
   * Per meter, true when the registry's image does not hold it. A store only this process
   * writes inserts such a meter without looking for its row first; a shared store may hold rows
   * another node wrote, and goes by its table.
   */
  readonly newMeters?: readonly boolean[];
}

export interface StoredEndpointPassword {
  readonly terminalId: TerminalId;
  readonly password: string;
}

export class SqliteRegistryStore implements RegistryStore {
  readonly #putArea: Statement<[AreaParams]>;
  readonly #deleteArea: Statement<[string]>;
  readonly #putTerminal: Statement<[TerminalParams]>;
  readonly #deleteTerminal: Statement<[string]>;
  readonly #putMeter: (meter: Meter, at: number) => number;
  readonly #deleteMeter: Statement<[string]>;
  readonly #putAll: (batch: TopologyBatch, at: number) => Map<MeterId, number>;

  constructor(private readonly db: Db) {
    this.#putArea = db.prepare(`
      INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at)
      VALUES (@id, @name, @kind, @parentId, @transformerKva, @t, @t)
      ON CONFLICT(id) DO UPDATE SET name = @name, kind = @kind, parent_id = @parentId,
        transformer_kva = @transformerKva, updated_at = @t`);
    this.#deleteArea = db.prepare('DELETE FROM areas WHERE id = ?');
    this.#putTerminal = db.prepare(`
      INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
      VALUES (@id, @name, @protocol, @enabled, @profiles, @endpoint, @t, @t)
      ON CONFLICT(id) DO UPDATE SET name = @name, protocol = @protocol, enabled = @enabled,
        profiles = @profiles, endpoint = @endpoint, updated_at = @t`);
    this.#deleteTerminal = db.prepare('DELETE FROM terminals WHERE id = ?');
    // Update first, insert only a new meter: an upsert would advance the key sequence for
    // every meter a seed rewrites at each start.
    // Positional parameters, in the order of the UPDATE: binding a million meters by name costs a fifth more of an import.
    const updateMeter = db.prepare<MeterParams, { key: number }>(`
      UPDATE meters SET name = ?, terminal_id = ?, address = ?, ct_ratio = ?, pt_ratio = ?, nominal_voltage = ?, max_current = ?,
        area_id = ?, protected = ?, customer_ref = ?, account_ref = ?, updated_at = ?
      WHERE id = ?
      RETURNING key`);
    const insertMeter = db.prepare<[...MeterParams, number], { key: number }>(`
      INSERT INTO meters (name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, protected,
        customer_ref, account_ref, updated_at, id, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      RETURNING key`);
    // The key alone, not a row object per meter: the import inserts a million of them.
    const insertMeterKey = db.prepare<[...MeterParams, number], number>(insertMeter.source).pluck();
    const putMeterRow = (m: Meter, at: number): number => {
      const params = meterParams(m, at);
      return keyOf(updateMeter.get(...params) ?? insertMeter.get(...params, at), m.id);
    };
    this.#putMeter = db.transaction(putMeterRow);
    this.#deleteMeter = db.prepare('DELETE FROM meters WHERE id = ?');
    // Row by row in the batch's order: the registry checked each step in that order, so no step breaks a constraint.
    this.#putAll = db.transaction((batch: TopologyBatch, at: number) => {
      for (const a of batch.areas) this.#putArea.run(areaParams(a, at));
      for (const t of batch.terminals) this.#putTerminal.run(terminalParams(t, at));
      const keys = new Map<MeterId, number>();
      const { meters, newMeters } = batch;
      for (const [i, m] of meters.entries()) {
        // No other process writes this file, so a meter the image lacks has no row: the UPDATE would only miss.
        if (newMeters?.[i] !== true) {
          keys.set(m.id, putMeterRow(m, at));
          continue;
        }
        const params: [...MeterParams, number] = [...meterParams(m, at), at];
        keys.set(m.id, keyOf(insertMeterKey.get(...params), m.id));
      }
      return keys;
    });
  }

  load(into: TopologySink): Promise<void> {
    return settled(() => {
      // One read transaction, so the three tables come from one snapshot.
      this.db.transaction(() => {
        for (const r of this.db.prepare('SELECT id, name, kind, parent_id, transformer_kva FROM areas').iterate() as IterableIterator<AreaRow>) into.area(areaOf(r));
        for (const r of this.db.prepare('SELECT id, name, protocol, enabled, profiles, endpoint FROM terminals').iterate() as IterableIterator<SqliteTerminalRow>) {
          into.terminal(terminalSeedOf({ ...r, enabled: r.enabled === 1, profiles: JSON.parse(r.profiles) as string[], endpoint: JSON.parse(r.endpoint) as StoredEndpoint }));
        }
        // In id order (the unique index's), so the image's id order needs no sort.
        const meters = this.db.prepare(`SELECT ${METER_COLUMNS} FROM meters ORDER BY id`).raw().iterate() as IterableIterator<StoredMeterRow>;
        for (const row of meters) into.meter(row);
      })();
    });
  }

  putArea(area: Area, at: number): Promise<void> {
    return settled(() => { this.#putArea.run(areaParams(area, at)); });
  }

  deleteArea(id: AreaId): Promise<void> {
    return settled(() => { this.#deleteArea.run(id); });
  }

  putTerminal(terminal: Terminal, at: number): Promise<void> {
    return settled(() => { this.#putTerminal.run(terminalParams(terminal, at)); });
  }

  deleteTerminal(id: TerminalId): Promise<void> {
    return settled(() => { this.#deleteTerminal.run(id); });
  }

  putMeter(meter: Meter, at: number): Promise<number> {
    return settled(() => this.#putMeter(meter, at));
  }

  deleteMeter(id: MeterId): Promise<void> {
    return settled(() => { this.#deleteMeter.run(id); });
  }

  putAll(batch: TopologyBatch, at: number): Promise<ReadonlyMap<MeterId, number>> {
    return settled(() => this.#putAll(batch, at));
  }

  storedEndpointPasswords(): Promise<readonly StoredEndpointPassword[]> {
    return settled(() => {
      const rows = this.db.prepare(`SELECT id, json_extract(endpoint, '$.dlms.password') AS password FROM terminals
                                    WHERE protocol = 'dlms' AND json_type(endpoint, '$.dlms.password') = 'text'`).all() as { id: string; password: string }[];
      return rows.map((r) => ({ terminalId: terminalId(r.id), password: r.password }));
    });
  }

  dropStoredEndpointPassword(id: TerminalId): Promise<void> {
    return settled(() => { this.db.prepare("UPDATE terminals SET endpoint = json_remove(endpoint, '$.dlms.password') WHERE id = ?").run(id); });
  }
}

// ── rows, shared by both stores ────────────────────────────────────────────

/** A terminal's endpoint column: the settings of its protocol, under the protocol's name. */
export type StoredEndpoint = Pick<TerminalSeed, 'modbus' | 'dlms'> & { readonly mqtt?: object };

export function endpointOf(t: Terminal): StoredEndpoint {
  return t.protocol === 'modbus' ? { modbus: t.modbus } : t.protocol === 'dlms' ? { dlms: t.dlms } : { mqtt: t.mqtt };
}

export interface AreaRow { id: string; name: string; kind: Area['kind']; parent_id: string | null; transformer_kva: number | null }

export function areaOf(r: AreaRow): Area {
  return { id: areaId(r.id), name: r.name, kind: r.kind, parentId: r.parent_id === null ? null : areaId(r.parent_id), transformerKva: r.transformer_kva };
}

export interface TerminalRow { id: string; name: string; protocol: TerminalSeed['protocol']; enabled: boolean; profiles: string[]; endpoint: StoredEndpoint }

/** The terminal as configured; a password an older station kept in the row stays there for storedEndpointPasswords(), never loaded. */
export function terminalSeedOf(r: TerminalRow): TerminalSeed {
  const { modbus, dlms } = r.endpoint;
  const seed: TerminalSeed = { id: r.id, name: r.name, protocol: r.protocol, enabled: r.enabled, profiles: r.profiles };
  if (modbus !== undefined) seed.modbus = modbus;
  if (dlms !== undefined) seed.dlms = withoutPassword(dlms);
  return seed;
}

export interface MeterRow {
  key: number; id: string; name: string; terminal_id: string; address: string; ct_ratio: number; pt_ratio: number;
  nominal_voltage: number | null; max_current: number | null;
  area_id: string | null; protected: boolean; customer_ref: string | null; account_ref: string | null;
}

export function keyedMeterOf(r: MeterRow): KeyedMeter {
  const meter: Meter = {
    id: meterId(r.id), name: r.name, terminalId: terminalId(r.terminal_id), address: r.address, ctRatio: r.ct_ratio, ptRatio: r.pt_ratio,
    ...(r.nominal_voltage === null ? {} : { nominalVoltage: r.nominal_voltage }),
    ...(r.max_current === null ? {} : { maxCurrent: r.max_current }),
    areaId: r.area_id === null ? null : areaId(r.area_id), protected: r.protected, customerRef: r.customer_ref, accountRef: r.account_ref,
  };
  return { meter, key: r.key };
}

/** The row as the image takes it. */
export function meterRowOf(r: MeterRow): StoredMeterRow {
  return [r.key, r.id, r.name, r.terminal_id, r.address, r.ct_ratio, r.pt_ratio, r.nominal_voltage, r.max_current, r.area_id, r.protected, r.customer_ref, r.account_ref];
}

interface SqliteTerminalRow { id: string; name: string; protocol: TerminalSeed['protocol']; enabled: number; profiles: string; endpoint: string }

interface AreaParams { id: string; name: string; kind: string; parentId: string | null; transformerKva: number | null; t: number }
interface TerminalParams { id: string; name: string; protocol: string; enabled: number; profiles: string; endpoint: string; t: number }
type MeterParams = [
  name: string, terminalId: string, address: string, ctRatio: number, ptRatio: number, nominalVoltage: number | null, maxCurrent: number | null,
  areaId: string | null, isProtected: number, customerRef: string | null, accountRef: string | null, t: number, id: string,
];

/** An upsert's RETURNING row (or its key alone): there is always one, unless the statement itself is broken. */
function keyOf(row: { key: number } | number | undefined, id: MeterId): number {
  if (row === undefined) throw new Error(`the meters table returned no key for meter ${JSON.stringify(id)}`);
  return typeof row === 'number' ? row : row.key;
}

function areaParams(a: Area, t: number): AreaParams {
  return { id: a.id, name: a.name, kind: a.kind, parentId: a.parentId, transformerKva: a.transformerKva, t };
}

function terminalParams(x: Terminal, t: number): TerminalParams {
  return {
    id: x.id, name: x.name, protocol: x.protocol, enabled: x.enabled ? 1 : 0,
    profiles: JSON.stringify(x.profiles), endpoint: JSON.stringify(endpointOf(x)), t,
  };
}

function meterParams(m: Meter, t: number): MeterParams {
  return [
    m.name, m.terminalId, m.address, m.ctRatio, m.ptRatio, m.nominalVoltage ?? null, m.maxCurrent ?? null, m.areaId, m.protected ? 1 : 0,
    m.customerRef, m.accountRef, t, m.id,
  ];
}
