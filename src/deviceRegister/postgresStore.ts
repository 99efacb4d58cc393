/**
 * The device register store (src/deviceRegister/store.ts) on PostgreSQL, migration 32. A
 * firmware change locks its device's row (SELECT … FOR UPDATE), so two nodes recording the same
 * device one after the other write the history line once and in order. The reconciliation is
 * one statement per direction: PostgreSQL has no single writer to hold up.
 */
import type { DeviceNameplate } from '../../protocols/adapter.js';
import { refusalsKept, type PostgresDatabase, type TransactionSql } from '../storage/postgres/connection.js';
import type { DeviceKind, DevicePage, DeviceQuery, DeviceRecord, FirmwareChange, FirmwareReport, FirmwareSource } from './model.js';
import { DEVICE_COLUMNS, HISTORY_COLUMNS, changeOf, deviceOf, listClauses, whereOf, type DeviceRow, type HistoryRow, type SqlDialect } from './rows.js';
import {
  REGISTRY_TABLES, firmwareChangeOf, pageLimit, pageOf,
  type DeviceRegisterStore, type DueCursor, type DueDevice, type FirmwareOutcome, type ReconcileOutcome,
} from './store.js';

const DIALECT: SqlDialect = {
  placeholder: (n) => `$${n}`,
  areaSet: (p) => `(SELECT unnest(${p}::text[]))`,
  areaArg: (ids) => [...ids],
  registryId: (column) => `${column} COLLATE "C"`,
};

const REINSTALL = 'ON CONFLICT (kind, id) DO UPDATE SET installed_at = EXCLUDED.installed_at, removed_at = NULL, check_at = EXCLUDED.check_at WHERE devices.removed_at IS NOT NULL';

export class PostgresDeviceRegisterStore implements DeviceRegisterStore {
  constructor(private readonly db: PostgresDatabase, private readonly historyPerDevice: number) {}

