/**
 * The publishing side of the small-message MQTT benchmark, in a process of its own so the
 * terminals' CPU stays off the measured process: `terminals` mqtt.js clients, each one
 * meter with three values per message (the shape most field terminals send), QoS 1.
 *
 * IPC: parent → `start`; child → `done` once every message was acknowledged by the broker
 * (PUBACK), with the count and the offered rate; `failed` otherwise. The child ends when
 * the parent disconnects.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';

export interface SmallPublishersStart {
  readonly type: 'start';
  readonly url: string;
  readonly terminals: number;
  readonly messagesPerTerminal: number;
  /** Device time of every terminal's first message, ms epoch; each next message is `stepMs` later. */
  readonly deviceStartTs: number;
  readonly stepMs: number;
  /** Messages awaiting PUBACK at once, per terminal. */
  readonly maxInflight: number;
}

export type SmallPublishersReply =
  | { readonly type: 'done'; readonly messages: number; readonly readings: number; readonly errors: number; readonly messagesPerS: number }
  | { readonly type: 'failed'; readonly message: string };

/** Readings in every message: one meter, three values. */
export const SMALL_MESSAGE_READINGS = 3;
export const SMALL_METER_ADDRESS = '1';

export function smallTerminalId(i: number): string {
  return `small-${String(i).padStart(5, '0')}`;
}

export function isSmallPublishersReply(m: unknown): m is SmallPublishersReply {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'done' || type === 'failed';
}

/** The i-th message of a terminal: the same values for the same (terminal, i), so a run can be checked. */
export function smallMessage(terminal: number, i: number, plan: Pick<SmallPublishersStart, 'deviceStartTs' | 'stepMs'>): Buffer {
  const ts = plan.deviceStartTs + i * plan.stepMs;
  return encodeTelemetry({
    ts,
    meters: [{
      address: SMALL_METER_ADDRESS,
      values: { 'power.active': (terminal % 97) + i / 1000, 'voltage.l1': 230 + (i % 10) / 10, 'energy.active.import': 1000 + i / 100 },
    }],
  });
}

async function publishAll(plan: SmallPublishersStart): Promise<SmallPublishersReply> {
  const clients: MqttClient[] = [];
  try {
    for (let t = 0; t < plan.terminals; t++) {
      clients.push(await mqtt.connectAsync(plan.url, { clientId: `${smallTerminalId(t)}-pub`, clean: true, protocolVersion: 4, reconnectPeriod: 0 }));
    }
    let messages = 0;
    let errors = 0;
    const started = performance.now();
    await Promise.all(clients.map(async (client, t) => {
      const topic = telemetryTopic(DEFAULT_TOPIC_PREFIX, smallTerminalId(t));
      let next = 0;
      const worker = async () => {
        while (next < plan.messagesPerTerminal) {
          const i = next++;
          try {
            await client.publishAsync(topic, smallMessage(t, i, plan), { qos: 1 });
            messages += 1;
          } catch {
            errors += 1;
          }
        }
      };
      await Promise.all(Array.from({ length: plan.maxInflight }, worker));
    }));
    const seconds = (performance.now() - started) / 1000;
    return { type: 'done', messages, readings: messages * SMALL_MESSAGE_READINGS, errors, messagesPerS: messages / seconds };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}

if (typeof process.send === 'function' && process.argv.includes('--mqtt-small-publishers')) {
  const send = process.send.bind(process);
  process.on('message', (raw: unknown) => {
    const msg = raw as Partial<SmallPublishersStart> | null;
    if (msg?.type !== 'start') return;
    publishAll(msg as SmallPublishersStart).then((reply) => { send(reply); }, (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    });
  });
  process.on('disconnect', () => { process.exit(0); });
}
