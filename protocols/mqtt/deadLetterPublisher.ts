/**
 * Publishes dead-letter records (deadLetter.ts) to the dead-letter topic at QoS 1, bounded:
 * at most `maxPending` copies await the broker's PUBACK; beyond that, or without a client,
 * a copy is dropped and counted. Shared by the telemetry adapter and the DLMS push
 * subscriber, so both keep the same promise about refused messages.
 *
 * The publish is not awaited: the PUBACK cannot be read while the client holds the message
 * that caused it, and mqtt.js keeps the copy in its outgoing store until acknowledged.
 */
import type { MqttClient } from 'mqtt';
import { encodeDeadLetter, type DeadLetterInput } from './deadLetter.js';

export interface DeadLetterPublisherOptions {
  readonly topic: string | undefined;
  readonly maxPending: number;
  /** A copy was not published: no topic, no client, or `maxPending` already waiting. */
  readonly onDropped?: (input: DeadLetterInput, reason: string) => void;
  /** The broker or the connection failed the publish. */
  readonly onFailed?: (input: DeadLetterInput, err: Error) => void;
}

export class DeadLetterPublisher {
  private published = 0;
  private droppedCount = 0;
  private pending = 0;

  constructor(private readonly o: DeadLetterPublisherOptions) {}

  /** Copies handed to the client. */
  get deadLettered(): number {
    return this.published;
  }

  /** Copies dropped (see `onDropped`). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** false when the copy was dropped (counted and reported). */
  publish(client: MqttClient | undefined, input: DeadLetterInput): boolean {
    const topic = this.o.topic;
    if (topic === undefined) return this.drop(input, 'no dead-letter topic');
    if (client === undefined) return this.drop(input, 'no broker connection');
    if (this.pending >= this.o.maxPending) return this.drop(input, `${this.o.maxPending} dead-letter copies already await the broker`);
    this.pending += 1;
    this.published += 1;
    client.publish(topic, encodeDeadLetter(input), { qos: 1 }, (err) => {
      this.pending -= 1;
      if (err) this.o.onFailed?.(input, err);
    });
    return true;
  }

  private drop(input: DeadLetterInput, reason: string): false {
    this.droppedCount += 1;
    this.o.onDropped?.(input, reason);
    return false;
  }
}
