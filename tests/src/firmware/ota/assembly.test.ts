import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { createMqttOta } from '../../../../src/firmware/ota/index.js';
import { createLogger, LogThrottle } from '../../../../src/observe/logger.js';

function assemble(yaml: string, apiUrl: string | undefined) {
  const closers: string[] = [];
  const ota = createMqttOta({
    config: parseConfig(yaml, 'test'), logger: createLogger('silent'), throttle: new LogThrottle(60_000),
    closers: { add: (name) => { closers.push(name); } },
    broker: { url: 'mqtt://127.0.0.1:1' }, images: () => Promise.reject(new Error('none')), apiUrl: () => apiUrl,
  });
  return { ...ota, closers };
}

describe('MQTT OTA assembly', () => {
  it('builds offer URLs from firmware.ota.baseUrl, else the API listen URL, else http.host:port; and registers the channel for shutdown', () => {
    expect(assemble('{}', undefined).downloads.grant('o1', 'i1').url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/api\/v1\/firmware\/ota\/[A-Za-z0-9_-]{43}$/);
    expect(assemble('{}', 'http://127.0.0.1:41234').downloads.grant('o1', 'i1').url).toMatch(/^http:\/\/127\.0\.0\.1:41234\/api\/v1\/firmware\/ota\//);
    const behindProxy = assemble('firmware:\n  ota:\n    baseUrl: https://headend.example.net/gridhead/\n', 'http://127.0.0.1:41234');
    expect(behindProxy.downloads.grant('o1', 'i1').url).toMatch(/^https:\/\/headend\.example\.net\/gridhead\/api\/v1\/firmware\/ota\//);
    expect(behindProxy.closers).toEqual(['mqtt ota']);
  });
});
