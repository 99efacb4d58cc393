/**
 * Starts a whole head-end for a test: the real composition root on a temporary data
 * directory, every port chosen by the OS, a quiet logger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerCredentials } from '../../src/broker/credentials.js';
import { buildConfig } from '../../src/config/load.js';
import type { GridheadConfig } from '../../src/config/schema.js';
import { startHeadEnd, type HeadEnd } from '../../src/main.js';
import { createLogger, type Logger } from '../../src/observe/logger.js';

/** The admin token every test head-end is bootstrapped with (GRIDHEAD_BOOTSTRAP_TOKEN). */
export const TEST_ADMIN_TOKEN = 'ght_test-admin-token-0123456789abcdefghijklmnop';

export interface TestHeadEnd extends HeadEnd {
  readonly config: GridheadConfig;
  readonly dataDir: string;
  /** Admin bearer token; `get` and `send` use it, and tests/helpers/api.ts `fetchApi` takes it. */
  readonly token: string;
  get(path: string): Promise<{ status: number; body: unknown; type: string | null }>;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; type: string | null }>;
  stop(): Promise<void>;
}

/** A small, fast fleet: 2 Modbus terminals × 2 meters, 2 MQTT terminals × 2 meters, polled every second. */
export const FAST_FLEET = {
  mqtt: { embeddedBroker: { enabled: true, port: 0 } },
  collect: {
    concurrency: 8,
    profiles: {
      fast: {
        quantities: ['power.active', 'voltage.l1', 'current.l1', 'energy.active.import'],
        intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 1000, retries: 1, retryBackoffMs: 50,
      },
      clock: { quantities: ['clock.drift'], intervalSeconds: 1, align: false, jitterMs: 0, timeoutMs: 1000 },
      lp: { profile: 'load', intervalSeconds: 2, align: false, jitterMs: 0, timeoutMs: 5000, retries: 0, backfillHours: 3 },
    },
  },
  modbus: { requestTimeoutMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 500 },
  registry: {
    areas: [
      { id: 'r1', name: 'Region', kind: 'region' },
      { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 },
      { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1', transformerKva: 630 },
    ],
  },
  simulators: {
    enabled: true, seed: 7, areaIds: ['tx1', 'tx2'],
    modbus: { count: 2, metersPerTerminal: 2, registerMap: 'three-phase-meter', profiles: ['fast'] },
    mqtt: { count: 2, metersPerTerminal: 2, publishIntervalMs: 300 },
    dlms: { count: 2, framing: 'both', profiles: ['fast', 'clock', 'lp'] },
  },
} as const;

export interface TestHeadEndOptions {
  /** A logger to capture lines with; silent by default. */
  readonly logger?: Logger;
  /** Extra environment for the start (GRIDHEAD_BOOTSTRAP_TOKEN is set to TEST_ADMIN_TOKEN unless given here). */
  readonly env?: NodeJS.ProcessEnv;
  /** The data directory to run on (a previous run's, to restart on its store); a new temporary one by default. */
  readonly dataDir?: string;
}

export async function startTestHeadEnd(overrides: Record<string, unknown>, options: TestHeadEndOptions = {}): Promise<TestHeadEnd> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gridhead-test-'));
  const { loadConfigFile } = await import('../../src/config/load.js');
  const maps = loadConfigFile('config/default.yaml').modbus.registerMaps;
  const raw: Record<string, unknown> = structuredClone(overrides);
  raw.dataDir = dataDir;
  raw.http = { host: '127.0.0.1', port: 0, ...(raw.http as object | undefined) };
  raw.log = { level: 'silent' };
  raw.modbus = { ...(raw.modbus as object | undefined), registerMaps: maps };
  const config = buildConfig(raw, 'test');
  const env: NodeJS.ProcessEnv = { ...process.env, GRIDHEAD_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN, ...options.env };
  const token = env.GRIDHEAD_BOOTSTRAP_TOKEN ?? TEST_ADMIN_TOKEN;
  const headEnd = await startHeadEnd(config, { logger: options.logger ?? createLogger('silent'), env });
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${headEnd.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const type = res.headers.get('content-type');
    const text = await res.text();
    return { status: res.status, type, body: text !== '' && type?.includes('json') === true ? JSON.parse(text) as unknown : text };
  };
  return {
    ...headEnd,
    // Read when asked: with several nodes the server listens only while this node leads.
    get opcuaEndpoint() { return headEnd.opcuaEndpoint; },
    config,
    dataDir,
    token,
    get: (path) => send('GET', path),
    send,
    close: () => headEnd.close(),
    stop: async () => {
      await headEnd.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The station's own login at the embedded broker, for tests that watch what only the station may (dead letters, alarms). */
export function stationMqttLogin(h: Pick<TestHeadEnd, 'dataDir'>): { username: string; password: string } {
  const { username, password } = loadBrokerCredentials(h.dataDir).station;
  return { username, password };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
