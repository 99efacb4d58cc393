/**
 * A large fleet written straight into an embedded store's registry tables, as a restart
 * finds it, for the benchmarks that open a million meters: one terminal per `perTerminal`
 * meters, one transformer area per `perArea` meters, the areas spread over feeders (and
 * substations, when asked) under one region. Ids are zero-padded so key order is fleet order:
 * meter `m0000042`, terminal `t0000004`, area `tx0000000`.
 */
import type { Db } from '../../src/storage/db.js';

export interface BenchFleetShape {
  readonly meters: number;
  readonly perTerminal: number;
  readonly perArea: number;
  readonly feeders: number;
  /** Substations between the region and the feeders; none: feeders hang off the region. */
  readonly substations?: number;
  /** Gives each meter a customer reference `C-<n>`. */
  readonly customerRefs?: boolean;
}

export const benchPad = (i: number): string => String(i).padStart(7, '0');

export function fillBenchFleet(db: Db, shape: BenchFleetShape): void {
  const { meters, perTerminal, perArea, feeders, substations = 0 } = shape;
  const area = db.prepare('INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)');
  const terminal = db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
                               VALUES (?, ?, 'mqtt', 1, '[]', '{"mqtt":{}}', 0, 0)`);
  const meter = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id,
                              protected, customer_ref, account_ref, created_at, updated_at)
                            VALUES (?, ?, ?, ?, 1, 1, NULL, NULL, ?, 0, ?, NULL, 0, 0)`);
  db.transaction(() => {
    area.run('r', 'Region', 'region', null, null);
    for (let s = 0; s < substations; s++) area.run(`s${s}`, `Substation ${s}`, 'substation', 'r', null);
    for (let f = 0; f < feeders; f++) area.run(`f${f}`, `Feeder ${f}`, 'feeder', substations === 0 ? 'r' : `s${f % substations}`, null);
    for (let a = 0; a * perArea < meters; a++) area.run(`tx${benchPad(a)}`, `TX ${a}`, 'transformer', `f${a % feeders}`, 400);
    for (let i = 0; i < meters; i++) {
      if (i % perTerminal === 0) terminal.run(`t${benchPad(i / perTerminal)}`, `Terminal ${i / perTerminal}`);
      const id = `m${benchPad(i)}`;
      meter.run(id, id, `t${benchPad(Math.floor(i / perTerminal))}`, String(i % perTerminal), `tx${benchPad(Math.floor(i / perArea))}`,
        shape.customerRefs === true ? `C-${benchPad(i)}` : null);
    }
  })();
}
