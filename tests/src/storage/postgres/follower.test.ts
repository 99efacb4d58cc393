/**
 * The follower of other nodes' changes: a burst of ids goes into one catch-up with their notes
 * merged, too many ids waiting become one read of everything, and a catch-up that fails keeps
 * its work for the retry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeFollower, FOLLOW_PENDING_MAX_IDS, type FollowCatchUp } from '../../../../src/storage/postgres/follower.js';

const ARRIVAL = { timeout: 10_000, interval: 5 };

describe('following changes other nodes commit', () => {
  const followers: ChangeFollower<number>[] = [];
  afterEach(async () => {
    for (const f of followers.splice(0)) await f.stop();
  });

  const follower = (apply: (work: FollowCatchUp<number>) => Promise<void>, errors: unknown[] = []): ChangeFollower<number> => {
    const f = new ChangeFollower<number>({ apply, merge: (a, b) => a | b, onError: (err) => errors.push(err) });
    followers.push(f);
    return f;
  };
  const described = (w: FollowCatchUp<number>) => (w.all ? 'all' : [...w.ids].map(([id, n]) => `${id}=${n}`).sort().join(','));

  it('applies a burst in one catch-up, with the notes of an id heard twice merged', async () => {
    const work: string[] = [];
    const f = follower((w) => { work.push(described(w)); return Promise.resolve(); });
    f.changed('1', 1);
    f.changed('2', 1);
    f.changed('1', 2);
    await expect.poll(() => work, ARRIVAL).toEqual(['1=3,2=1']);
  });

  it('reads everything once when more ids wait than it keeps', async () => {
    const work: string[] = [];
    const f = follower((w) => { work.push(described(w)); return Promise.resolve(); });
    for (let i = 0; i <= FOLLOW_PENDING_MAX_IDS; i++) f.changed(String(i), 1);
    f.changed('late', 1);
    await expect.poll(() => work, ARRIVAL).toEqual(['all']);
  });

  it('keeps the work of a failed catch-up, with what arrived meanwhile, for the retry', async () => {
    const work: string[] = [];
    const errors: unknown[] = [];
    let fail = true;
    const f = follower((w) => {
      work.push(described(w));
      if (!fail) return Promise.resolve();
      fail = false;
      f.changed('2', 1);
      return Promise.reject(new Error('database unreachable'));
    }, errors);
    f.changed('1', 1);
    await expect.poll(() => work, ARRIVAL).toEqual(['1=1', '1=1,2=1']);
    expect(errors).toEqual([new Error('database unreachable')]);
  });
});
