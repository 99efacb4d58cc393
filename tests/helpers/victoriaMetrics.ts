import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Debian's `victoria-metrics` as a test peer: it accepts InfluxDB's `/api/v2/write` and
 * stores `<measurement>_<field>` series with the tags as labels.
 */
export interface VictoriaMetrics {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the data directory stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes the data directory if the helper created it. */
  dispose(): Promise<void>;
}

export interface ExportedSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly timestamps: readonly number[];
}

const CANDIDATES = ['/usr/bin/victoria-metrics', '/usr/bin/victoria-metrics-prod', '/usr/local/bin/victoria-metrics'];

/** Path of the VictoriaMetrics single-node binary, or undefined when it is not installed. */
export function victoriaMetricsPath(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

export async function startVictoriaMetrics(opts: { port?: number; dataDir?: string } = {}): Promise<VictoriaMetrics> {
  const bin = victoriaMetricsPath();
  if (bin === undefined) throw new Error('victoria-metrics is not installed (apt-get install victoria-metrics)');
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gridhead-vm-'));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    log = '';
    const proc = spawn(bin, [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-loggerLevel=ERROR',
      // Fresh samples are otherwise hidden from queries for 30 s.
      '-search.latencyOffset=0s',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const keep = (b: Buffer): void => { log = (log + b.toString()).slice(-4000); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    await waitForHealth(url, proc, () => log);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc?.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve(); }));
    proc.kill('SIGTERM');
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  };

  await start();
  return {
    url,
    port,
    dataDir,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      await stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Flushes pending samples to searchable storage, then reads every series matching `match`. */
export async function exportSeries(url: string, match: string): Promise<ExportedSeries[]> {
  const flush = await fetch(`${url}/internal/force_flush`);
  await flush.arrayBuffer();
  const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match }).toString()}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`export failed: HTTP ${res.status}: ${text}`);
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ExportedSeries);
}

/**
 * Exports until at least `minSamples` samples are visible (VictoriaMetrics registers new
 * series with a short delay), then once more so late duplicates would show too.
 */
export async function exportWhenVisible(url: string, match: string, minSamples: number, timeoutMs = 20_000): Promise<ExportedSeries[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const series = await exportSeries(url, match);
    if (sampleCount(series) >= minSamples || Date.now() > deadline) {
      await sleep(1_500);
      return exportSeries(url, match);
    }
    await sleep(200);
  }
}

export function sampleCount(series: readonly ExportedSeries[]): number {
  return series.reduce((n, s) => n + s.timestamps.length, 0);
}

async function waitForHealth(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`victoria-metrics exited with ${proc.exitCode}: ${log()}`);
    try {
      const res = await fetch(`${url}/health`);
      const body = await res.text();
      if (res.ok && body.trim() === 'OK') return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`victoria-metrics did not become healthy at ${url}: ${log()}`);
}

/** A port free right now on 127.0.0.1 (the OS picks it; VictoriaMetrics binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => { resolve(port); });
    });
  });
}
