/**
 * The columns of areas.csv, terminals.csv and meters.csv, and how a record becomes the seed the
 * registry takes (the configuration's AreaSeed, TerminalSeed, MeterSeed). The columns are the
 * seed's keys, a protocol's endpoint settings as `modbus.host`, `dlms.clientSap`, … (the keys
 * of the YAML registry section), derived from the schemas so a key added there is a column
 * here. An empty cell is an absent key: the schema's default applies. A list (`profiles`) is
 * separated by `;`, a boolean is true/false (or 1/0).
 *
 * A cell is typed by its column, then the seed is checked against the schema (ids, lengths,
 * ranges, enumerations); the first problem comes out with its column.
 */
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AreaSeed, DlmsEndpointSchema, MeterSeed, TerminalSeed } from '../../config/schema.js';
import { ModbusEndpoint } from '../../../protocols/modbus/config.js';
import { ImportHeaderInvalid } from './errors.js';

export type ImportKind = 'areas' | 'terminals' | 'meters';
export const IMPORT_KINDS: readonly ImportKind[] = ['areas', 'terminals', 'meters'];

export interface SeedOf {
  areas: AreaSeed;
  terminals: TerminalSeed;
  meters: MeterSeed;
}

/** A cell or a seed that cannot be taken: its column and why. */
export interface CellProblem {
  readonly column: string | null;
  readonly message: string;
}

export type RowOutcome<S> = { readonly ok: true; readonly seed: S } | { readonly ok: false; readonly problem: CellProblem };

/** Reads the records of one file, whose header gave the column order. */
export interface RowReader<S> {
  readonly kind: ImportKind;
  read(fields: readonly string[]): RowOutcome<S>;
}

type CellType = 'string' | 'number' | 'integer' | 'boolean' | 'list';

interface Column {
  readonly name: string;
  /** The seed's key, and the nested object's (`modbus`) when the column is `modbus.host`. */
  readonly group: string | undefined;
  readonly key: string;
  readonly type: CellType;
  readonly fallback: unknown;
  readonly required: boolean;
}

/** The columns of each kind, in the order a template would list them. */
export const COLUMNS: Readonly<Record<ImportKind, readonly Column[]>> = {
  areas: columnsOf(AreaSeed, undefined),
  terminals: [
    ...columnsOf(TerminalSeed, undefined).filter((c) => c.key !== 'modbus' && c.key !== 'dlms'),
    ...columnsOf(ModbusEndpoint, 'modbus'),
    ...columnsOf(DlmsEndpointSchema, 'dlms'),
  ],
  meters: columnsOf(MeterSeed, undefined),
};

const SCHEMAS: Readonly<Record<ImportKind, TSchema>> = { areas: AreaSeed, terminals: TerminalSeed, meters: MeterSeed };

/** The kind a header belongs to, from the column only that kind has; undefined when none. */
export function kindOfHeader(header: readonly string[]): ImportKind | undefined {
  if (header.includes('terminalId')) return 'meters';
  if (header.includes('protocol')) return 'terminals';
  if (header.includes('kind')) return 'areas';
  return undefined;
}

