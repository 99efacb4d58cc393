/**
 * A throw-away cluster started by a child process of its own, for the test that kills that
 * process outright (as a test runner's timeout kills a worker) and checks that the cluster
 * goes with it: `forkTypeScript('tests/helpers/postgresProcess.ts', ['--cluster'])`.
 *
 * IPC: child → `{ type: 'started', dataDir, pids }` once the server runs, or `{ type: 'failed' }`.
 */
import { startPostgres } from './postgres.js';

export type ClusterReply =
  | { readonly type: 'started'; readonly dataDir: string; readonly pids: readonly number[] }
  | { readonly type: 'failed'; readonly message: string };

export function isClusterReply(m: unknown): m is ClusterReply {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'started' || type === 'failed';
}

if (typeof process.send === 'function' && process.argv.includes('--cluster')) {
  const send = process.send.bind(process);
  startPostgres().then((cluster) => {
    send({ type: 'started', dataDir: cluster.dataDir, pids: cluster.serverPids() } satisfies ClusterReply);
    // Stays up until killed: the point is what happens to the cluster then.
    setInterval(() => undefined, 60_000);
  }, (err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies ClusterReply);
  });
}
