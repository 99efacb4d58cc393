/**
 * A TCP proxy for wrapper-framed DLMS (IEC 62056-47: version 2, source 2, destination 2,
 * length 2, APDU) between a client and a simulator. It records every APDU in both
 * directions, so a test can show what actually crossed the wire, and can flip one bit in
 * the last octet (the GCM tag) of the n-th frame the server sends, to show that the client
 * refuses a tampered APDU, or rewrite the server's APDUs (a meter that appends bytes).
 */
import type { Socket } from 'node:net';
import { TcpProxy } from './tcpProxy.js';

const HEADER = 8;

export interface WrapperProxyOptions {
  /** 1-based index of the server frame whose last octet is flipped; none when absent. */
  readonly tamperServerFrame?: number;
  /** What the client gets instead of the server's APDU (undefined: the APDU as sent); framed anew. */
  readonly rewriteServerApdu?: ServerApduRewrite;
}

/** `apdu` is the server's APDU as sent, `n` its 1-based index among the server's APDUs. */
export type ServerApduRewrite = (apdu: Uint8Array, n: number) => Uint8Array | undefined;

export class WrapperProxy extends TcpProxy {
  /** APDUs the client sent, in order. */
  readonly fromClient: Uint8Array[] = [];
  /** APDUs the server sent, in order (as sent, before any tampering). */
  readonly fromServer: Uint8Array[] = [];
  tampered = 0;

  constructor(target: number, private readonly options: WrapperProxyOptions = {}) {
    super(target);
  }

  protected relay(client: Socket, upstream: Socket): void {
    client.on('data', relayFrames(this.fromClient, upstream, () => false));
    let frames = 0;
    upstream.on('data', relayFrames(this.fromServer, client, () => {
      const tamper = ++frames === this.options.tamperServerFrame;
      if (tamper) this.tampered++;
      return tamper;
    }, this.options.rewriteServerApdu));
  }
}

/**
 * Forwards and records each complete wrapper frame. The buffer is bounded by the frame
 * format: after the loop it holds less than one frame, at most 8 + 65535 octets.
 */
function relayFrames(into: Uint8Array[], to: Socket, tamperNext: () => boolean, rewrite?: ServerApduRewrite): (d: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (d) => {
    buffer = Buffer.concat([buffer, d]);
    while (buffer.length >= HEADER && buffer.length >= HEADER + buffer.readUInt16BE(6)) {
      const size = HEADER + buffer.readUInt16BE(6);
      let frame = Buffer.from(buffer.subarray(0, size));
      buffer = buffer.subarray(size);
      const apdu = Uint8Array.from(frame.subarray(HEADER));
      into.push(apdu);
      const replaced = rewrite?.(apdu, into.length);
      if (replaced !== undefined) {
        // Same header, the new APDU's length (IEC 62056-47: the length field counts the APDU only).
        frame = Buffer.concat([frame.subarray(0, HEADER), replaced]);
        frame.writeUInt16BE(replaced.length, 6);
      }
      if (tamperNext()) frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x01;
      to.write(frame);
    }
  };
}