export function rowReader<K extends ImportKind>(kind: K, header: readonly string[]): RowReader<SeedOf[K]> {
  const known = new Map(COLUMNS[kind].map((c) => [c.name, c]));
  const columns: Column[] = [];
  for (const name of header) {
    const column = known.get(name.trim());
    if (column === undefined) throw new ImportHeaderInvalid(`names column ${JSON.stringify(name)}, which ${kind} do not have; their columns: ${[...known.keys()].join(', ')}`);
    if (columns.includes(column)) throw new ImportHeaderInvalid(`names column ${JSON.stringify(name)} twice`);
    columns.push(column);
  }
  const missing = COLUMNS[kind].filter((c) => c.required && c.group === undefined && !columns.includes(c));
  if (missing.length > 0) throw new ImportHeaderInvalid(`lacks the column(s) ${kind} need: ${missing.map((c) => c.name).join(', ')}`);
  const check = Compile(SCHEMAS[kind]);
  const groups = [...new Set(columns.map((c) => c.group).filter((g) => g !== undefined))];
  return {
    kind,
    read(fields) {
      if (fields.length !== columns.length) {
        return { ok: false, problem: { column: null, message: `${fields.length} fields where the header has ${columns.length}` } };
      }
      const seed: Record<string, unknown> = {};
      // Only a kind with endpoint columns (terminals) pays for their objects: a meter row allocates nothing but its seed.
      const endpoints = groups.length === 0 ? undefined : new Map<string, Record<string, unknown>>(groups.map((g) => [g, {}]));
      // Counted, not entries(): a pair per cell is garbage at a million rows.
      let i = 0;
      for (const column of columns) {
        const cell = fields[i++] ?? '';
        if (cell === '') continue;
        const value = typed(cell, column.type);
        if (value === undefined) return { ok: false, problem: { column: column.name, message: `${JSON.stringify(cell)} is not ${ARTICLE[column.type]}` } };
        (column.group === undefined ? seed : endpoints?.get(column.group) ?? seed)[column.key] = value;
      }
      // A protocol's endpoint is there when one of its cells is; then its defaults apply.
      for (const [g, endpoint] of endpoints ?? []) {
        if (Object.keys(endpoint).length === 0) continue;
        applyDefaults(endpoint, COLUMNS[kind], g);
        seed[g] = endpoint;
      }
      applyDefaults(seed, COLUMNS[kind], undefined);
      if (check.Check(seed)) return { ok: true, seed: seed as unknown as SeedOf[K] };
      const [first] = check.Errors(seed);
      const required = (first?.params as { requiredProperties?: unknown } | undefined)?.requiredProperties;
      const absent = first?.keyword === 'required' && Array.isArray(required) ? required.map(String) : [];
      // A missing key is blamed on its column (`modbus.port`), not on the object that lacks it.
      const path = [...(first?.instancePath.split('/').filter((p) => p !== '') ?? []), ...absent.slice(0, 1)];
      const column = path.length === 0 ? null : path.slice(0, 2).join('.');
      return { ok: false, problem: { column, message: absent.length > 0 ? `is required (${absent.join(', ')})` : first?.message ?? 'does not match the schema' } };
    },
  };
}

const ARTICLE: Readonly<Record<CellType, string>> = {
  string: 'text', number: 'a number', integer: 'a whole number', boolean: 'true or false', list: 'a list',
};

function typed(cell: string, type: CellType): unknown {
  switch (type) {
    case 'string':
      return cell;
    case 'number':
    case 'integer': {
      const n = Number(cell);
      if (cell.trim() === '' || !Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) return undefined;
      return n;
    }
    case 'boolean':
      return cell === 'true' || cell === '1' ? true : cell === 'false' || cell === '0' ? false : undefined;
    case 'list':
      return cell.split(';').map((s) => s.trim()).filter((s) => s !== '');
  }
}

function applyDefaults(target: Record<string, unknown>, columns: readonly Column[], group: string | undefined): void {
  for (const c of columns) {
    if (c.group === group && c.fallback !== undefined && target[c.key] === undefined) {
      target[c.key] = Array.isArray(c.fallback) ? [...(c.fallback as unknown[])] : c.fallback;
    }
  }
}

function columnsOf(schema: TSchema, group: string | undefined): Column[] {
  const object = schema as unknown as { properties: Record<string, TSchema & { type?: unknown; default?: unknown }>; required?: readonly string[] };
  return Object.entries(object.properties).map(([key, property]) => ({
    name: group === undefined ? key : `${group}.${key}`,
    group,
    key,
    type: cellTypeOf(property.type),
    fallback: property.default,
    required: (object.required ?? []).includes(key) && property.default === undefined,
  }));
}

function cellTypeOf(type: unknown): CellType {
  if (type === 'number' || type === 'integer' || type === 'boolean') return type;
  if (type === 'array') return 'list';
  return 'string';
}
