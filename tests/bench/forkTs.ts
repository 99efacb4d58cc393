/**
 * Runs one of the repository's TypeScript modules in a child process, for benchmarks that
 * keep simulated devices or a broker off the measured process's event loop and core.
 *
 * Node 20 cannot run TypeScript, so the entry and every file it imports relatively are
 * transpiled (tests/helpers/transpile.ts) into a temp folder that keeps the repository
 * layout; a `node_modules` link back to the repository's lets the child resolve packages
 * (mqtt, aedes) as the sources do.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, transpileClosure } from '../helpers/transpile.js';

export interface ForkedModule {
  readonly child: ChildProcess;
  /** Disconnects the child (killing it if it lingers), waits for its exit, removes the build folder. */
  dispose(): Promise<void>;
}

/** Forks `entry` (a path from the repository root, e.g. `tests/bench/aedesProcess.ts`) with `args`. */
export async function forkTypeScript(entry: string, args: readonly string[]): Promise<ForkedModule> {
  const buildDir = await mkdtemp(path.join(tmpdir(), 'gridhead-bench-child-'));
  let child: ChildProcess | undefined;
  const dispose = async () => {
    const proc = child;
    if (proc?.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      // A disconnect lets the child close what it holds; a kill follows if it lingers.
      if (proc.connected) proc.disconnect();
      const timer = setTimeout(() => proc.kill(), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(buildDir, { recursive: true, force: true });
  };
  try {
    await transpileClosure(entry, buildDir);
    await symlink(path.join(ROOT, 'node_modules'), path.join(buildDir, 'node_modules'), 'dir');
    child = fork(path.join(buildDir, entry.replace(/\.ts$/, '.js')), [...args], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // Through our console, so the test runner shows what the child says (its failures above all).
    const name = path.basename(entry, '.ts');
    child.stdout?.on('data', (chunk: Buffer) => { console.log(`[${name}] ${chunk.toString().trimEnd()}`); });
    child.stderr?.on('data', (chunk: Buffer) => { console.error(`[${name}] ${chunk.toString().trimEnd()}`); });
  } catch (err) {
    await dispose();
    throw err;
  }
  return { child, dispose };
}

/** The child's next IPC message that `accept` takes; rejects if the child exits first. */
export function nextMessage<T>(proc: ChildProcess, accept: (m: unknown) => m is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      proc.off('message', onMessage);
      reject(new Error(`child process exited (code ${String(code)}) before replying`));
    };
    const onMessage = (m: unknown) => {
      if (!accept(m)) return;
      proc.off('exit', onExit);
      proc.off('message', onMessage);
      resolve(m);
    };
    proc.once('exit', onExit);
    proc.on('message', onMessage);
  });
}
