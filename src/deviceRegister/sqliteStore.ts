/**
 * The device register store (src/deviceRegister/store.ts) in the embedded SQLite file,
 * migration 25. better-sqlite3 is synchronous and the file has one writer: a nameplate's row
 * update, its history line and the trimming of old lines are one transaction. The
 * reconciliation runs in batches with a turn of the event loop between them.
 */
import type { Statement } from 'better-sqlite3';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DeviceNameplate } from '../../protocols/adapter.js';
import { settled, type Db } from '../storage/db.js';
import type { DeviceKind, DevicePage, DeviceQuery, DeviceRecord, FirmwareChange, FirmwareReport, FirmwareSource } from './model.js';
import { DEVICE_COLUMNS, HISTORY_COLUMNS, changeOf, deviceOf, listClauses, whereOf, type DeviceRow, type HistoryRow, type SqlDialect } from './rows.js';
import {
  REGISTRY_TABLES, firmwareChangeOf, pageLimit, pageOf,
  type DeviceRegisterStore, type DueCursor, type DueDevice, type FirmwareOutcome, type ReconcileOutcome,
} from './store.js';

/** Registry rows looked at per reconciliation batch. */
const RECONCILE_BATCH = 5_000;

const DIALECT: SqlDialect = {
  placeholder: (n) => `?${n}`,
  areaSet: (p) => `(SELECT value FROM json_each(${p}))`,
  areaArg: (ids) => JSON.stringify(ids),
  registryId: (column) => column,
};

interface FirmwareFields {
  readonly firmwareVersion?: string | undefined;
  readonly firmwareSignature?: string | undefined;
}

/**
 * The signature kept with a version: a new version's own (NULL when not reported: the old one
 * describes the old image), or for the same version the one reported, else the one kept.
 * SET expressions see the row as it was, so firmware_version here is the stored one.
 */
const SIGNATURE_SQLITE = `CASE WHEN @firmware_version IS NOT NULL AND firmware_version IS NOT @firmware_version THEN @firmware_signature
  ELSE COALESCE(@firmware_signature, firmware_signature) END`;

export class SqliteDeviceRegisterStore implements DeviceRegisterStore {
  readonly #get: Statement<[DeviceKind, string], DeviceRow>;
  readonly #install: Statement<[DeviceKind, string, number, number | null]>;
  readonly #ensure: Statement<[DeviceKind, string, number, number | null]>;
  readonly #remove: Statement<[number, DeviceKind, string]>;
  readonly #history: Statement<[DeviceKind, string], HistoryRow>;
  readonly #addHistory: Statement<[Record<string, unknown>]>;
  readonly #trimHistory: Statement<[DeviceKind, string, DeviceKind, string, number]>;
  readonly #nameplate: Statement<[Record<string, unknown>]>;
  readonly #firmware: Statement<[Record<string, unknown>]>;
  readonly #defer: Statement<[number, DeviceKind, string]>;
  readonly #due: Statement<[DeviceKind, number, number, string, number], { kind: DeviceKind; id: string; check_at: number }>;

