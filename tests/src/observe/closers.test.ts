import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observe/logger.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = createLogger('debug', { write: (s: string) => { out.push(s); } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('ShutdownOrder', () => {
  it('closes last first, goes on past a part that fails, and names a part that is slow to close while it still closes', async () => {
    const { logger, lines } = capture();
    const order = new ShutdownOrder(logger, 20);
    const closed: string[] = [];
    order.add('first', () => { closed.push('first'); });
    order.add('slow', async () => { await new Promise((r) => setTimeout(r, 70)); closed.push('slow'); });
    order.add('broken', () => { throw new Error('boom'); });
    await order.closeAll();
    expect(closed).toEqual(['slow', 'first']);
    const log = lines();
    expect(log.find((l) => l.msg === 'error while shutting down')?.component).toBe('broken');
    const still = log.filter((l) => l.msg === 'still closing');
    expect(still.length).toBeGreaterThanOrEqual(1);
    expect(still.every((l) => l.component === 'slow')).toBe(true);
    expect(log.filter((l) => l.msg === 'closed').map((l) => l.component)).toEqual(['broken', 'slow', 'first']);
    // Nothing is left to close a second time.
    await order.closeAll();
    expect(closed).toEqual(['slow', 'first']);
  });
});