  async installed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    const checkAt = kind === 'meter' ? at : null;
    await this.db.run((sql) => sql.unsafe(`INSERT INTO devices (kind, id, installed_at, check_at) SELECT $1, unnest($2::text[]), $3, $4 ${REINSTALL}`,
      [kind, [...ids], at, checkAt]));
  }

  async removed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.run((sql) => sql`UPDATE devices SET removed_at = ${at}, check_at = NULL WHERE kind = ${kind} AND id = ANY(${[...ids]}::text[]) AND removed_at IS NULL`);
  }

  async reconcile(kind: DeviceKind, at: number): Promise<ReconcileOutcome> {
    const table = REGISTRY_TABLES[kind];
    const checkAt = kind === 'meter' ? at : null;
    return this.db.run(async (sql) => {
      const adopted = await sql.unsafe(`INSERT INTO devices (kind, id, installed_at, check_at) SELECT $1, id, created_at, $2 FROM ${table} ${REINSTALL}`, [kind, checkAt]);
      const retired = await sql.unsafe(`UPDATE devices d SET removed_at = $2, check_at = NULL WHERE d.kind = $1 AND d.removed_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.id COLLATE "C" = d.id)`, [kind, at]);
      return { adopted: adopted.count, retired: retired.count };
    });
  }

  async get(kind: DeviceKind, id: string): Promise<DeviceRecord | undefined> {
    const [row] = await this.db.run((sql) => sql<DeviceRow[]>`SELECT ${sql.unsafe(DEVICE_COLUMNS)} FROM devices WHERE kind = ${kind} AND id = ${id}`);
    return row === undefined ? undefined : deviceOf(row);
  }

  async history(kind: DeviceKind, id: string): Promise<FirmwareChange[]> {
    const rows = await this.db.run((sql) => sql<HistoryRow[]>`SELECT ${sql.unsafe(HISTORY_COLUMNS)} FROM device_firmware_history
      WHERE kind = ${kind} AND id = ${id} ORDER BY seq DESC`);
    return rows.map(changeOf);
  }

  noteNameplate(kind: DeviceKind, id: string, nameplate: DeviceNameplate, at: number, source: FirmwareSource, nextCheckAt: number): Promise<FirmwareOutcome> {
    return this.#changeFirmware(kind, id, nameplate.firmwareVersion, { at, source }, async (tx) => {
      await tx`UPDATE devices SET manufacturer = COALESCE(${nameplate.manufacturer ?? null}, manufacturer), model = COALESCE(${nameplate.model ?? null}, model),
        serial = COALESCE(${nameplate.serial ?? null}, serial), firmware_version = COALESCE(${nameplate.firmwareVersion ?? null}, firmware_version),
        firmware_signature = ${signatureOf(tx, nameplate.firmwareVersion, nameplate.firmwareSignature)}, hardware_version = COALESCE(${nameplate.hardwareVersion ?? null}, hardware_version),
        nameplate_read_at = ${at}, check_at = CASE WHEN removed_at IS NULL THEN ${nextCheckAt}::bigint ELSE NULL END WHERE kind = ${kind} AND id = ${id}`;
    });
  }

  recordFirmware(kind: DeviceKind, id: string, report: FirmwareReport): Promise<FirmwareOutcome> {
    return this.#changeFirmware(kind, id, report.version, report, async (tx) => {
      await tx`UPDATE devices SET firmware_version = ${report.version}, firmware_signature = ${signatureOf(tx, report.version, report.signature)}
        WHERE kind = ${kind} AND id = ${id}`;
    });
  }

  async deferCheck(kind: DeviceKind, id: string, checkAt: number): Promise<void> {
    await this.db.run((sql) => sql`UPDATE devices SET check_at = ${checkAt} WHERE kind = ${kind} AND id = ${id} AND removed_at IS NULL`);
  }

  async due(kind: DeviceKind, now: number, after: DueCursor | undefined, limit: number): Promise<DueDevice[]> {
    const rows = await this.db.run((sql) => sql<{ kind: DeviceKind; id: string; check_at: number }[]>`SELECT kind, id, check_at FROM devices
      WHERE kind = ${kind} AND check_at <= ${now} AND (check_at, id) > (${after?.checkAt ?? Number.MIN_SAFE_INTEGER}::bigint, ${after?.id ?? ''}::text COLLATE "C")
      ORDER BY check_at, id LIMIT ${pageLimit(limit)}`);
    return rows.map((r) => ({ kind: r.kind, id: r.id, checkAt: r.check_at }));
  }

  async list(q: DeviceQuery): Promise<DevicePage> {
    const limit = pageLimit(q.limit);
    const { where, args } = listClauses(q, DIALECT);
    const rows = await this.db.run((sql) => sql.unsafe<DeviceRow[]>(`SELECT ${DEVICE_COLUMNS} FROM devices ${whereOf(where)} ORDER BY kind, id LIMIT ${limit + 1}`,
      args as never[]));
    return pageOf(rows.map(deviceOf), limit);
  }

  /** One transaction: adds a device the register lacks, locks its row, applies `write`, and adds the history line the version change makes. */
  #changeFirmware(kind: DeviceKind, id: string, version: string | undefined, report: Pick<FirmwareReport, 'at' | 'source' | 'campaignId' | 'actor'>,
    write: (tx: TransactionSql) => Promise<void>): Promise<FirmwareOutcome> {
    return refusalsKept(this.db, (sql) => sql.begin(async (tx) => {
      await tx`INSERT INTO devices (kind, id, installed_at, check_at) VALUES (${kind}, ${id}, ${report.at}, ${kind === 'meter' ? report.at : null}) ON CONFLICT (kind, id) DO NOTHING`;
      const [before] = await tx<{ firmware_version: string | null }[]>`SELECT firmware_version FROM devices WHERE kind = ${kind} AND id = ${id} FOR UPDATE`;
      await write(tx);
      const [after] = await tx<DeviceRow[]>`SELECT ${tx.unsafe(DEVICE_COLUMNS)} FROM devices WHERE kind = ${kind} AND id = ${id}`;
      if (before === undefined || after === undefined) throw new Error(`device ${kind} ${id} not read back after its write`);
      const change = version === undefined ? null : firmwareChangeOf(before.firmware_version, { ...report, version });
      if (change !== null) {
        await tx`INSERT INTO device_firmware_history (kind, id, seq, at, from_version, to_version, source, campaign_id, actor)
          VALUES (${kind}, ${id}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM device_firmware_history WHERE kind = ${kind} AND id = ${id}),
            ${change.at}, ${change.from}, ${change.to}, ${change.source}, ${change.campaignId}, ${change.actor})`;
        await tx`DELETE FROM device_firmware_history WHERE kind = ${kind} AND id = ${id}
          AND seq <= (SELECT MAX(seq) FROM device_firmware_history WHERE kind = ${kind} AND id = ${id}) - ${this.historyPerDevice}`;
      }
      return { device: deviceOf(after), change };
    }) as Promise<FirmwareOutcome>);
  }
}

/**
 * The signature kept with a version: a new version's own (NULL when not reported: the old one
 * describes the old image), or for the same version the one reported, else the one kept.
 * SET expressions see the row as it was, so firmware_version here is the stored one.
 */
function signatureOf(tx: TransactionSql, version: string | undefined, signature: string | undefined) {
  const v = version ?? null;
  const sig = signature ?? null;
  return tx`CASE WHEN ${v}::text IS NOT NULL AND firmware_version IS DISTINCT FROM ${v}::text THEN ${sig}::text
    ELSE COALESCE(${sig}::text, firmware_signature) END`;
}
