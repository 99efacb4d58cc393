/**
 * A bound on the size of one MQTT packet, enforced on the bytes before the broker's parser
 * sees them. The parser (mqtt-packet) has no limit of its own and buffers a packet until all
 * of it has arrived, so a client announcing 250 MB would make the station hold 250 MB. The
 * guard reads each packet's fixed header as it streams past and closes the connection as
 * soon as a header announces more than the limit: nothing of the oversize body is kept.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** MQTT 3.1.1 §2.2.3: the Remaining Length takes at most four bytes (268,435,455). */
const MAX_LENGTH_BYTES = 4;

export type PacketVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'too-large'; readonly size: number }
  | { readonly ok: false; readonly reason: 'malformed-length' };

/**
 * Follows packet boundaries through a byte stream: fixed header byte, Remaining Length
 * (MQTT 3.1.1 §2.2.3, seven bits a byte, high bit = more), then that many bytes skipped.
 */
export class PacketSizeScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private lengthBytes = 0;
  private multiplier = 1;
  private bodyLeft = 0;

  constructor(private readonly maxPacketBytes: number) {}

  feed(chunk: Uint8Array): PacketVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++] ?? 0;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if ((byte & 0x80) !== 0) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return { ok: false, reason: 'malformed-length' };
        continue;
      }
      const size = 1 + this.lengthBytes + this.length;
      if (size > this.maxPacketBytes) return { ok: false, reason: 'too-large', size };
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return { ok: true };
  }
}

/**
 * Wraps a client socket for the broker: bytes pass through unchanged while every packet fits;
 * the first header over the limit destroys the socket and reports the verdict.
 */
export function guardPacketSize(socket: Socket, maxPacketBytes: number, onRefused: (verdict: Exclude<PacketVerdict, { ok: true }>) => void): Duplex {
  return new PacketSizeGuard(socket, new PacketSizeScanner(maxPacketBytes), onRefused);
}

class PacketSizeGuard extends Duplex {
  constructor(
    private readonly socket: Socket,
    scanner: PacketSizeScanner,
    onRefused: (verdict: Exclude<PacketVerdict, { ok: true }>) => void,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => {
      const verdict = scanner.feed(chunk);
      if (!verdict.ok) {
        socket.destroy();
        this.destroy();
        onRefused(verdict);
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => { this.push(null); });
    socket.on('error', (err) => { this.destroy(err); });
    socket.on('close', () => { this.destroy(); });
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
