/**
 * The MQTT adapter's configuration: the broker the station's clients connect to (connection.ts)
 * and the convention's topics and limits (README.md). The station's `mqtt:` section is these
 * keys plus what belongs to the station itself, the embedded broker and its drop monitor
 * (src/config/schema.ts).
 */
import Type from 'typebox';
import { strict } from '../config.js';

/** PEM files for a `mqtts://` or `wss://` broker; read by the station at start. */
const TlsConfig = Type.Object(
  {
    caFile: Type.Optional(Type.String()),
    certFile: Type.Optional(Type.String()),
    keyFile: Type.Optional(Type.String()),
    rejectUnauthorized: Type.Boolean({ default: true }),
  },
  strict,
);

export const MqttConfig = Type.Object(
  {
    /** Broker the head-end subscribes to; `mqtt://`, `mqtts://`, `ws://` or `wss://`. */
    url: Type.String({ default: 'mqtt://127.0.0.1:1883' }),
    /**
     * The persistent session the broker keeps (and queues QoS 1 telemetry in) for the station.
     * One per station, the same on every node of an active-standby pair: only the active node
     * connects with it, so the next active receives what the last one left. Sharded nodes each
     * connect as `<clientId>-<nodeId>` (src/cluster/mqttClients.ts).
     */
    clientId: Type.String({ minLength: 1, maxLength: 128, default: 'gridhead-headend' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    tls: Type.Optional(TlsConfig),
    /** Topic root of the convention: `<prefix>/<terminalId>/telemetry|status`. */
    topicPrefix: Type.String({ minLength: 1, default: 'gridhead/v1' }),
    /** Where unparseable payloads are copied, with the reason, for later inspection. */
    deadLetterTopic: Type.String({ minLength: 1, default: 'gridhead/v1/_deadletter' }),
    /** Payloads larger than this are refused (dead-lettered truncated). */
    maxPayloadBytes: Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024, default: 256 * 1024 }),
    /** Readings in one telemetry message, at most. */
    maxReadingsPerMessage: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
    /**
     * Messages received and not yet acknowledged, at most: a message is acknowledged once
     * committed, and many in flight let one store transaction commit many. The broker's own
     * limit applies too (Mosquitto `max_inflight_messages`, see config/mosquitto.conf).
     */
    maxInflightMessages: Type.Integer({ minimum: 1, maximum: 65_535, default: 1_000 }),
  },
  strict,
);

/** An MQTT terminal pushes; it needs no endpoint beyond its id, which is its topic segment. */
export type MqttEndpoint = Readonly<Record<string, never>>;
