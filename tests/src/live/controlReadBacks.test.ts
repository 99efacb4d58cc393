/**
 * Control read-backs (the meter page's relay and limit from verified commands), one suite run
 * against every driver (embedded SQLite and PostgreSQL, see tests/helpers/storeDrivers.ts),
 * over targets written by the command store of the same driver.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandStore, NewCommand } from '../../../src/control/commandStore.js';
import type { ControlReadBacks } from '../../../src/live/meterState.js';
import { STORE_DRIVERS, commandStoreOf, connectEachTest, controlReadBacksOf, disposeStoreDrivers, postgresDriver } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2024, 0, 1);

function command(id: string, type: NewCommand['type'], meterIds: readonly string[], params: NewCommand['params'] = {}): NewCommand {
  return {
    id, type, params, scope: { meterIds: [...meterIds] }, reason: null, overrideReason: null,
    origin: { kind: 'operator', actor: 'op' }, source: null, idempotencyKey: null, bodyHash: null, createdAt: T0,
    targets: meterIds.map((meterId, i) => ({ meterId, terminalId: 't1', address: String(i + 1), status: 'pending' as const })),
  };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('control read-backs on $name', (driver) => {
  const db = connectEachTest(driver);
  let commands: CommandStore;
  let readBacks: ControlReadBacks;
  beforeEach(() => {
    commands = commandStoreOf(db().connection);
    readBacks = controlReadBacksOf(db().connection);
  });

  it('answers with the newest verified relay read-back of the meter, never an unverified or another meter\'s', async () => {
    expect(await readBacks.relay('m1')).toBeUndefined();
    await commands.insert(command('c1', 'disconnect', ['m1', 'm2']));
    await commands.transition('c1', 'm1', 'verified', T0 + 10, { state: { connected: false } });
    await commands.transition('c1', 'm2', 'verified', T0 + 30, { state: { connected: true } });
    await commands.insert(command('c2', 'reconnect', ['m1']));
    // Read back, but not verified: the station did not see the relay where it was asked to be.
    await commands.transition('c2', 'm1', 'failed', T0 + 20, { state: { connected: true }, error: { code: 'NOT_VERIFIED', message: 'still open' } });
    expect(await readBacks.relay('m1')).toEqual({ connected: false, at: T0 + 10 });
    await commands.insert(command('c3', 'reconnect', ['m1']));
    await commands.transition('c3', 'm1', 'verified', T0 + 40, { state: { connected: true } });
    expect(await readBacks.relay('m1')).toEqual({ connected: true, at: T0 + 40 });
    expect(await readBacks.relay('m2')).toEqual({ connected: true, at: T0 + 30 });
    // A verified limit carries no relay state: the relay stays as last read back.
    await commands.insert(command('c4', 'set-limit', ['m1'], { limitKw: 3.5 }));
    await commands.transition('c4', 'm1', 'verified', T0 + 50, { state: { limitKw: 3.5 } });
    expect(await readBacks.relay('m1')).toEqual({ connected: true, at: T0 + 40 });
  });

  it('answers with the newest verified limit, a cleared one as null', async () => {
    expect(await readBacks.limit('m1')).toBeUndefined();
    await commands.insert(command('c1', 'set-limit', ['m1'], { limitKw: 3.5 }));
    await commands.transition('c1', 'm1', 'verified', T0 + 10, { state: { limitKw: 3.5 } });
    expect(await readBacks.limit('m1')).toEqual({ limitKw: 3.5, at: T0 + 10 });
    await commands.insert(command('c2', 'disconnect', ['m1']));
    await commands.transition('c2', 'm1', 'verified', T0 + 20, { state: { connected: false } });
    await commands.insert(command('c3', 'clear-limit', ['m1']));
    await commands.transition('c3', 'm1', 'verified', T0 + 30, { state: { limitKw: null } });
    expect(await readBacks.limit('m1')).toEqual({ limitKw: null, at: T0 + 30 });
  });

  // Only PostgreSQL plans through this index: the case is not registered for the embedded driver.
  if (driver === postgresDriver) it('finds a meter\'s newest verified read-back through an index on PostgreSQL, not by sorting its targets', async () => {
    const pg = db().connection.postgres;
    if (pg === undefined) throw new Error('a PostgreSQL connection was expected');
    const plan = await pg.sql.begin(async (tx) => {
      // The tables are tiny here: without this the planner would rightly scan them whole.
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN SELECT updated_at FROM command_targets
        WHERE meter_id = 'm1' AND status = 'verified' AND state ? 'limitKw' ORDER BY updated_at DESC LIMIT 1`);
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('command_targets_verified');
    expect(text).not.toMatch(/\bSort\b/);
  });
});
