import { describe, expect, it } from 'vitest';
import { otaBaseUrl } from '../../../src/config/firmwareOta.js';
import { parseConfig } from '../../../src/config/load.js';

describe('firmware.ota configuration', () => {
  it('applies the documented defaults when the section is left out', () => {
    const config = parseConfig('{}', 'test');
    expect(config.firmware.ota).toEqual({ tokenTtlMs: 21_600_000, maxTokens: 100_000, maxConcurrentDownloads: 16, busyRetryAfterSec: 30, publishTimeoutMs: 10_000, maxPendingOffers: 1_000 });
    expect(otaBaseUrl(config.firmware.ota, 'http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });

  it('takes a public base URL and refuses one that is not http(s)', () => {
    const config = parseConfig('firmware:\n  ota:\n    baseUrl: https://headend.example.net/gridhead\n', 'test');
    expect(otaBaseUrl(config.firmware.ota, 'http://0.0.0.0:8080')).toBe('https://headend.example.net/gridhead');
    expect(() => parseConfig('firmware:\n  ota:\n    baseUrl: ftp://x\n', 'test')).toThrow(/baseUrl/);
    expect(() => parseConfig('firmware:\n  ota:\n    tokenTtlMs: 10\n', 'test')).toThrow(/tokenTtlMs/);
  });
});
