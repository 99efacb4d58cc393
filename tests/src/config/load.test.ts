import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../../src/config/load.js';

function issuesOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('configuration loader', () => {
  it('fills every default from an empty document', () => {
    const c = parseConfig('', 'empty.yaml');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 1024 * 1024, registryImportLimitBytes: 256 * 1024 * 1024, trustProxy: false });
    expect(c.mqtt.embeddedBroker.enabled).toBe(false);
    expect(c.mqtt.topicPrefix).toBe('gridhead/v1');
    expect(c.collect.concurrency).toBe(64);
    expect(c.registry).toEqual({ areas: [], terminals: [], meters: [] });
  });

  it('fills the plausibility bounds of ingest, and refuses a frequency range that is empty or ratios beyond their sane range', () => {
    expect(parseConfig('', 'empty.yaml').ingest.plausibility).toEqual({ nominalVoltage: 230, maxCurrent: 100, overrange: 2, minFrequency: 40, maxFrequency: 70 });
    expect(parseConfig('ingest:\n  plausibility:\n    maxCurrent: 6\n', 'ct.yaml').ingest.plausibility).toMatchObject({ maxCurrent: 6, nominalVoltage: 230 });
    expect(issuesOf('ingest:\n  plausibility:\n    minFrequency: 70\n    maxFrequency: 45\n')).toEqual(['ingest.plausibility.minFrequency: must be below maxFrequency (45)']);
    expect(issuesOf('registry:\n  terminals: [{ id: q1, protocol: mqtt }]\n  meters: [{ id: m1, terminalId: q1, address: "1", ctRatio: 1.0e308 }]\n'))
      .toEqual([expect.stringMatching(/^registry\.meters\[0\]\.ctRatio: /)]);
  });

  it('rejects an unknown key and names its path', () => {
    expect(issuesOf('http:\n  prot: 80\n')).toEqual(['http.prot: unknown key']);
  });

  it('names the path and the expectation of a wrongly typed value', () => {
    const issues = issuesOf('http:\n  port: "eighty"\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^http\.port: .*integer/);
  });

  it('reports an enum outside its allowed values with the array index in the path', () => {
    const issues = issuesOf(`
modbus:
  registerMaps:
    m:
      function: 4
      points:
        - { quantity: power.active, address: 0, type: int8 }
`);
    expect(issues.some((i) => i.startsWith('modbus.registerMaps.m.points[0].type:'))).toBe(true);
  });

  it('rejects an unknown quantity name in a register map', () => {
    const issues = issuesOf(`
modbus:
  registerMaps:
    m:
      function: 4
      points:
        - { quantity: power.apparent, address: 0, type: float32 }
`);
    expect(issues.some((i) => i.startsWith('modbus.registerMaps.m.points[0].quantity:'))).toBe(true);
  });

  it('reports dangling references between terminals, meters, areas, maps and profiles', () => {
    const issues = issuesOf(`
registry:
  areas:
    - { id: a1, name: A1, kind: transformer, parentId: nowhere, transformerKva: 400 }
  terminals:
    - { id: t1, protocol: modbus, profiles: [fast], modbus: { host: 127.0.0.1, port: 502, registerMap: missing } }
    - { id: t2, protocol: mqtt, modbus: { host: x, port: 1, registerMap: m } }
  meters:
    - { id: m1, terminalId: t9, address: "1", areaId: a9 }
`);
    expect(issues).toEqual([
      'registry.areas[0].parentId: no area with id "nowhere"',
      'registry.terminals[0].modbus.registerMap: no register map "missing" under modbus.registerMaps',
      'registry.terminals[0].profiles[0]: no collection profile "fast" under collect.profiles',
      'registry.terminals[1].modbus: only allowed for protocol modbus, not mqtt',
      'registry.meters[0].terminalId: no terminal with id "t9"',
      'registry.meters[0].areaId: no area with id "a9"',
    ]);
  });

  it('checks DLMS terminal settings', () => {
    const issues = issuesOf(`
registry:
  terminals:
    - { id: d1, protocol: dlms }
    - { id: d2, protocol: dlms, dlms: { host: 10.0.0.5, port: 4059, auth: low } }
    - { id: q1, protocol: mqtt, dlms: { host: x, port: 1 } }
`);
    expect(issues).toEqual([
      'registry.terminals[0].dlms: required for a dlms terminal (host, port, framing, clientSap, auth)',
      'registry.terminals[2].dlms: only allowed for protocol dlms, not mqtt',
    ]);
    const framing = issuesOf('registry:\n  terminals:\n    - { id: d3, protocol: dlms, dlms: { host: h, port: 4059, framing: serial } }\n');
    expect(framing.some((i) => i.startsWith('registry.terminals[0].dlms.framing'))).toBe(true);
  });

  it('refuses an LLS password in a DLMS endpoint, pointing to the key store routes', () => {
    const issues = issuesOf('registry:\n  terminals:\n    - { id: d1, protocol: dlms, dlms: { host: h, port: 4059, clientSap: 1, auth: low, password: "12345678" } }\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^registry\.terminals\[0\]\.dlms\.password: not accepted: .*key store/);
    expect(issues[0]).toContain('/api/v1/meters/:id/keys');
    expect(issues[0]).toContain('/api/v1/key-groups/:name/keys');
    expect(issues[0]).not.toContain('12345678');
  });

  it('applies environment overrides over the file', () => {
    const c = parseConfig('http:\n  port: 8080\n', 'x.yaml', {
      GRIDHEAD_HTTP_PORT: '9090',
      GRIDHEAD_DATA_DIR: '/var/lib/gridhead',
      GRIDHEAD_MQTT_URL: 'mqtts://broker:8883',
      GRIDHEAD_INFLUX_URL: 'http://influx:8086',
      GRIDHEAD_INFLUX_TOKEN: 'tok',
      GRIDHEAD_INFLUX_ORG: 'utility',
      GRIDHEAD_INFLUX_BUCKET: 'ami',
    });
    expect(c.http.port).toBe(9090);
    expect(c.dataDir).toBe('/var/lib/gridhead');
    expect(c.mqtt.url).toBe('mqtts://broker:8883');
    expect(c.influx).toMatchObject({ url: 'http://influx:8086', token: 'tok', org: 'utility', bucket: 'ami' });
  });

  it('moves the embedded broker and the DLMS push listener by environment', () => {
    const c = loadConfigFile('config/default.yaml', { GRIDHEAD_MQTT_BROKER_PORT: '11883', GRIDHEAD_DLMS_PUSH_PORT: '14059' });
    expect(c.mqtt.embeddedBroker.port).toBe(11883);
    expect(c.dlms.push.listen.port).toBe(14059);
    expect(issuesOf('', { GRIDHEAD_DLMS_PUSH_PORT: 'x' })).toEqual(['dlms.push.listen.port (from GRIDHEAD_DLMS_PUSH_PORT): expected an integer, got "x"']);
  });

  it('turns the InfluxDB stream on when GRIDHEAD_INFLUX_URL is set, though the file leaves it off', () => {
    expect(loadConfigFile('config/default.yaml', {}).influx.enabled).toBe(false);
    const c = loadConfigFile('config/default.yaml', { GRIDHEAD_INFLUX_URL: 'http://tsdb:8086', GRIDHEAD_INFLUX_TOKEN: 't' });
    expect(c.influx).toMatchObject({ enabled: true, url: 'http://tsdb:8086', token: 't' });
    expect(loadConfigFile('config/default.yaml', { GRIDHEAD_INFLUX_URL: '' }).influx.enabled).toBe(false);
  });

  it('takes the PostgreSQL URL from GRIDHEAD_DATABASE_URL, with the pool defaults, and never echoes a bad one', () => {
    const c = loadConfigFile('config/default.yaml', { GRIDHEAD_DATABASE_URL: 'postgres://station:s3cret@db:5432/gridhead' });
    expect(c.storage.postgres).toMatchObject({ url: 'postgres://station:s3cret@db:5432/gridhead', poolMax: 10, statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 });
    expect(c.storage.retentionDays).toBe(400);
    expect(loadConfigFile('config/default.yaml', {}).storage.postgres.url).toBeUndefined();
    const issues = issuesOf('', { GRIDHEAD_DATABASE_URL: 'mysql://station:s3cret@db/gridhead' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^storage\.postgres\.url/);
    expect(issues[0]).not.toContain('s3cret');
    expect(issuesOf('storage:\n  postgres: { reconnectMinMs: 5000, reconnectMaxMs: 1000 }\n'))
      .toEqual(['storage.postgres.reconnectMinMs: must not exceed storage.postgres.reconnectMaxMs']);
  });

  it('keeps the embedded broker\'s packet bound above the MQTT payload limit', () => {
    expect(issuesOf('mqtt:\n  maxPayloadBytes: 65536\n  embeddedBroker: { enabled: true, maxPacketBytes: 4096 }\n'))
      .toEqual(['mqtt.embeddedBroker.maxPacketBytes: must be at least mqtt.maxPayloadBytes (65536)']);
  });

  it('rejects a non-numeric port from the environment, naming the variable', () => {
    expect(issuesOf('', { GRIDHEAD_HTTP_PORT: 'abc' })).toEqual(['http.port (from GRIDHEAD_HTTP_PORT): expected an integer, got "abc"']);
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(issuesOf('http: [\n')[0]).toMatch(/YAML/);
    expect(issuesOf('http:\n  port: 1\n  port: 2\n')[0]).toMatch(/YAML/);
  });

  it('reports an unreadable file as a ConfigError', () => {
    expect(() => loadConfigFile('/nonexistent/gridhead.yaml')).toThrow(ConfigError);
  });

  it('loads the shipped configurations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(join(dir, 'c.yaml'), 'log: { level: warn }\n');
    expect(loadConfigFile(join(dir, 'c.yaml')).log.level).toBe('warn');
    expect(loadConfigFile('config/default.yaml').simulators.enabled).toBe(true);
    expect(loadConfigFile('config/production.example.yaml', { GRIDHEAD_INFLUX_TOKEN: 't' }).simulators.enabled).toBe(false);
  });
});
