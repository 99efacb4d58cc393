/**
 * Devices and firmware history as both stores hold them (snake_case columns) and back, and the
 * WHERE clauses of a list, shared by both stores: each filter an equality on an indexed column,
 * the area filter through the registry's meters table, then the keyset condition of the page.
 */
import type { DeviceKind, DeviceQuery, DeviceRecord, FirmwareChange, FirmwareSource } from './model.js';

export interface DeviceRow {
  kind: DeviceKind;
  id: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  firmware_version: string | null;
  firmware_signature: string | null;
  hardware_version: string | null;
  nameplate_read_at: number | null;
  installed_at: number;
  removed_at: number | null;
}

export interface HistoryRow {
  at: number;
  from_version: string | null;
  to_version: string;
  source: FirmwareSource;
  campaign_id: string | null;
  actor: string | null;
}

export const DEVICE_COLUMNS = 'kind, id, manufacturer, model, serial, firmware_version, firmware_signature, hardware_version, nameplate_read_at, installed_at, removed_at';
export const HISTORY_COLUMNS = 'at, from_version, to_version, source, campaign_id, actor';

export function deviceOf(r: DeviceRow): DeviceRecord {
  return {
    kind: r.kind, id: r.id, manufacturer: r.manufacturer, model: r.model, serial: r.serial, firmwareVersion: r.firmware_version,
    firmwareSignature: r.firmware_signature, hardwareVersion: r.hardware_version, nameplateReadAt: r.nameplate_read_at,
    installedAt: r.installed_at, removedAt: r.removed_at,
  };
}

export function changeOf(r: HistoryRow): FirmwareChange {
  return { at: r.at, from: r.from_version, to: r.to_version, source: r.source, campaignId: r.campaign_id, actor: r.actor };
}

/** How a driver writes what the shared clauses need. */
export interface SqlDialect {
  /** The n-th parameter (1-based): `?n` on SQLite, `$n` on PostgreSQL. */
  placeholder(n: number): string;
  /** The parameter holding the area ids, as a set to test membership in. */
  areaSet(param: string): string;
  /** The value bound to that parameter. */
  areaArg(ids: readonly string[]): unknown;
  /** A registry id column compared with the register's ids (PostgreSQL: in the register's byte order). */
  registryId(column: string): string;
}

const FILTER_COLUMNS = [['kind', 'kind'], ['firmwareVersion', 'firmware_version'], ['model', 'model'], ['manufacturer', 'manufacturer']] as const;

export function listClauses(q: DeviceQuery, d: SqlDialect): { where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return d.placeholder(args.length);
  };
  for (const [field, column] of FILTER_COLUMNS) {
    const value = q[field];
    if (value !== undefined) where.push(`${column} = ${arg(value)}`);
  }
  if (q.areaIds !== undefined) {
    const areas = d.areaSet(arg(d.areaArg(q.areaIds)));
    // A meter is in an area when the registry places it there; a terminal when one of its meters is.
    const meters = `(kind = 'meter' AND id IN (SELECT ${d.registryId('id')} FROM meters WHERE area_id IN ${areas}))`;
    const terminals = `(kind = 'terminal' AND id IN (SELECT ${d.registryId('terminal_id')} FROM meters WHERE area_id IN ${areas}))`;
    where.push(q.kind === 'meter' ? meters : q.kind === 'terminal' ? terminals : `(${meters} OR ${terminals})`);
  }
  if (q.after !== undefined) where.push(`(kind, id) > (${arg(q.after.kind)}, ${arg(q.after.id)})`);
  return { where, args };
}

export function whereOf(where: readonly string[]): string {
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}
