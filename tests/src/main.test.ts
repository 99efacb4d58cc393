/**
 * The composition root's own promise: a start that fails at a late step closes every part
 * it had started, so the station can be started again at once on the same ports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortInUseError } from '../../src/config/ports.js';
import { FAST_FLEET, startTestHeadEnd } from '../helpers/headend.js';
import { freePort } from '../helpers/victoriaMetrics.js';

const held: Server[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of held.splice(0)) await new Promise<void>((resolve) => { s.close(() => { resolve(); }); });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Binds the port on 127.0.0.1; rejects with EADDRINUSE while something still holds it. */
function bind(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      held.push(server);
      resolve(server);
    });
  });
}

describe('startHeadEnd', () => {
  it('closes the embedded broker and the DLMS push listener it had started when the HTTP port is taken', async () => {
    const [brokerPort, pushPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    await bind(httpPort);
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-main-'));
    dirs.push(dataDir);
    const start = startTestHeadEnd({
      ...FAST_FLEET,
      mqtt: { embeddedBroker: { enabled: true, port: brokerPort } },
      dlms: { push: { listen: { enabled: true, port: pushPort } } },
      http: { port: httpPort },
    }, { dataDir });
    const err: unknown = await start.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as PortInUseError).listener).toBe('http');
    // Bound again by us: nothing of the failed start still listens there.
    await expect(bind(brokerPort)).resolves.toBeDefined();
    await expect(bind(pushPort)).resolves.toBeDefined();
  }, 60_000);
});
