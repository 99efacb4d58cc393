/**
 * Alarm notifications leave only from the leader: on a real PostgreSQL, with a real HTTP
 * receiver, the notifiers of a leader that was paused while a standby took over still carry
 * its old token; the store refuses the notification's mark, so the webhook hears nothing from
 * it, and the refusals are counted and logged at most once a minute. The new leader's go through.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Value } from 'typebox/value';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PostgresAlarmNotificationLog } from '../../../../src/alarms/notify/fencing.js';
import { createAlarmNotifiers, type AlarmNotifiers } from '../../../../src/alarms/notify/index.js';
import type { AlarmChange } from '../../../../src/alarms/service.js';
import type { Leadership } from '../../../../src/cluster/fencing.js';
import { AlarmsConfig } from '../../../../src/config/schema.js';
import { meterId, type Alarm } from '../../../../src/domain/index.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { openPostgres, type PostgresDatabase } from '../../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../../src/storage/postgres/migrations.js';
import { eventually } from '../../../helpers/headend.js';
import { pausableLeader } from '../../../helpers/pausableLeader.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the fenced alarm notification tests: ${unavailable}`);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let cluster: TestPostgres | undefined;
afterAll(async () => {
  await cluster?.dispose();
});

function change(id: string): AlarmChange {
  const alarm: Alarm = {
    id, ruleId: 'over-limit', detector: 'power-over-limit', subject: { kind: 'meter', id: meterId('m1') }, areaId: null,
    severity: 'major', state: 'raised', raisedAt: 1_750_000_000_000, since: 1_749_999_940_000, acknowledgedAt: null, acknowledgedBy: null,
    clearedAt: null, explanation: 'power over the limit', clearExplanation: null, explanationData: null, clearExplanationData: null, value: 12.4, comments: [],
  };
  return { kind: 'raised', alarm };
}

/** A real webhook receiver: the alarm ids it was sent, in order. */
async function receiver(): Promise<{ url: string; ids: string[] }> {
  const ids: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      ids.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alarm: { id: string } }).alarm.id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, ids };
}

/** One node's notifiers, gated by `leadership`; `warnings` are its log lines about held-back notifications. */
function notifiers(db: PostgresDatabase, url: string, leadership: Leadership): { n: AlarmNotifiers; warnings: string[] } {
  const warnings: string[] = [];
  const logger = createLogger('warn', { write: (line: string) => { warnings.push(line); } });
  const config = Value.Default(AlarmsConfig, { mqtt: { enabled: false }, webhooks: [{ url, secret: 's3cret', minSeverity: 'info', timeoutMs: 2_000 }] }) as AlarmsConfig;
  const n = createAlarmNotifiers(config, { url: 'mqtt://127.0.0.1:1', clientId: 'unused' }, logger, { leadership, log: new PostgresAlarmNotificationLog(db) });
  n.start();
  cleanups.push(() => n.close());
  return { n, warnings };
}

describe.skipIf(unavailable !== undefined)('fenced alarm notifications on PostgreSQL', () => {
  it('refuses a woken old leader\'s notifications before they are sent, once logged; the new leader\'s go through', async () => {
    cluster ??= await startPostgres();
    const dbUrl = await cluster.createDatabase();
    const db = await openPostgres({ url: dbUrl, config: POSTGRES_TEST_CONFIG });
    cleanups.push(() => db.close());
    await migratePostgres(db);
    const hook = await receiver();
    const leaders = await pausableLeader(db, dbUrl);
    cleanups.push(() => leaders.dispose());

    // Leading, the old node notifies.
    const old = notifiers(db, hook.url, leaders.believed);
    old.n.notify(change('1'));
    await eventually(() => Promise.resolve(hook.ids.length === 1 ? true : undefined), 10_000, 'the leader\'s notification');

    const current = await leaders.takeOver();

    // Awake with its old token: refused, nothing reaches the receiver, said once.
    old.n.notify(change('2'));
    old.n.notify(change('3'));
    await eventually(() => Promise.resolve(old.n.fencing()?.stale === 2 ? true : undefined), 10_000, 'both refusals');
    expect(old.n.fencing()).toMatchObject({ sent: 1, stale: 2, notLeading: 0, unrecorded: 0, dropped: 0 });
    expect(old.warnings.filter((l) => l.includes('STALE_FENCING_TOKEN'))).toHaveLength(1);

    // The new leader's notification goes out, and the receiver has nothing from the old one.
    const fresh = notifiers(db, hook.url, current);
    fresh.n.notify(change('4'));
    await eventually(() => Promise.resolve(hook.ids.length === 2 ? true : undefined), 10_000, 'the new leader\'s notification');
    expect(hook.ids).toEqual(['1', '4']);
    const marks = await db.sql<{ alarm_id: string; token: string }[]>`SELECT alarm_id::text, token::text FROM alarm_notifications ORDER BY alarm_id`;
    expect(marks.map((m) => [m.alarm_id, m.token])).toEqual([['1', '1'], ['4', '2']]);
  }, 60_000);

  it('sends nothing from a node that knows it does not lead', async () => {
    cluster ??= await startPostgres();
    const db = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
    cleanups.push(() => db.close());
    await migratePostgres(db);
    const hook = await receiver();
    const standby = notifiers(db, hook.url, { fence: () => undefined });
    standby.n.notify(change('1'));
    await eventually(() => Promise.resolve(standby.n.fencing()?.notLeading === 1 ? true : undefined), 10_000, 'the standby holds it back');
    expect(hook.ids).toEqual([]);
    expect(await db.sql`SELECT 1 FROM alarm_notifications`).toHaveLength(0);
  });
});
