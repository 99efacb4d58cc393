/**
 * A table of named counters on the embedded store that PostgreSQL keeps as sequences: the work
 * orders' `work_order_counters` (the last order number and change number given, migration 23)
 * are `work_order_numbers` and `work_order_changes` there (migration 30). Each counter's
 * sequence is set to its value, so the next number PostgreSQL draws is the one the embedded
 * store would have drawn: no order number or change number is given twice.
 */
import { keyedSelect, keysetReader, quote, type ImportTable } from './table.js';

export interface CounterTableSpec {
  readonly name: string;
  /** The source's counter name → the target's sequence. */
  readonly sequences: Readonly<Record<string, string>>;
}

/** A counter table read as (name, value) rows, each row setting its sequence. */
export function counterTable(spec: CounterTableSpec): ImportTable {
  const table = quote(spec.name);
  return {
    name: spec.name,
    count: (source) => (source.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    // Sequences hold no rows: whether the target holds data no import wrote, the table the
    // counters number (work_orders) tells.
    hasRows: () => Promise.resolve(false),
    open: ({ source }) => Promise.resolve({
      read: keysetReader(source, keyedSelect(table, 'name, value', ['name']), [0]),
      write: async (tx, batch) => {
        let copied = 0;
        for (const [name, value] of batch.rows as readonly (readonly [string, number])[]) {
          const sequence = spec.sequences[name];
          if (sequence === undefined) throw new Error(`import table ${spec.name}: no sequence for the counter ${name}`);
          // A sequence starts at 1 and cannot be set to 0: a counter never drawn leaves it there.
          if (value > 0) await tx`SELECT setval(${sequence}::regclass, ${value}::int8)`;
          copied++;
        }
        return { copied, skipped: {} };
      },
      // Set with the rows. setval outlives a batch rolled back; the batch copied again sets the same values.
      finish: () => Promise.resolve(),
    }),
  };
}
