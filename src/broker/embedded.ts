/**
 * The embedded MQTT broker of the one-machine set-up: aedes in this process, listening on
 * loopback. Production points `mqtt.url` at an external broker and leaves this off.
 * Sessions and queued QoS 1 messages live in memory: they survive client reconnects,
 * not a restart of the head-end.
 */
import { Aedes } from 'aedes';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly onClientError?: (clientId: string, err: Error) => void;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  broker.on('clientError', (client, err) => options.onClientError?.(client.id, err));
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://${options.host}:${port}`,
    port,
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => { broker.close(() => { resolve(); }); });
        await new Promise<void>((resolve) => server.close(() => { resolve(); }));
      })();
      return closed;
    },
  };
}
