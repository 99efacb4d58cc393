/**
 * How the simulated meter's pushes leave it: one long-lived TCP connection carrying
 * wrapper frames (IEC 62056-47 §5.3), or an MQTT client publishing the raw APDU with QoS 1
 * to `<prefix>/<terminalId>/dlms/notify`. `send` resolves once the bytes were handed to the
 * socket (TCP) or acknowledged by the broker (MQTT); a broken link rejects, and the sender
 * opens a new transport for its next attempt.
 */
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import { encodeWrapper } from '../../protocols/dlms/wrapper/wrapper.js';
import type { PushDestination } from './objects/pushSetup.js';

export interface PushTransport {
  send(apdu: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface PushTransportOptions {
  readonly terminalId: string;
  readonly topicPrefix: string;
  readonly sourceWPort: number;
  readonly destinationWPort: number;
  /** Connect timeout, ms (default 5,000). */
  readonly timeoutMs?: number;
  /** What the MQTT client logs in with (the broker's terminal credentials). */
  readonly mqttLogin?: MqttLogin;
}

export interface MqttLogin {
  readonly username: string;
  readonly password: string;
}

export async function openPushTransport(d: PushDestination, o: PushTransportOptions): Promise<PushTransport> {
  return d.transport === 'tcp' ? openTcp(d.host, d.port, o) : openMqtt(d.url, o);
}

async function openTcp(host: string, port: number, o: PushTransportOptions): Promise<PushTransport> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host, port, timeout: o.timeoutMs ?? 5_000 });
    s.once('connect', () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('timeout', () => {
      s.destroy();
      reject(new Error(`push connection to ${host}:${port} timed out`));
    });
    s.once('error', reject);
  });
  let broken: Error | undefined;
  socket.on('error', (err) => { broken = err; });
  socket.on('close', () => { broken ??= new Error(`push connection to ${host}:${port} closed`); });
  // The head-end never answers a push; anything it sends is read and ignored.
  socket.on('data', () => undefined);
  return {
    send: (apdu) => new Promise<void>((resolve, reject) => {
      if (broken !== undefined || socket.destroyed) {
        reject(broken ?? new Error('push connection closed'));
        return;
      }
      socket.write(encodeWrapper({ source: o.sourceWPort, destination: o.destinationWPort, apdu }), (err) => {
        if (err) reject(err);
        else resolve();
      });
    }),
    close: () => new Promise<void>((resolve) => {
      if (socket.destroyed) {
        resolve();
        return;
      }
      socket.once('close', () => { resolve(); });
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    }),
  };
}

async function openMqtt(url: string, o: PushTransportOptions): Promise<PushTransport> {
  const client = await mqtt.connectAsync(url, {
    clientId: `gridhead-sim-dlms-${o.terminalId}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    connectTimeout: o.timeoutMs ?? 5_000,
    // No reconnect of its own: a broken link fails the send and the sender opens a new transport.
    reconnectPeriod: 0,
    ...o.mqttLogin,
  });
  const topic = dlmsNotifyTopic(o.topicPrefix, o.terminalId);
  return {
    send: async (apdu) => {
      if (!client.connected) throw new Error(`MQTT client for ${url} is not connected`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => { reject(new Error('PUBACK not received in time')); }, o.timeoutMs ?? 5_000);
      });
      try {
        await Promise.race([client.publishAsync(topic, Buffer.from(apdu), { qos: 1 }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      await client.endAsync(true);
    },
  };
}
