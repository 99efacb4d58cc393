/**
 * One table of an import from the embedded store into PostgreSQL: what `gridhead db import`
 * copies is a list of these (src/storage/import/tables.ts), so a store that gains its
 * PostgreSQL implementation adds one entry.
 *
 * A table is read from SQLite in the order of a unique key, in batches (keyset pagination:
 * `WHERE (key) > (last key) ORDER BY key LIMIT n`), so no table is ever held in memory and an
 * interrupted import resumes after the last key committed. Each batch is inserted with one
 * multi-row `unnest` statement, `ON CONFLICT (key) DO NOTHING`, so a batch sent twice stores
 * nothing twice.
 */
import type { Db } from '../db.js';
import type { Sql, TransactionSql } from '../postgres/connection.js';

/** A key's column values of one row, as stored in `import_progress.last_key`. */
export type KeyValues = readonly (string | number)[];

/** What a table copy needs to know of the run. */
export interface ImportContext {
  readonly source: Db;
  /** The pool: a table prepares its copy on it (maps, partitions) before the first batch. */
  readonly sql: Sql;
  readonly now: number;
  /** `storage.retentionDays` and `storage.postgres.partitionDaysAhead`: the readings the PostgreSQL store keeps. */
  readonly retentionDays: number;
  readonly partitionDaysAhead: number;
}

/** Source rows of one batch, as column arrays, and the key of its last row. */
export interface SourceBatch {
  readonly rows: readonly (readonly unknown[])[];
  readonly lastKey: KeyValues;
}

/** What one batch did in the target: rows inserted, and rows not copied by reason. */
export interface BatchOutcome {
  readonly copied: number;
  readonly skipped: Readonly<Record<string, number>>;
}

/** A table's copy for one run, prepared by `ImportTable.open`. */
export interface TableCopy {
  /** The next rows after `after` (from the start when undefined), at most `limit`; empty at the end. */
  read(after: KeyValues | undefined, limit: number): SourceBatch;
  /** Inserts a batch within `tx` (the transaction that also records the progress). */
  write(tx: TransactionSql, batch: SourceBatch): Promise<BatchOutcome>;
  /** After the last batch, and again on a later run: sets sequences past the copied ids. */
  finish(sql: Sql): Promise<void>;
}

export interface ImportTable {
  /** The table's name: in both stores, and in `import_progress`. */
  readonly name: string;
  /**
   * The columns copied as they are, by kind: the same names in both stores (a test holds both
   * migrations to them). Absent for a table whose rows are translated (readings.ts) or that
   * holds no rows on PostgreSQL (counters.ts).
   */
  readonly columns?: Readonly<Record<string, ColumnType>>;
  /** Rows to read from the source, for the progress display. */
  count(source: Db): number;
  /** Whether the target table holds any row (the import refuses a database holding data it did not write). */
  hasRows(sql: Sql): Promise<boolean>;
  open(context: ImportContext): Promise<TableCopy>;
}

/** How a source column's value is carried to its PostgreSQL column. */
export type ColumnType =
  | 'int'    // INTEGER → bigint/integer/smallint
  | 'float'  // REAL → double precision
  | 'text'   // TEXT → text
  | 'json'   // TEXT holding JSON → jsonb
  | 'bool'   // INTEGER 0/1 → boolean
  | 'bytes'; // BLOB → bytea

export interface PlainTableSpec {
  readonly name: string;
  /** Every column, by name: the same in both stores. */
  readonly columns: Readonly<Record<string, ColumnType>>;
  /** A unique key of both tables (usually the primary key): read order, resumption and ON CONFLICT. */
  readonly key: readonly string[];
  /**
   * The sequence that hands out this table's ids on PostgreSQL, set past the highest copied id
   * when the table is done: `identity` for a `GENERATED … AS IDENTITY` column (the insert then
   * overrides it), or a sequence's name and step for ids handed out in blocks.
   */
  readonly ids?: { readonly column: string; readonly identity: true } | { readonly column: string; readonly sequence: string };
  /**
   * The column of a self-reference (areas.parent_id → areas.id, `key` a single column). The
   * target's foreign key is checked at the end of each insert statement, so a child may come in
   * its parent's batch but not in an earlier one; keyset order by id alone would put a child
   * whose id sorts first before its parent. Such a table is read parents first instead, by
   * depth below its roots (a recursive query), and resumed by (depth, key).
   */
  readonly parent?: string;
  /**
   * Rows as large as a firmware image (firmware.maxImageBytes, up to 256 MiB): read one at a
   * time and inserted with their bytes as a bytea parameter. A batch's array parameter is sent
   * as one string, twice the bytes in hex: a few images would pass the longest string V8 makes
   * (about 512 Mi characters), and a batch of them would be held in memory twice.
   */
  readonly oneRowAtATime?: boolean;
}

