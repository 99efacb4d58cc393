/**
 * A TCP proxy for HDLC-framed DLMS (IEC 62056-46) between a client and a simulator, the HDLC
 * sibling of WrapperProxy: it records the APDUs the server sends in single frames and can
 * rewrite them, re-encoding the frame with its HCS and FCS (a meter that appends bytes inside
 * the information field). Frames from the client, and segmented APDUs, pass untouched.
 */
import type { Socket } from 'node:net';
import { HdlcFrameDecoder, encodeHdlcFrame, LLC_RESPONSE } from '../../../protocols/dlms/hdlc/index.js';
import { TcpProxy } from './tcpProxy.js';
import type { ServerApduRewrite } from './wrapperProxy.js';

export class HdlcProxy extends TcpProxy {
  /** APDUs the server sent in single, unsegmented I-frames, in order (as sent). */
  readonly fromServer: Uint8Array[] = [];

  constructor(target: number, private readonly rewrite: ServerApduRewrite) {
    super(target);
  }

  protected relay(client: Socket, upstream: Socket): void {
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
  }
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && prefix.every((v, i) => b[i] === v);
}
