/**
 * The one way the station connects to its MQTT broker. Every station client (telemetry
 * adapter, command channel, DLMS push subscriber, alarm notifier, broker drop monitor)
 * is built from the same connection description (URL, login, TLS, keepalive, reconnect)
 * and differs only in its role: its client id and whether the broker keeps its session.
 * One description means a TLS broker or a login reaches every client, not only some.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

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
