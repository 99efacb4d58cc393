/**
 * Deferred QoS 1 acknowledgements for one connection: many messages in flight, each
 * acknowledged (PUBACK) only once the station is done with it, in the order received.
 *
 * MQTT 3.1.1 §4.3.2: the receiver owns a QoS 1 message once it sends the PUBACK, so the
 * PUBACK waits for the commit. §4.6: PUBACKs go out in the order the PUBLISH packets were
 * received, so an acknowledgement waits for every earlier one: a message whose commit
 * finished early is acknowledged with the slow one before it. The window is bounded:
 * once `limit` messages await their acknowledgement, the caller stops reading the socket.
 *
 * `send` gets the packet identifiers ready to acknowledge, in order, in one call once per
 * event-loop turn, so the socket sees one write per group commit rather than one per message.
 */
import type { Disposition } from './delivery.js';

export class AckWindow {
  private readonly pending: Pending[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private held = false;
  private flushScheduled = false;

  constructor(
    /** Messages awaiting their acknowledgement at once, at most. */
    private readonly limit: number,
    private readonly send: (messageIds: readonly number[]) => void,
  ) {}

  /** Messages received and not yet acknowledged (nor held). */
  get size(): number {
    return this.pending.length;
  }

  /** Whether another message may be taken now. */
  hasRoom(): boolean {
    return this.pending.length < this.limit;
  }

  /** Resolves once another message may be taken. */
  whenRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Takes a received message; call the returned function once with its disposition.
   * `messageId` undefined (QoS 0) needs no acknowledgement but keeps its place in line.
   */
  take(messageId: number | undefined): (disposition: Disposition) => void {
    const entry: Pending = { messageId, disposition: undefined };
    this.pending.push(entry);
    return (disposition) => {
      if (entry.disposition !== undefined) return;
      entry.disposition = disposition;
      // A group commit settles many messages in one turn: acknowledge them in one write.
      if (this.flushScheduled || entry !== this.pending[0]) return;
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    };
  }

  /** Acknowledges nothing from now on: what is in flight is left to the broker. */
  holdAll(): void {
    this.held = true;
    this.pending.length = 0;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private flush(): void {
    const ids: number[] = [];
    let head = this.pending[0];
    while (head?.disposition !== undefined) {
      this.pending.shift();
      // A held message ends the line's acknowledgements: the broker redelivers it, and
      // everything after it, in the next session (shutdown is the only cause).
      if (head.disposition === 'hold') this.held = true;
      if (!this.held && head.messageId !== undefined) ids.push(head.messageId);
      head = this.pending[0];
    }
    if (ids.length > 0) this.send(ids);
    while (this.roomWaiters.length > 0 && this.hasRoom()) this.roomWaiters.shift()?.();
  }
}

interface Pending {
  readonly messageId: number | undefined;
  disposition: Disposition | undefined;
}

/**
 * PUBACK packets for `messageIds`, back to back in one buffer. MQTT 3.1.1 §3.4: fixed
 * header 0x40 (type 4, flags 0) and remaining length 2 (§2.2), then the packet
 * identifier, most significant byte first (§3.4.2).
 */
export function encodePubacks(messageIds: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 * messageIds.length);
  messageIds.forEach((id, i) => {
    out[4 * i] = 0x40;
    out[4 * i + 1] = 0x02;
    out.writeUInt16BE(id, 4 * i + 2);
  });
  return out;
}
