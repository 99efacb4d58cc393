/**
 * A TCP proxy for HDLC-framed DLMS (IEC 62056-46) between a client and a simulator, the HDLC
 * sibling of WrapperProxy: it records the APDUs the server sends in single frames and can
 * rewrite them, re-encoding the frame with its HCS and FCS (a meter that appends bytes inside
 * the information field). Frames from the client, and segmented APDUs, pass untouched.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { HdlcFrameDecoder, encodeHdlcFrame, LLC_RESPONSE } from '../../../protocols/dlms/hdlc/index.js';
import type { ServerApduRewrite } from './wrapperProxy.js';

export class HdlcProxy {
  /** APDUs the server sent in single, unsegmented I-frames, in order (as sent). */
  readonly fromServer: Uint8Array[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: number, private readonly rewrite: ServerApduRewrite) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      client.on('data', (d) => upstream.write(d));
      const decoder = new HdlcFrameDecoder();
      // Set while the server is in the middle of a segmented APDU: its frames pass as they are.
      let segmenting = false;
      upstream.on('data', (d: Buffer) => {
        for (const decoded of decoder.push(d)) {
          if (!decoded.ok) {
            client.destroy();
            return;
          }
          const f = decoded.frame;
          const whole = f.kind === 'I' && !f.segmented && !segmenting && startsWith(f.info, LLC_RESPONSE);
          if (f.kind === 'I') segmenting = f.segmented;
          if (!whole) {
            client.write(encodeHdlcFrame(f));
            continue;
          }
          const apdu = f.info.subarray(LLC_RESPONSE.length);
          this.fromServer.push(Uint8Array.from(apdu));
          const replaced = this.rewrite(apdu, this.fromServer.length);
          client.write(encodeHdlcFrame(replaced === undefined ? f : { ...f, info: Uint8Array.from([...LLC_RESPONSE, ...replaced]) }));
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

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && prefix.every((v, i) => b[i] === v);
}
