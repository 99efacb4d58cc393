/**
 * What `gridhead db import` copies, held against the embedded store's schema after every
 * migration: each table is imported or left with a stated reason, each imported table names
 * the store's columns with a kind that fits their declared type, and comes after the tables
 * its foreign keys refer to. The next table a migration adds fails here until it is placed.
 * (The PostgreSQL side of the same columns: tests/src/cli/dbImport.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IMPORT_TABLES, NOT_IMPORTED } from '../../../../src/storage/import/tables.js';
import type { ColumnType } from '../../../../src/storage/import/table.js';
import { openDatabase } from '../../../../src/storage/db.js';

/** The kinds a column of each SQLite declared type may be carried as. */
const KINDS_OF: Readonly<Record<string, readonly ColumnType[]>> = {
  INTEGER: ['int', 'bool'],
  REAL: ['float'],
  TEXT: ['text', 'json'],
  BLOB: ['bytes'],
};

describe('the tables gridhead db import copies', () => {
  const db = openDatabase(':memory:');
  afterAll(() => {
    db.close();
  });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[]);
  const imported = IMPORT_TABLES.map((t) => t.name);

  it('imports every table of the migrated embedded store, or leaves it with a reason', () => {
    expect(tables.length).toBeGreaterThan(40);
    const forgotten = tables.filter((t) => !imported.includes(t) && NOT_IMPORTED[t] === undefined);
    expect(forgotten, 'tables neither in IMPORT_TABLES nor in NOT_IMPORTED (src/storage/import/tables.ts)').toEqual([]);
    for (const reason of Object.values(NOT_IMPORTED)) expect(reason.length).toBeGreaterThan(20);
    expect(imported.filter((t) => NOT_IMPORTED[t] !== undefined)).toEqual([]);
    expect(new Set(imported).size).toBe(imported.length);
    expect([...imported, ...Object.keys(NOT_IMPORTED)].filter((t) => !tables.includes(t)), 'entries naming no table of the embedded store').toEqual([]);
  });

  it('copies every column of an imported table, each as a kind its declared type holds', () => {
    for (const table of IMPORT_TABLES) {
      if (table.columns === undefined) continue;
      const declared = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table.name) as { name: string; type: string }[];
      expect(Object.keys(table.columns).sort(), table.name).toEqual(declared.map((c) => c.name).sort());
      for (const { name, type } of declared) expect(KINDS_OF[type], `${table.name}.${name} (${type})`).toContain(table.columns[name]);
    }
  });

  it('copies a table after the tables its foreign keys refer to', () => {
    for (const [i, table] of IMPORT_TABLES.entries()) {
      const parents = db.prepare('SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)').pluck().all(table.name) as string[];
      for (const parent of parents.filter((p) => p !== table.name)) {
        expect(imported.indexOf(parent), `${table.name} refers to ${parent}`).toBeGreaterThanOrEqual(0);
        expect(imported.indexOf(parent), `${table.name} refers to ${parent}`).toBeLessThan(i);
      }
    }
  });
});
