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

