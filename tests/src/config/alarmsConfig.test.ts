import { describe, expect, it } from 'vitest';
import { ConfigError, buildConfig } from '../../../src/config/load.js';

describe('alarms and events configuration', () => {
  it('fills defaults, including inside each webhook', () => {
    const c = buildConfig({ alarms: { webhooks: [{ url: 'https://hooks.example/alarms', secret: '0123456789abcdef' }] } }, 'test');
    expect(c.alarms).toEqual({
      mqtt: { enabled: true, topicPrefix: 'gridhead/v1/_alarms' },
      maxOpenPerRule: 10_000,
      storeQueueMax: 10_000,
      webhooks: [{
        url: 'https://hooks.example/alarms', secret: '0123456789abcdef', minSeverity: 'warning', timeoutMs: 5_000,
        maxAttempts: 8, retryMinMs: 1_000, retryMaxMs: 300_000, queueCapacity: 1_000,
      }],
    });
    expect(c.events).toEqual({ retentionDays: 90, maxRows: 5_000_000 });
  });

  it('names the path of a bad webhook setting', () => {
    let error: unknown;
    try {
      buildConfig({ alarms: { webhooks: [{ url: 'ftp://x', secret: 'short', minSeverity: 'loud' }] } }, 'test');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['alarms.webhooks[0].url', 'alarms.webhooks[0].secret', 'alarms.webhooks[0].minSeverity']));
  });
});
