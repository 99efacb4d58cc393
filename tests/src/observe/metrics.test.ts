import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/observe/metrics.js';

describe('station metrics', () => {
  it('names the process and Node.js metrics gridhead_process_… and gridhead_nodejs_…, without a doubled prefix', async () => {
    const text = await createMetrics([{ name: 'gridhead_logins', help: 'Dashboard login attempts', type: 'counter', read: () => [{ value: 3 }] }]).metrics();
    expect(text).not.toMatch(/gridhead_process_process_|gridhead_process_nodejs_/);
    expect(text).toMatch(/^gridhead_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^gridhead_process_resident_memory_bytes /m);
    expect(text).toMatch(/^gridhead_nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^gridhead_logins_total 3$/m);
  });
});
