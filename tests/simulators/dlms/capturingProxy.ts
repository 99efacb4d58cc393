/**
 * A TCP proxy for wrapper-framed DLMS (IEC 62056-47: version 2, source 2, destination 2,
 * length 2, APDU) that records every APDU in both directions, unchanged, so a test can show
 * what actually crossed the wire.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

const HEADER = 8;

export class CapturingProxy {
  /** APDUs the client sent, in order. */
  readonly fromClient: Uint8Array[] = [];
  /** APDUs the server sent, in order. */
  readonly fromServer: Uint8Array[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: number) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      client.on('data', relay(this.fromClient, upstream));
      upstream.on('data', relay(this.fromServer, client));
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

/**
 * Forwards bytes as they come and records each complete wrapper frame's APDU. The buffer is
 * bounded by the frame format: after the loop it holds less than one frame, at most 8 + 65535 octets.
 */
function relay(into: Uint8Array[], to: Socket): (d: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (d) => {
    to.write(d);
    buffer = Buffer.concat([buffer, d]);
    while (buffer.length >= HEADER && buffer.length >= HEADER + buffer.readUInt16BE(6)) {
      const size = HEADER + buffer.readUInt16BE(6);
      into.push(Uint8Array.from(buffer.subarray(HEADER, size)));
      buffer = buffer.subarray(size);
    }
  };
}
