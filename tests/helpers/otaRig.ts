/**
 * The station's side of MQTT OTA over real sockets, for tests: a broker, the real download
 * route (public, behind the access control every route passes) over an OtaDownloads of one
 * image (`img-1`), the station's OTA channel recording every report, and one simulated MQTT
 * terminal that takes offers. Everything it starts is closed by the caller's `cleanups`.
 */
import { createHash } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import mqtt from 'mqtt';
import { parseStatus } from '../../protocols/mqtt/status.js';
import { statusTopic } from '../../protocols/mqtt/topics.js';
import type { SimulatedOtaOptions } from '../../simulators/mqtt/ota.js';
import { MqttTerminalSimulator } from '../../simulators/mqtt/terminal.js';
import { installAccessControl } from '../../src/api/access.js';
import { firmwareOtaRoutes } from '../../src/api/firmwareOtaRoutes.js';
import { Problem, installProblemHandlers } from '../../src/api/problem.js';
import type { OtaReport } from '../../src/firmware/ota/channel.js';
import { OtaDownloads } from '../../src/firmware/ota/downloads.js';
import { MqttOtaChannel } from '../../src/firmware/ota/mqttOtaChannel.js';
import { createLogger } from '../../src/observe/logger.js';
import type { TestBroker } from './aedes.js';

export const PREFIX = 'gridhead/v1';
export const TERMINAL = 'T-OTA-1';
/** Not a multiple of the route's 64 KiB slices, so the last slice is short. */
export const IMAGE = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 31 + 7) & 0xff);
export const SHA256 = createHash('sha256').update(IMAGE).digest('hex');

export interface OtaRigOptions {
  /** The simulated terminal's OTA behaviour. */
  readonly ota?: SimulatedOtaOptions;
  /** The base of offer URLs, given the route's own (e.g. a proxy in front of it). Default: the route's. */
  readonly offerBase?: (apiUrl: string) => Promise<string>;
}

export type OtaRig = Awaited<ReturnType<typeof startOtaRig>>;

export async function startOtaRig(startBroker: () => Promise<TestBroker>, cleanups: (() => unknown)[], options: OtaRigOptions = {}) {
  const { ota = {} } = options;
  const broker = await startBroker();
  cleanups.push(() => broker.close());
  let now = Date.UTC(2026, 0, 5, 8);
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  // Nobody is authenticated: only a public route answers.
  installAccessControl(app, { auth: { authenticateToken: () => Promise.resolve(undefined), authenticateSession: () => Promise.resolve(undefined), noteRefusal: () => undefined } });
  const downloads = new OtaDownloads({
    source: (id) => (id === 'img-1' ? Promise.resolve({ bytes: IMAGE, sha256: SHA256 }) : Promise.reject(new Error(`no image ${id}`))),
    baseUrl: () => offerBase, tokenTtlMs: 60_000, maxTokens: 100, maxConcurrentDownloads: 2, clock: () => now,
  });
  await app.register(firmwareOtaRoutes, { prefix: '/api/v1', downloads });
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const offerBase = options.offerBase === undefined ? apiUrl : await options.offerBase(apiUrl);

  const logLines: { code?: string }[] = [];
  const logger = createLogger('warn', { write: (line: string) => { logLines.push(JSON.parse(line) as { code?: string }); } });
  const channel = new MqttOtaChannel({ connection: { url: broker.url }, clientId: 'gridhead-ota-test', topicPrefix: PREFIX, logger });
  cleanups.push(() => channel.close());
  const got: [string, OtaReport][] = [];
  const waiters: (() => void)[] = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  channel.onReport((terminalId, report) => {
    got.push([terminalId, report]);
    wake();
  });
  await channel.start();

  const terminal = new MqttTerminalSimulator({ url: broker.url, terminalId: TERMINAL, meters: 1, seed: 1, publishIntervalMs: 3_600_000, prefix: PREFIX, ota });
  await terminal.start();
  cleanups.push(() => terminal.stop());

  /** Waits for the condition, re-checked at each report and every 20 ms; the test's timeout bounds it. */
  const until = async (done: (reports: [string, OtaReport][]) => boolean) => {
    while (!done(got)) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  };
  return {
    broker, downloads, channel, terminal, got, logLines, until,
    advance: (ms: number) => { now += ms; },
    reportsOf: (offerId: string) => got.map(([, rep]) => rep).filter((rep) => rep.offerId === offerId),
    offer: async (offerId: string, version: string, activate: 'now' | 'later') => {
      const { url } = downloads.grant(offerId, 'img-1');
      await channel.offer(TERMINAL, { offerId, url, sha256: SHA256, size: IMAGE.byteLength, version, activate });
    },
    /** The firmware version of the terminal's retained birth, once it is `expected`. */
    birthVersion: async (expected: string) => {
      const client = await mqtt.connectAsync(broker.url, { clientId: 'ota-status-reader', protocolVersion: 4 });
      try {
        return await new Promise<string | undefined>((resolve) => {
          client.on('message', (_topic, payload) => {
            const parsed = parseStatus(TERMINAL, payload, { maxPayloadBytes: 4096, receivedAt: Date.now() });
            if (parsed.ok && parsed.status?.firmwareVersion === expected) resolve(parsed.status.firmwareVersion);
          });
          void client.subscribeAsync(statusTopic(PREFIX, TERMINAL), { qos: 1 });
        });
      } finally {
        await client.endAsync();
      }
    },
  };
}
