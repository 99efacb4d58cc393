/**
 * A TCP proxy for wrapper-framed DLMS (IEC 62056-47: version 2, source 2, destination 2,
 * length 2, APDU) that flips one bit in the last octet (the GCM tag) of the n-th frame the
 * server sends, to show that the client refuses a tampered APDU.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

const HEADER = 8;

export class TamperingProxy {
  tampered = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: number, private readonly frameToTamper: number) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      client.on('data', (d) => upstream.write(d));
      let buffer = Buffer.alloc(0);
      let frames = 0;
      upstream.on('data', (d: Buffer) => {
        buffer = Buffer.concat([buffer, d]);
        while (buffer.length >= HEADER && buffer.length >= HEADER + buffer.readUInt16BE(6)) {
          const size = HEADER + buffer.readUInt16BE(6);
          const frame = Buffer.from(buffer.subarray(0, size));
          buffer = buffer.subarray(size);
          if (++frames === this.frameToTamper) {
            frame[size - 1] = (frame[size - 1] ?? 0) ^ 0x01;
            this.tampered++;
          }
          client.write(frame);
        }
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
  }
}
