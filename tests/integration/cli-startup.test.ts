/**
 * Start-up as the operator sees it, from the real `gridhead` process: a busy port is one
 * line naming the port, the listener, its configuration key and environment variable, then
 * exit code 2; ports and data directory move by environment alone; `npm start` honours
 * GRIDHEAD_CONFIG.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCli, stationEnv, type CliInstall, type RunningCli } from '../helpers/cli.js';
import { freePort } from '../helpers/victoriaMetrics.js';

const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

/** Every listener on, every port any (0): the test moves one of them onto a busy port through its env variable. */
const LISTENERS_YAML = `
http: { host: 127.0.0.1, port: 0 }
mqtt: { embeddedBroker: { enabled: true, host: 127.0.0.1, port: 0 } }
dlms: { push: { listen: { enabled: true, host: 127.0.0.1, port: 0 } } }
opcua: { enabled: true, host: 127.0.0.1, port: 0, securityPolicies: [None], securityModes: [None] }
rules: { enabled: false }
log: { level: warn }
`;

let cli: CliInstall;
let dir: string;

beforeAll(async () => {
  cli = await installCli();
  dir = mkdtempSync(join(tmpdir(), 'gridhead-startup-'));
  writeFileSync(join(dir, 'listeners.yaml'), LISTENERS_YAML);
});

afterAll(async () => {
  await cli.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function occupy(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { port: address.port, server };
}

describe('gridhead start with a port another program holds', () => {
  const cases = [
    { env: 'GRIDHEAD_MQTT_BROKER_PORT', owner: 'embedded MQTT broker', key: 'mqtt.embeddedBroker.port' },
    { env: 'GRIDHEAD_DLMS_PUSH_PORT', owner: 'DLMS push listener', key: 'dlms.push.listen.port' },
    { env: 'GRIDHEAD_OPCUA_PORT', owner: 'OPC UA server', key: 'opcua.port' },
    { env: 'GRIDHEAD_HTTP_PORT', owner: 'HTTP API and dashboard', key: 'http.port' },
  ] as const;

  for (const c of cases) {
    it(`says in one line that the ${c.owner} wants the port, how to move it, and exits 2`, async () => {
      const busy = await occupy();
      const dataDir = mkdtempSync(join(dir, 'data-'));
      try {
        const result = await cli.run(['start', '--config', join(dir, 'listeners.yaml')],
          { env: stationEnv(dataDir, { GRIDHEAD_MASTER_KEY: MASTER_KEY, [c.env]: String(busy.port) }) });
        expect(result.code, result.stderr).toBe(2);
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toContain(`port ${busy.port} on 127.0.0.1 is already in use`);
        expect(lines[0]).toContain(c.owner);
        expect(lines[0]).toContain(c.key);
        expect(lines[0]).toContain(c.env);
        expect(result.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
      } finally {
        busy.server.close();
      }
    });
  }
});

describe('npm start', () => {
  it('runs the configuration GRIDHEAD_CONFIG names', async () => {
    const file = join(dir, 'from-env.yaml');
    writeFileSync(file, 'http:\n  port: 99999\n');
    const result = await cli.npm(['start', '--ignore-scripts', '--silent'], { env: { GRIDHEAD_CONFIG: file } });
    expect(result.stderr).toContain(`invalid configuration in ${file}`);
    expect(result.code).not.toBe(0);
  });
});

describe('two stations on one machine', () => {
  it('run side by side from the demo configuration, moved by the environment alone', async () => {
    const stations: RunningCli[] = [];
    const urls: string[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        // A port found free can be taken by another test's process (a PostgreSQL cluster, an
        // outgoing connection) before the station binds it: the station then refuses to start
        // with its port-in-use line, and this test picks fresh ports, at most three times.
        for (let attempt = 1; ; attempt++) {
          const http = await freePort();
          const env = stationEnv(mkdtempSync(join(dir, `station-${i}-`)), {
            GRIDHEAD_HTTP_PORT: String(http),
            GRIDHEAD_MQTT_BROKER_PORT: String(await freePort()),
            GRIDHEAD_DLMS_PUSH_PORT: String(await freePort()),
            GRIDHEAD_OPCUA_PORT: String(await freePort()),
          });
          const station = cli.start(['start'], { env });
          const url = `http://127.0.0.1:${http}`;
          const health = await healthOf(url, station).catch(async (err: unknown) => {
            const run = await station.exited;
            if (attempt < 3 && run.code === 2 && run.stderr.includes('is already in use')) return undefined;
            throw err;
          });
          if (health === undefined) continue;
          stations.push(station);
          urls.push(url);
          expect(health.status, station.stderr()).not.toBe('down');
          expect(health.components.mqtt?.status, JSON.stringify(health)).toBe('ok');
          break;
        }
      }
      for (const station of stations) expect(station.child.exitCode, station.stderr()).toBeNull();
    } finally {
      const results = await Promise.all(stations.map((s) => s.stop()));
      // A station's log is on stdout: its tail says which part was still closing when the grace ran out.
      for (const r of results) expect(r.code, `${r.stderr}\n${r.stdout.slice(-4000)}`).toBe(0);
    }
  }, 120_000);
});

describe('a stop signal during the start', () => {
  it('still ends in a clean shutdown, not the default action\'s kill', async () => {
    const env = stationEnv(mkdtempSync(join(dir, 'early-stop-')), {
      GRIDHEAD_HTTP_PORT: String(await freePort()),
      GRIDHEAD_MQTT_BROKER_PORT: String(await freePort()),
      GRIDHEAD_DLMS_PUSH_PORT: String(await freePort()),
      GRIDHEAD_OPCUA_PORT: String(await freePort()),
    });
    const station = cli.start(['start'], { env });
    // The broker is the first listener: the head-end is half-way through its start.
    const deadline = Date.now() + 60_000;
    while (!station.stdout().includes('embedded MQTT broker listening') && station.child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(station.stdout(), station.stderr()).toContain('embedded MQTT broker listening');
    const result = await station.stop();
    expect(result.signal, `${result.stderr}\n${result.stdout.slice(-4000)}`).toBeNull();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"msg":"shutting down"');
    expect(result.stdout).toContain('"msg":"stopped"');
  }, 120_000);
});

interface Health { status: string; components: Record<string, { status: string } | undefined> }

/** /health once the MQTT session is up (the fleet connects just after start). */
async function healthOf(url: string, station: RunningCli): Promise<Health> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (station.child.exitCode !== null) throw new Error(`station exited with ${station.child.exitCode}: ${station.stderr()}`);
    try {
      const res = await fetch(`${url}/health`);
      const body = await res.json() as Health;
      if (body.components.mqtt?.status === 'ok' || Date.now() > deadline) return body;
    } catch {
      if (Date.now() > deadline) throw new Error(`no /health at ${url}: ${station.stdout().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
