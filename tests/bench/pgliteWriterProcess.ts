/**
 * A process that writes readings into PGlite persisted at a directory, batch after batch,
 * and reports each commit over IPC, so the benchmark can SIGKILL it in the middle of a write
 * and count what survived. Usage: pgliteWriterProcess <dataDir> <firstTs>.
 */
import { PGlite } from '@electric-sql/pglite';
import { BATCH, METER_IDS, buildReadings, toColumns } from './readingsWorkload.js';
import { DAY_MS, UNNEST_INSERT, dailyPartitionsDdl } from './postgresReadings.js';

export type WriterMessage =
  | { readonly type: 'open'; readonly ms: number }
  | { readonly type: 'committed'; readonly rows: number };

/** The child stops by itself after this many batches if nobody kills it. */
const MAX_BATCHES = 60;
const STEP_MS = 900_000;

const [dataDir, firstArg] = process.argv.slice(2);
if (dataDir === undefined || firstArg === undefined) throw new Error('usage: pgliteWriterProcess <dataDir> <firstTs>');
const firstTs = Number(firstArg);
const send = (m: WriterMessage): void => { process.send?.(m); };
process.on('disconnect', () => process.exit(0));

const opened = performance.now();
const db = await PGlite.create(dataDir);
await db.query('SELECT 1');
send({ type: 'open', ms: performance.now() - opened });

const keys = new Map(METER_IDS.map((id, i) => [id, i + 1]));
const perInterval = METER_IDS.length * 8;
await db.exec(dailyPartitionsDdl(firstTs, firstTs + Math.ceil((MAX_BATCHES * BATCH) / perInterval) * STEP_MS + DAY_MS));
const readings = buildReadings(MAX_BATCHES * BATCH, firstTs, STEP_MS);
let rows = 0;
for (let i = 0; i < readings.length; i += BATCH) {
  const c = toColumns(readings.slice(i, i + BATCH), (id) => keys.get(id));
  await db.query(UNNEST_INSERT, [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source]);
  rows += c.meterKey.length;
  send({ type: 'committed', rows });
}
await db.close();
