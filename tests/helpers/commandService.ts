/**
 * The station's command service for tests of what acts through it (the control port,
 * load-control programs): the real store, audit and action logs in the given database, over
 * the runner the test supplies (a stand-in device, or the collector's lanes). Settings are
 * generous so a manual clock never holds a command back on the rate limit.
 */
import { SqliteControlActionStore, type ControlActionStore } from '../../src/control/actions.js';
import { SqliteAuditLog, type AuditLog } from '../../src/control/audit.js';
import { SqliteCommandStore } from '../../src/control/commandStore.js';
import { CommandService, type CommandRunner, type CommandSettings } from '../../src/control/commands.js';
import type { Meter } from '../../src/domain/index.js';
import type { Db } from '../../src/storage/db.js';

export const TEST_COMMAND_SETTINGS: CommandSettings = {
  confirmAbove: 1_000, perTerminalRatePerMinute: 6_000, commandTimeoutMs: 3_000, idempotencyHours: 24, maxConcurrentTerminals: 4,
};

export interface TestCommandService {
  readonly service: CommandService;
  readonly actions: ControlActionStore;
  readonly audit: AuditLog;
}

export function testCommandService(o: {
  readonly db: Db; readonly meters: readonly Meter[]; readonly run: CommandRunner; readonly now?: () => number;
  /** Terminals whose adapter offers payment metering; none when absent. */
  readonly paymentMetering?: (terminalId: string) => boolean;
}): TestCommandService {
  const now = o.now ?? Date.now;
  const actions = new SqliteControlActionStore(o.db);
  const audit = new SqliteAuditLog(o.db, { now });
  const service = new CommandService({
    store: new SqliteCommandStore(o.db), audit, run: o.run, now, settings: TEST_COMMAND_SETTINGS, actions,
    meters: { meter: (id) => o.meters.find((m) => m.id === id), metersOfArea: () => o.meters },
    // A test's store is a local file: a failed write is a bug to see, not a fault to ride out.
    onStoreError: (err) => { throw err; },
    ...(o.paymentMetering === undefined ? {} : { paymentMetering: o.paymentMetering }),
  });
  return { service, actions, audit };
}