  constructor(private readonly db: Db, private readonly historyPerDevice: number) {
    this.#get = db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE kind = ? AND id = ?`);
    // A device back in the registry after a removal is installed again; one still there is left alone.
    this.#install = db.prepare(`INSERT INTO devices (kind, id, installed_at, check_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (kind, id) DO UPDATE SET installed_at = excluded.installed_at, removed_at = NULL, check_at = excluded.check_at WHERE devices.removed_at IS NOT NULL`);
    this.#ensure = db.prepare('INSERT INTO devices (kind, id, installed_at, check_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO NOTHING');
    this.#remove = db.prepare('UPDATE devices SET removed_at = ?, check_at = NULL WHERE kind = ? AND id = ? AND removed_at IS NULL');
    this.#history = db.prepare(`SELECT ${HISTORY_COLUMNS} FROM device_firmware_history WHERE kind = ? AND id = ? ORDER BY seq DESC`);
    this.#addHistory = db.prepare(`INSERT INTO device_firmware_history (kind, id, seq, ${HISTORY_COLUMNS})
      VALUES (@kind, @id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM device_firmware_history WHERE kind = @kind AND id = @id), @at, @from_version, @to_version, @source, @campaign_id, @actor)`);
    this.#trimHistory = db.prepare(`DELETE FROM device_firmware_history WHERE kind = ? AND id = ?
      AND seq <= (SELECT MAX(seq) FROM device_firmware_history WHERE kind = ? AND id = ?) - ?`);
    this.#nameplate = db.prepare(`UPDATE devices SET manufacturer = COALESCE(@manufacturer, manufacturer), model = COALESCE(@model, model),
      serial = COALESCE(@serial, serial), firmware_version = COALESCE(@firmware_version, firmware_version),
      firmware_signature = ${SIGNATURE_SQLITE}, hardware_version = COALESCE(@hardware_version, hardware_version),
      nameplate_read_at = @at, check_at = CASE WHEN removed_at IS NULL THEN @check_at ELSE NULL END WHERE kind = @kind AND id = @id`);
    this.#firmware = db.prepare(`UPDATE devices SET firmware_version = @firmware_version,
      firmware_signature = ${SIGNATURE_SQLITE} WHERE kind = @kind AND id = @id`);
    this.#defer = db.prepare('UPDATE devices SET check_at = ? WHERE kind = ? AND id = ? AND removed_at IS NULL');
    this.#due = db.prepare(`SELECT kind, id, check_at FROM devices WHERE kind = ? AND check_at <= ? AND (check_at, id) > (?, ?)
      ORDER BY check_at, id LIMIT ?`);
  }

  installed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void> {
    const install = this.db.transaction(() => {
      for (const id of ids) this.#install.run(kind, id, at, kind === 'meter' ? at : null);
    });
    return settled(() => { install(); });
  }

  removed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void> {
    const remove = this.db.transaction(() => {
      for (const id of ids) this.#remove.run(at, kind, id);
    });
    return settled(() => { remove(); });
  }

  async reconcile(kind: DeviceKind, at: number): Promise<ReconcileOutcome> {
    const table = REGISTRY_TABLES[kind];
    const lastOf = (sql: string) => this.db.prepare<[string, number], { last: string | null }>(`SELECT MAX(id) AS last FROM (${sql})`);
    const registryBatch = `SELECT id FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`;
    const adopt = this.db.prepare<[number | null, string, number]>(`INSERT INTO devices (kind, id, installed_at, check_at)
      SELECT '${kind}', id, created_at, ? FROM ${table} WHERE id > ? ORDER BY id LIMIT ?
      ON CONFLICT (kind, id) DO UPDATE SET installed_at = excluded.installed_at, removed_at = NULL, check_at = excluded.check_at WHERE devices.removed_at IS NOT NULL`);
    const registryLast = lastOf(registryBatch);
    const registerBatch = `SELECT id FROM devices WHERE kind = '${kind}' AND id > ? ORDER BY id LIMIT ?`;
    const retire = this.db.prepare<[number, string, number]>(`UPDATE devices SET removed_at = ?, check_at = NULL WHERE kind = '${kind}' AND removed_at IS NULL
      AND id IN (${registerBatch}) AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.id = devices.id)`);
    const registerLast = lastOf(registerBatch);
    const checkAt = kind === 'meter' ? at : null;
    let adopted = 0;
    let retired = 0;
    await this.#inBatches((from) => {
      adopted += adopt.run(checkAt, from, RECONCILE_BATCH).changes;
      return registryLast.get(from, RECONCILE_BATCH)?.last ?? null;
    });
    await this.#inBatches((from) => {
      retired += retire.run(at, from, RECONCILE_BATCH).changes;
      return registerLast.get(from, RECONCILE_BATCH)?.last ?? null;
    });
    return { adopted, retired };
  }

  get(kind: DeviceKind, id: string): Promise<DeviceRecord | undefined> {
    return settled(() => {
      const row = this.#get.get(kind, id);
      return row === undefined ? undefined : deviceOf(row);
    });
  }

  history(kind: DeviceKind, id: string): Promise<FirmwareChange[]> {
    return settled(() => this.#history.all(kind, id).map(changeOf));
  }

  noteNameplate(kind: DeviceKind, id: string, nameplate: DeviceNameplate, at: number, source: FirmwareSource, nextCheckAt: number): Promise<FirmwareOutcome> {
    return this.#changeFirmware(kind, id, nameplate, { at, source }, () => {
      void this.#nameplate.run({
        kind, id, at, check_at: nextCheckAt, manufacturer: nameplate.manufacturer ?? null, model: nameplate.model ?? null, serial: nameplate.serial ?? null,
        firmware_version: nameplate.firmwareVersion ?? null, firmware_signature: nameplate.firmwareSignature ?? null, hardware_version: nameplate.hardwareVersion ?? null,
      });
    });
  }

  recordFirmware(kind: DeviceKind, id: string, report: FirmwareReport): Promise<FirmwareOutcome> {
    return this.#changeFirmware(kind, id, { firmwareVersion: report.version, firmwareSignature: report.signature }, report, () => {
      this.#firmware.run({ kind, id, firmware_version: report.version, firmware_signature: report.signature ?? null });
    });
  }

  deferCheck(kind: DeviceKind, id: string, checkAt: number): Promise<void> {
    return settled(() => { this.#defer.run(checkAt, kind, id); });
  }

  due(kind: DeviceKind, now: number, after: DueCursor | undefined, limit: number): Promise<DueDevice[]> {
    return settled(() => this.#due.all(kind, now, after?.checkAt ?? Number.MIN_SAFE_INTEGER, after?.id ?? '', pageLimit(limit))
      .map((r) => ({ kind: r.kind, id: r.id, checkAt: r.check_at })));
  }

  list(q: DeviceQuery): Promise<DevicePage> {
    return settled(() => {
      const limit = pageLimit(q.limit);
      const { where, args } = listClauses(q, DIALECT);
      const named = Object.fromEntries(args.map((v, i) => [i + 1, v]));
      const rows = this.db.prepare<[Record<number, unknown>], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ${whereOf(where)} ORDER BY kind, id LIMIT ${limit + 1}`).all(named);
      return pageOf(rows.map(deviceOf), limit);
    });
  }

  /** Runs `batch` from id '' on, one transaction each, with a turn of the event loop between, until it answers null. */
  async #inBatches(batch: (after: string) => string | null): Promise<void> {
    let after: string | null = '';
    while (after !== null) {
      const from: string = after;
      after = this.db.transaction(() => batch(from))();
      await yieldToLoop();
    }
  }

  /** In one transaction: adds a device the register lacks (a removed one stays removed), applies `write`, and adds the history line the version change makes. */
  #changeFirmware(kind: DeviceKind, id: string, fields: FirmwareFields, report: Pick<FirmwareReport, 'at' | 'source' | 'campaignId' | 'actor'>, write: () => void): Promise<FirmwareOutcome> {
    return settled(() => this.db.transaction((): FirmwareOutcome => {
      this.#ensure.run(kind, id, report.at, kind === 'meter' ? report.at : null);
      const before = this.#get.get(kind, id);
      write();
      const after = this.#get.get(kind, id);
      if (before === undefined || after === undefined) throw new Error(`device ${kind} ${id} not read back after its write`);
      const change = fields.firmwareVersion === undefined ? null : firmwareChangeOf(before.firmware_version, { ...report, version: fields.firmwareVersion });
      if (change !== null) {
        this.#addHistory.run({
          kind, id, at: change.at, from_version: change.from, to_version: change.to, source: change.source, campaign_id: change.campaignId, actor: change.actor,
        });
        this.#trimHistory.run(kind, id, kind, id, this.historyPerDevice);
      }
      return { device: deviceOf(after), change };
    })());
  }
}
