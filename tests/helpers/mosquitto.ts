/**
 * A real Mosquitto broker (Debian package `mosquitto`) for tests: a child process with a
 * temporary config listening on a free port of 127.0.0.1, anonymous, no persistence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestBroker } from './aedes.js';

/** The mosquitto binary: /usr/sbin/mosquitto or one on PATH; null when not installed. */
export function mosquittoPath(): string | null {
  const dirs = ['/usr/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')];
  for (const dir of dirs) {
    const candidate = join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return null;
}

export interface MosquittoOptions {
  /** Extra lines appended to the config (e.g. `max_queued_messages 5000`). */
  readonly extraConfig?: readonly string[];
}

/**
 * Starts mosquitto on a free port and resolves once the port accepts connections.
 * Retries with a new port if another process took it between probing and binding.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<TestBroker> {
  const binary = mosquittoPath();
  if (binary === null) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, await freePort(), options);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function startOnce(binary: string, port: number, options: MosquittoOptions): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...(options.extraConfig ?? []),
    '',
  ].join('\n'));
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    await cleanup();
    throw new Error(`mosquitto did not start on port ${port}: ${err instanceof Error ? err.message : String(err)}\n${stderr}`, { cause: err });
  }
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= cleanup();
      return closed;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with code ${String(child.exitCode)}`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port not open after ${limitMs} ms`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
