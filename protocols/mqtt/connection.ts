/**
 * The one way the station connects to its MQTT broker. Every station client (telemetry
 * adapter, command channel, DLMS push subscriber, alarm notifier, broker drop monitor)
 * is built from the same connection description (URL, login, TLS, keepalive, reconnect)
 * and differs only in its role: its client id and whether the broker keeps its session.
 * One description means a TLS broker or a login reaches every client, not only some.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { disconnect } from './disconnect.js';

export interface MqttTlsOptions {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized: boolean;
}

/** Where and how the station reaches its broker; the composition root builds it once. */
export interface MqttConnection {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: MqttTlsOptions;
  /** MQTT keepalive. Default 60 s. */
  readonly keepaliveSec?: number;
  /** Delay between reconnect attempts. Default 1000 ms. */
  readonly reconnectPeriodMs?: number;
}

/** What one client is for. */
export interface MqttClientRole {
  readonly clientId: string;
  /**
   * MQTT 3.1.1 §3.1.2.4: clean=0 keeps subscriptions and queued QoS 1 messages across
   * disconnections, which is what makes a head-end restart lossless for the clients that
   * receive; clients that only publish, or read retained and periodic values, keep nothing.
   */
  readonly persistentSession: boolean;
  /** Connect only when `client.connect()` is called (after the handlers are installed). Default false. */
  readonly manualConnect?: boolean;
}

export const DEFAULT_KEEPALIVE_SEC = 60;
export const DEFAULT_RECONNECT_PERIOD_MS = 1000;
const CONNECT_TIMEOUT_MS = 30_000;

/** The mqtt.js options of a station client. */
export function mqttClientOptions(connection: MqttConnection, role: MqttClientRole): IClientOptions {
  const c = connection;
  return {
    clientId: role.clientId,
    clean: !role.persistentSession,
    protocolVersion: 4,
    keepalive: c.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC,
    reconnectPeriod: c.reconnectPeriodMs ?? DEFAULT_RECONNECT_PERIOD_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    manualConnect: role.manualConnect ?? false,
    ...(c.username === undefined ? {} : { username: c.username }),
    ...(c.password === undefined ? {} : { password: c.password }),
    ...(c.tls === undefined
      ? {}
      : {
          rejectUnauthorized: c.tls.rejectUnauthorized,
          ...(c.tls.ca === undefined ? {} : { ca: c.tls.ca }),
          ...(c.tls.cert === undefined ? {} : { cert: c.tls.cert }),
          ...(c.tls.key === undefined ? {} : { key: c.tls.key }),
        }),
  };
}

/** A station client; mqtt.js keeps reconnecting it until it is ended (disconnect.ts). */
export function connectMqtt(connection: MqttConnection, role: MqttClientRole): MqttClient {
  return mqtt.connect(connection.url, mqttClientOptions(connection, role));
}

/**
 * The id of one of the station's helper clients (`cmd` for commands, `sys` for the broker's
 * $SYS counters). One station: `<first 19 characters of the station's id>-<role>`, 23
 * characters for a three-letter role, the length every server must accept (MQTT 3.1.1
 * §3.1.3.1). Several nodes on one broker each need their own, or each node's connection takes
 * the other's over (MQTT 3.1.1 §3.1.4, MQTT 5 §3.1.4: the server disconnects the existing
 * client with the same id): `<…>-<node>-<role>`, at most 19 + 1 + 64 + 1 + role characters,
 * which §3.1.3.1 lets a server accept and Mosquitto, EMQX and aedes do. The stem stays a
 * prefix, so the broker's reservation of the station's ids still covers it.
 */
export function roleClientId(stationClientId: string, role: string, nodeId?: string): string {
  const stem = stationClientId.slice(0, 19);
  return nodeId === undefined ? `${stem}-${role}` : `${stem}-${nodeId}-${role}`;
}

export interface SubscribedClientOptions {
  readonly connection: MqttConnection;
  /** Its own id (`roleClientId`), so it never takes another station client's session over. */
  readonly clientId: string;
  /** The one filter it subscribes to, at QoS 1. */
  readonly filter: string;
  readonly onMessage: (topic: string, payload: Buffer) => void;
  /** mqtt.js errors of the connection (refused login, socket errors); reconnection goes on. */
  readonly onError: (err: Error) => void;
}

/**
 * A helper client with a clean session, subscribed to one filter, connected on first use (the
 * command channel, the OTA channel). Nothing is kept between its connections: whatever answer
 * it misses while away is made good by its owner's own timeout or repetition. Callers share
 * one attempt; a failed one (broker away, subscription refused) is ended, and the next call
 * tries again. mqtt.js subscribes again by itself after a reconnection of a clean session.
 */
export class SubscribedClient {
  #client: MqttClient | undefined;
  #ready: Promise<MqttClient> | undefined;
  #closed = false;

  constructor(private readonly o: SubscribedClientOptions) {}

  /** The connected, subscribed client. */
  client(): Promise<MqttClient> {
    if (this.#closed) return Promise.reject(new Error(`MQTT client ${this.o.clientId} closed`));
    if (this.#ready !== undefined) return this.#ready;
    const client = connectMqtt(this.o.connection, { clientId: this.o.clientId, persistentSession: false });
    this.#client = client;
    client.on('message', (topic, payload) => { this.o.onMessage(topic, payload); });
    client.on('error', (err) => { this.o.onError(err); });
    const ready = new Promise<MqttClient>((resolve, reject) => {
      client.once('connect', () => {
        client.subscribe(this.o.filter, { qos: 1 }, (err, granted) => {
          // MQTT 3.1.1 §3.9.3: return code 0x80 is the broker's refusal of the subscription.
          if (err === null && granted?.[0]?.qos !== 128) resolve(client);
          else reject(err ?? new Error(`broker refused the subscription to ${this.o.filter}`));
        });
      });
    });
    ready.catch(() => {
      if (this.#client === client) {
        this.#client = undefined;
        this.#ready = undefined;
        client.end(true);
      }
    });
    this.#ready = ready;
    return ready;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#ready = undefined;
    if (client !== undefined) await disconnect(client);
  }
}
