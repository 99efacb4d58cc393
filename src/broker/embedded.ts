/**
 * The embedded MQTT broker of the one-machine set-up: aedes in this process, listening on
 * loopback. Production points `mqtt.url` at an external broker and leaves this off.
 * Sessions and queued QoS 1 messages live in memory: they survive client reconnects,
 * not a restart of the head-end.
 *
 * It is part of the station's attack surface, so it holds its clients to what they are:
 * every CONNECT proves an identity (credentials.ts), every PUBLISH and SUBSCRIBE passes the
 * ACL (access.ts), no packet is larger than `maxPacketBytes` (packetGuard.ts), and every
 * refusal is logged, at most once a minute per kind and client.
 */
import { Aedes, type Client } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { listenOn } from '../../protocols/dlms/net/listen.js';
import { listening } from '../config/ports.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import { connectRefusal, describeIdentity, publishRefusal, subscribeRefusal, type AccessPolicy } from './access.js';
import type { BrokerCredentials, BrokerIdentity, StationCredentials } from './credentials.js';
import { guardPacketSize } from './packetGuard.js';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  /** What the station's own clients log in with. */
  readonly station: StationCredentials;
  stats(): EmbeddedBrokerStats;
  close(): Promise<void>;
}

export interface EmbeddedBrokerStats {
  readonly refused: Readonly<Record<RefusalKind, number>>;
}

export type RefusalKind = 'connect' | 'publish' | 'subscribe' | 'packet-too-large';

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest MQTT packet accepted, fixed header included; a larger one closes the connection. */
  readonly maxPacketBytes: number;
  readonly credentials: BrokerCredentials;
  readonly access: AccessPolicy;
  /** Terminal ids of the simulated fleet, which log in with derived passwords. */
  readonly isSimulated: (terminalId: string) => boolean;
  readonly logger: Logger;
}

// CONNACK return codes (MQTT 3.1.1 §3.2.2.3); aedes sends the one on the authenticate error.
// (aedes types them as a const enum it does not export at run time.)
const BAD_CREDENTIALS = 4;
const IDENTIFIER_REJECTED = 2;

function connackRefusal(message: string, returnCode: number): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { credentials, access, logger } = options;
  const identities = new WeakMap<Client, BrokerIdentity>();
  /** Connected clients by id, to refuse a takeover by another identity. */
  const holders = new Map<string, Client>();
  const refused: Record<RefusalKind, number> = { connect: 0, publish: 0, subscribe: 0, 'packet-too-large': 0 };
  const throttle = new LogThrottle(60_000);
  const refuse = (kind: RefusalKind, who: string, fields: Record<string, unknown>, reason: string): void => {
    refused[kind] += 1;
    const suppressed = throttle.pass(`${kind}:${who}`);
    if (suppressed >= 0) logger.warn({ ...fields, refused: kind, reason, suppressed }, 'MQTT request refused by the embedded broker');
  };
  const remoteOf = (client: Client | null): string | undefined => {
    const conn = client?.conn as { remoteAddress?: string; remotePort?: number } | undefined;
    return conn?.remoteAddress === undefined ? undefined : `${conn.remoteAddress}:${String(conn.remotePort)}`;
  };

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const identity = credentials.identify(username, password, options.isSimulated);
      const fields = { clientId: client.id, username, remote: remoteOf(client) };
      if (identity === undefined) {
        refuse('connect', username ?? fields.remote ?? client.id, fields, username === undefined ? 'no credentials' : 'bad user name or password');
        done(connackRefusal('bad user name or password', BAD_CREDENTIALS), false);
        return;
      }
      const holder = holders.get(client.id);
      const refusal = connectRefusal(access, identity, client.id, holder === undefined ? undefined : identities.get(holder));
      if (refusal !== undefined) {
        refuse('connect', username ?? client.id, fields, refusal);
        done(connackRefusal(refusal, IDENTIFIER_REJECTED), false);
        return;
      }
      identities.set(client, identity);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      // A null client is the broker's own publish ($SYS); never a network peer.
      const identity = client === null ? { kind: 'station' as const } : identities.get(client);
      const refusal = identity === undefined ? 'not authenticated' : publishRefusal(access, identity, packet.topic);
      if (refusal === undefined) {
        done(null);
        return;
      }
      refuse('publish', identity === undefined ? (client?.id ?? '?') : describeIdentity(identity), { clientId: client?.id, topic: packet.topic, remote: remoteOf(client) }, refusal);
      // MQTT 3.1.1 has no negative PUBACK: the broker closes the connection (aedes does on error).
      done(new Error(refusal));
    },
    authorizeSubscribe: (client, subscription, done) => {
      const identity = identities.get(client);
      const refusal = identity === undefined ? 'not authenticated' : subscribeRefusal(access, identity, subscription.topic);
      if (refusal === undefined) {
        done(null, subscription);
        return;
      }
      refuse('subscribe', identity === undefined ? client.id : describeIdentity(identity), { clientId: client.id, filter: subscription.topic, remote: remoteOf(client) }, refusal);
      // MQTT 3.1.1 §3.9.3: SUBACK return code 0x80, the session stays up.
      done(null, null);
    },
  });
  broker.on('clientReady', (client) => { holders.set(client.id, client); });
  broker.on('clientDisconnect', (client) => { if (holders.get(client.id) === client) holders.delete(client.id); });
  broker.on('clientError', (client, err) => {
    if (throttle.pass(`client-error:${client.id}`) >= 0) logger.warn({ clientId: client.id, err: err.message }, 'MQTT client error at the embedded broker');
  });

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const remote = `${socket.remoteAddress ?? '?'}:${String(socket.remotePort)}`;
    broker.handle(guardPacketSize(socket, options.maxPacketBytes, (verdict) => {
      const detail = verdict.reason === 'too-large' ? `a packet of ${verdict.size} bytes (limit ${options.maxPacketBytes})` : 'a malformed packet length';
      refuse('packet-too-large', socket.remoteAddress ?? remote, { remote }, `connection closed: ${detail}`);
    }));
  });
  let port: number;
  try {
    port = await listening('broker', options.host, options.port, () => listenOn(server, options.port, options.host));
  } catch (err) {
    await new Promise<void>((resolve) => { broker.close(() => { resolve(); }); });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://${options.host}:${port}`,
    port,
    station: credentials.station,
    stats: () => ({ refused: { ...refused } }),
    close: () => {
      closed ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
        // server.close() waits for open connections, and clients keep reconnecting.
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => { broker.close(() => { resolve(); }); });
        await serverClosed;
      })();
      return closed;
    },
  };
}
