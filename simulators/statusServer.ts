/**
 * The status listener of a fleet running in its own process (`gridhead sim` with
 * `simulators.status.enabled`): GET /status answers with the fleet's registry seed (what a
 * station must be told to poll and accept it, endpoints included, never a key) and the
 * control operations each simulated meter executed. Read-only; anything else is 404 or 405.
 *
 * Bounded: a few connections at once, short header and request timeouts, no request body
 * read; the answer's size follows the fleet's, which the configuration bounds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlCounts } from './controlTally.js';
import type { FleetSeed } from './seed.js';

/** What GET /status answers. */
export interface FleetStatus {
  readonly seed: FleetSeed;
  /** By meter id; meters that executed no control operation are absent. */
  readonly controls: Readonly<Record<string, ControlCounts>>;
}

export interface FleetStatusServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Connections served at once; more wait in the kernel's backlog. */
export const STATUS_MAX_CONNECTIONS = 8;
const STATUS_TIMEOUT_MS = 10_000;

export async function startFleetStatusServer(status: () => FleetStatus, listen: { readonly host: string; readonly port: number }): Promise<FleetStatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/status') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /status\n');
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('method not allowed: GET /status\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(status()));
  });
  server.maxConnections = STATUS_MAX_CONNECTIONS;
  server.headersTimeout = STATUS_TIMEOUT_MS;
  server.requestTimeout = STATUS_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${listen.host}:${String(port)}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => { resolve(); });
      server.closeAllConnections();
    }),
  };
}
