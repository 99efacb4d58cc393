/**
 * A leader that is paused while another node takes over, for the tests of fenced duties: the
 * old leader campaigns in a process of its own (leaseHolderProcess.ts) and gains token 1;
 * `takeOver()` stops it (SIGSTOP) and the standby's lease in the test process takes over under
 * token 2.
 *
 * `believed` is what the old leader's duties carry, before the pause and after it wakes: the
 * token it was given, as a process whose clock stood still while it was suspended (a paused
 * VM) still believes it holds. After the takeover only the store's check stands between that
 * belief and a side effect.
 */
import type { FencingToken, Leadership } from '../../src/cluster/fencing.js';
import { Lease } from '../../src/cluster/lease.js';
import type { PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { forkTypeScript, nextMessage } from '../bench/forkTs.js';
import { eventually } from './headend.js';
import { HOLDER_LEASE_MS, isReply, type HolderReply } from './leaseHolderProcess.js';

export interface PausableLeader {
  /** The old leader's belief: token 1 of `leader`, current until `takeOver()`, stale after. */
  readonly believed: Leadership;
  /** Pauses the old leader until a standby holds the lease; resolves with the standby's lease (token 2). */
  takeOver(): Promise<Lease>;
  /** Ends the old leader's process and releases the standby's lease. */
  dispose(): Promise<void>;
}

export async function pausableLeader(db: PostgresDatabase, url: string): Promise<PausableLeader> {
  const old = await forkTypeScript('tests/helpers/leaseHolderProcess.ts', ['--lease-holder', url, 'old']);
  const standby = new Lease(db, { name: 'leader', holder: 'standby', leaseMs: HOLDER_LEASE_MS, renewEveryMs: 200 });
  const dispose = async (): Promise<void> => {
    old.child.kill('SIGCONT');
    await old.dispose();
    await standby.close();
  };
  try {
    const gained = await nextMessage(old.child, (m): m is Extract<HolderReply, { token: number }> => isReply('gained')(m));
    const believed: FencingToken = { lease: 'leader', token: gained.token };
    return {
      believed: { fence: () => believed },
      takeOver: async () => {
        old.child.kill('SIGSTOP');
        standby.start();
        await eventually(() => Promise.resolve(standby.isHolder() ? true : undefined), 10_000, 'the standby takes over');
        return standby;
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
