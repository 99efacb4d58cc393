/**
 * An in-process aedes broker on a free port of 127.0.0.1, for tests and benchmarks, over
 * plain TCP or, given a key and certificate, over TLS (`mqtts://`).
 * Sessions and retained messages live in memory for the broker's lifetime.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions } from 'aedes';

export interface TestBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startAedes(options: AedesOptions = {}, tls?: { readonly key: Buffer; readonly cert: Buffer }): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  };
  const server: Server = tls === undefined ? createServer(accept) : createTlsServer(tls, accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `${tls === undefined ? 'mqtt' : 'mqtts'}://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
        // server.close() waits for open connections; clients may be reconnecting forever.
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await new Promise<void>((resolve) => { broker.close(() => { resolve(); }); });
      })();
      return closed;
    },
  };
}
