/**
 * A whole station (the real composition root) in a child process of its own, for tests
 * that kill it: `forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON config])`.
 *
 * IPC: child → `ready` once started, then `stats` (the ingest pipeline's, and the CPU time the
 * process has used) every 50 ms. The child closes the station and exits when the parent
 * disconnects; SIGKILL is the point of running it apart.
 */
import { buildConfig, loadConfigFile } from '../../src/config/load.js';
import { startHeadEnd } from '../../src/main.js';
import { createLogger } from '../../src/observe/logger.js';
import type { PipelineStats } from '../../src/ingest/pipeline.js';

export type StationReply =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'stats'; readonly pipeline: PipelineStats; readonly cpuMicros: number }
  | { readonly type: 'failed'; readonly message: string };

export function isStationReply(m: unknown): m is StationReply {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'stats' || type === 'failed';
}

async function run(send: (m: StationReply) => void, rawConfig: Record<string, unknown>): Promise<void> {
  const maps = loadConfigFile('config/default.yaml').modbus.registerMaps;
  const config = buildConfig({ ...rawConfig, log: { level: 'silent' }, modbus: { registerMaps: maps } }, 'test');
  const station = await startHeadEnd(config, { logger: createLogger('silent') });
  const timer = setInterval(() => {
    const cpu = process.cpuUsage();
    send({ type: 'stats', pipeline: station.pipeline.stats(), cpuMicros: cpu.user + cpu.system });
  }, 50);
  process.on('disconnect', () => {
    clearInterval(timer);
    void station.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: station.url });
}

const configArg = process.argv[process.argv.indexOf('--station') + 1];
if (typeof process.send === 'function' && process.argv.includes('--station') && configArg !== undefined) {
  const send = process.send.bind(process);
  // A stats message can meet the channel closing as the parent lets go: the disconnect handler
  // then closes the station, so the failed send is no news (without a callback it would be an
  // uncaught 'error' that kills the process before it closes).
  const post = (m: StationReply): void => {
    if (process.connected) send(m, undefined, undefined, () => undefined);
  };
  run(post, JSON.parse(configArg) as Record<string, unknown>).catch((err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
}
