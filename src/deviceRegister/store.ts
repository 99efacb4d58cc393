/**
 * Where the device register is kept: one compact row per device (table `devices`) and a short
 * firmware history per device (`device_firmware_history`, at most `historyPerDevice` lines,
 * the oldest dropped first). src/deviceRegister/sqliteStore.ts is the embedded implementation
 * (migration 25), src/deviceRegister/postgresStore.ts the PostgreSQL one (migration 32).
 *
 * Installation and removal follow the registry: its change notifications while the station
 * runs, and `reconcile` against the registry's own tables (same database on both drivers) for
 * what changed while it was down. Every write is idempotent, so several nodes hearing the same
 * change, or reconciling at once, agree.
 */
import type { DeviceNameplate } from '../../protocols/adapter.js';
import type { DeviceCursor, DeviceKind, DevicePage, DeviceQuery, DeviceRecord, FirmwareChange, FirmwareReport, FirmwareSource } from './model.js';

/** Cap of one page of devices (a list, an export batch, a due scan). */
export const MAX_DEVICE_PAGE = 1000;

/** A meter whose nameplate read is due, and since when. */
export interface DueDevice {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly checkAt: number;
}

/** Where a due scan stopped: due devices come by (checkAt, id). */
export interface DueCursor {
  readonly checkAt: number;
  readonly id: string;
}

/** What a nameplate or a firmware report did: the device as stored after it, and the history line it added (null: none). */
export interface FirmwareOutcome {
  readonly device: DeviceRecord;
  readonly change: FirmwareChange | null;
}

export interface ReconcileOutcome {
  /** Devices of the registry the register lacked (or had as removed). */
  readonly adopted: number;
  /** Devices of the register the registry no longer has. */
  readonly retired: number;
}

export interface DeviceRegisterStore {
  /**
   * The registry has these devices (new, or back after a removal): a row from `at` for each it
   * lacks, a removed one installed again from `at`. Meters are due for a nameplate read at once.
   */
  installed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void>;
  /** The registry dropped these devices: removed at `at`, never read again; the rows stay. */
  removed(kind: DeviceKind, ids: readonly string[], at: number): Promise<void>;
  /**
   * Brings the register in line with the registry's table of `kind`: its devices the register
   * lacks are adopted (installed at the registry row's creation time), the register's devices
   * it no longer has are removed at `at`. In batches, so the embedded store's one writer is
   * never held for a whole fleet.
   */
  reconcile(kind: DeviceKind, at: number): Promise<ReconcileOutcome>;
  get(kind: DeviceKind, id: string): Promise<DeviceRecord | undefined>;
  /** The device's firmware history, newest first. */
  history(kind: DeviceKind, id: string): Promise<FirmwareChange[]>;
  /**
   * Applies a nameplate: the fields it has replace the stored ones (a field the device does not
   * publish keeps what was known), with a history line when the firmware version changed
   * (firmwareChangeOf); the next read is due at `nextCheckAt`. A device the register lacks is
   * installed at `at`.
   */
  noteNameplate(kind: DeviceKind, id: string, nameplate: DeviceNameplate, at: number, source: FirmwareSource, nextCheckAt: number): Promise<FirmwareOutcome>;
  /** A version a campaign or an OTA report set: as noteNameplate with only the firmware fields, the read schedule left alone. */
  recordFirmware(kind: DeviceKind, id: string, report: FirmwareReport): Promise<FirmwareOutcome>;
  /** A read that did not happen (failed, or the device publishes no nameplate): try again at `checkAt`. */
  deferCheck(kind: DeviceKind, id: string, checkAt: number): Promise<void>;
  /** Devices of `kind` in the registry whose read is due at `now`, oldest due first, after `after`. */
  due(kind: DeviceKind, now: number, after: DueCursor | undefined, limit: number): Promise<DueDevice[]>;
  /** By (kind, id), filtered, one page. */
  list(query: DeviceQuery): Promise<DevicePage>;
}

/**
 * The history line a new version makes, or null: only a version that differs from the stored
 * one is a change. The first version read from a device nobody knew is learnt, not a change;
 * a campaign or an OTA report on such a device is one (from null).
 */
export function firmwareChangeOf(stored: string | null, report: Pick<FirmwareReport, 'version' | 'at' | 'source' | 'campaignId' | 'actor'>): FirmwareChange | null {
  if (report.version === stored) return null;
  if (stored === null && report.source === 'read') return null;
  return { at: report.at, from: stored, to: report.version, source: report.source, campaignId: report.campaignId ?? null, actor: report.actor ?? null };
}

export function pageLimit(limit: number): number {
  return Math.max(1, Math.min(MAX_DEVICE_PAGE, Math.floor(limit)));
}

/** Rows read with one extra, cut to a page and its cursor. */
export function pageOf(rows: DeviceRecord[], limit: number): DevicePage {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const next: DeviceCursor | null = last === undefined ? null : { kind: last.kind, id: last.id };
  return { items, next };
}

/** The registry's table of a kind, whose `id` and `created_at` the reconciliation reads. */
export const REGISTRY_TABLES: Readonly<Record<DeviceKind, string>> = { meter: 'meters', terminal: 'terminals' };