const ARRAY_TYPE: Readonly<Record<ColumnType, string>> = { int: 'int8', float: 'float8', text: 'text', json: 'text', bool: 'int8', bytes: 'text' };

/** A table copied column for column, every row as it is: the common case. */
export function plainTable(spec: PlainTableSpec): ImportTable {
  const names = Object.keys(spec.columns);
  const types = names.map((n) => spec.columns[n] ?? 'text');
  const cols = names.map(quote).join(', ');
  const keyCols = spec.key.map(quote).join(', ');
  const table = quote(spec.name);
  const keyIndex = spec.key.map((k) => names.indexOf(k));
  if (keyIndex.some((i) => i < 0)) throw new Error(`import table ${spec.name}: key ${spec.key.join(', ')} is not among its columns`);
  const order = spec.parent === undefined ? { select: keyedSelect(table, cols, spec.key), keyIndex } : treeOrder(spec, table, names, keyIndex);
  const converted = names.map((n, i) => {
    const type = types[i];
    if (type === 'json') return `${quote(n)}::jsonb`;
    if (type === 'bool') return `${quote(n)} <> 0`;
    if (type === 'bytes' && spec.oneRowAtATime !== true) return `decode(${quote(n)}, 'hex')`;
    return quote(n);
  });
  const overriding = spec.ids !== undefined && 'identity' in spec.ids ? ' OVERRIDING SYSTEM VALUE' : '';
  const insert = spec.oneRowAtATime === true
    ? `INSERT INTO ${table} (${cols})${overriding}
      SELECT ${converted.join(', ')} FROM (VALUES (${types.map((t, i) => `$${i + 1}::${t === 'bytes' ? 'bytea' : ARRAY_TYPE[t]}`).join(', ')})) AS u(${cols})
      ON CONFLICT (${keyCols}) DO NOTHING`
    : `INSERT INTO ${table} (${cols})${overriding}
      SELECT ${converted.join(', ')} FROM unnest(${types.map((t, i) => `$${i + 1}::${ARRAY_TYPE[t]}[]`).join(', ')}) AS u(${cols})
      ON CONFLICT (${keyCols}) DO NOTHING`;
  return {
    name: spec.name,
    columns: spec.columns,
    count: (source) => (source.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    hasRows: async (sql) => (await sql.unsafe(`SELECT 1 FROM ${table} LIMIT 1`)).length > 0,
    open: ({ source }) => {
      const highWater = sourceHighWater(source, spec);
      const read = keysetReader(source, order.select, order.keyIndex);
      const copy: TableCopy = {
        read: spec.oneRowAtATime === true ? (after) => read(after, 1) : read,
        write: async (tx, batch) => {
          if (batch.rows.length === 0) return { copied: 0, skipped: {} };
          if (spec.oneRowAtATime === true) {
            let copied = 0;
            for (const row of batch.rows) copied += (await tx.unsafe(insert, types.map((_, i) => row[i] ?? null) as never[], { prepare: true })).count;
            return { copied, skipped: {} };
          }
          const columns = types.map((type, i) => batch.rows.map((row) => targetValue(type, row[i])));
          const result = await tx.unsafe(insert, columns as never[], { prepare: true });
          return { copied: result.count, skipped: {} };
        },
        finish: async (sql) => {
          const ids = spec.ids;
          if (ids === undefined) return;
          const sequence = 'identity' in ids ? `pg_get_serial_sequence('${spec.name}', '${ids.column}')` : `'${ids.sequence}'`;
          // Past the highest id copied, and past the highest the source ever handed out (an
          // AUTOINCREMENT id whose row was deleted): the next id PostgreSQL hands out (or the
          // next block's first) is new, as it would have been on the embedded store.
          await sql.unsafe(`SELECT setval(${sequence}, m) FROM (SELECT greatest(max(${quote(ids.column)}), $1::int8) AS m FROM ${table}) s WHERE m > 0`, [highWater]);
        },
      };
      return Promise.resolve(copy);
    },
  };
}

/**
 * Reads source rows in batches with `select` (`after`: the statement resuming after a key, whose
 * values are bound before the limit); `keyIndex` gives the key's positions in a row.
 */
export function keysetReader(source: Db, select: (after: boolean) => string, keyIndex: readonly number[]): TableCopy['read'] {
  const first = source.prepare(select(false)).raw();
  const next = source.prepare(select(true)).raw();
  return (after, limit) => {
    const rows = (after === undefined ? first.all(limit) : next.all(...after, limit)) as unknown[][];
    const last = rows.at(-1);
    return { rows, lastKey: last === undefined ? after ?? [] : keyIndex.map((i) => last[i] as string | number) };
  };
}

/** Source rows in the order of the table's key, resumed after the last key read. */
export function keyedSelect(table: string, cols: string, key: readonly string[]): (after: boolean) => string {
  const keyCols = key.map(quote).join(', ');
  return (after) => `SELECT ${cols} FROM ${table}${after ? ` WHERE (${keyCols}) > (${key.map(() => '?').join(', ')})` : ''} ORDER BY ${keyCols} LIMIT ?`;
}

/**
 * Source rows parents first: by depth below the roots, then key. Each row carries its depth
 * after its columns (the insert ignores it), so the resumption key is (depth, key). Every row
 * is reached: the source's foreign key refuses a parent that does not exist, and the registry
 * a parent among a row's own descendants.
 */
function treeOrder(spec: PlainTableSpec, table: string, names: readonly string[], keyIndex: readonly number[]): { select: (after: boolean) => string; keyIndex: readonly number[] } {
  const [key, more] = spec.key;
  if (key === undefined || more !== undefined || spec.parent === undefined || !names.includes(spec.parent)) {
    throw new Error(`import table ${spec.name}: a parent column needs a single-column key, and must be among the columns`);
  }
  const [k, p] = [quote(key), quote(spec.parent)];
  const cols = names.map((n) => `t.${quote(n)}`).join(', ');
  const select = (after: boolean) => `
    WITH RECURSIVE tree (depth, k) AS (
      SELECT 0, ${k} FROM ${table} WHERE ${p} IS NULL
      UNION ALL
      SELECT tree.depth + 1, c.${k} FROM ${table} c JOIN tree ON c.${p} = tree.k
    )
    SELECT ${cols}, tree.depth FROM tree JOIN ${table} t ON t.${k} = tree.k
    ${after ? `WHERE (tree.depth, t.${k}) > (?, ?)` : ''}
    ORDER BY tree.depth, t.${k} LIMIT ?`;
  return { select, keyIndex: [names.length, ...keyIndex] };
}

/** The highest id an AUTOINCREMENT column of the source ever handed out, deleted rows included (0: none, or no such column). */
function sourceHighWater(source: Db, spec: PlainTableSpec): number {
  if (spec.ids === undefined || !('identity' in spec.ids)) return 0;
  // SQLite creates sqlite_sequence with the first AUTOINCREMENT table.
  if (source.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() === undefined) return 0;
  const row = source.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(spec.name) as { seq: number } | undefined;
  return row?.seq ?? 0;
}

/** A SQL identifier, quoted (columns such as `by` are keywords). */
export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function targetValue(type: ColumnType | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  // A BLOB comes as a Buffer; PostgreSQL takes it as hex (the client sends no bytea arrays).
  if (type === 'bytes') return Buffer.isBuffer(value) ? value.toString('hex') : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('hex');
  return value;
}
