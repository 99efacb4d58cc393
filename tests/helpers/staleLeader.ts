/**
 * A leader that was paused while another node took over, for the tests of fenced duties: the
 * old leader campaigns in a process of its own (leaseHolderProcess.ts) and gains token 1; it
 * is stopped (SIGSTOP), the standby's lease in the test process takes over under token 2.
 *
 * `stale` is what the old leader's duties carry when it wakes: the token it was given before
 * the pause, as a process whose clock stood still while it was suspended (a paused VM) still
 * believes it holds. Only the store's check stands between that belief and a side effect.
 */
import type { FencingToken, Leadership } from '../../src/cluster/fencing.js';
import { Lease } from '../../src/cluster/lease.js';
import type { PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { forkTypeScript, nextMessage } from '../bench/forkTs.js';
import { eventually } from './headend.js';
import { HOLDER_LEASE_MS, isReply, type HolderReply } from './leaseHolderProcess.js';

export interface StaleLeader {
  /** The paused old leader's belief: token 1 of `leader`, now stale. */
  readonly stale: Leadership;
  /** The standby that took over, token 2: the current leader. */
  readonly current: Lease;
  /** Ends the old leader's process and releases the standby's lease. */
  dispose(): Promise<void>;
}

export async function staleLeader(db: PostgresDatabase, url: string): Promise<StaleLeader> {
  const old = await forkTypeScript('tests/helpers/leaseHolderProcess.ts', ['--lease-holder', url, 'old']);
  const current = new Lease(db, { name: 'leader', holder: 'standby', leaseMs: HOLDER_LEASE_MS, renewEveryMs: 200 });
  const dispose = async (): Promise<void> => {
    old.child.kill('SIGCONT');
    await old.dispose();
    await current.close();
  };
  try {
    const gained = await nextMessage(old.child, (m): m is Extract<HolderReply, { token: number }> => isReply('gained')(m));
    const believed: FencingToken = { lease: 'leader', token: gained.token };
    old.child.kill('SIGSTOP');
    current.start();
    await eventually(() => Promise.resolve(current.isHolder() ? true : undefined), 10_000, 'the standby takes over');
    return { stale: { fence: () => believed }, current, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
