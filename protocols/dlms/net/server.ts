/**
 * The thin socket binding of the DLMS server side (our meter simulator): a TCP listener whose
 * connections carry the TCP wrapper or HDLC, each connection with its own association(s).
 * Faults can be injected for tests: slow replies, dropped connections, corrupt frames.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HdlcLink, type HdlcLinkOutput, type HdlcParameters } from '../hdlc/index.js';
import { WrapperDecoder, encodeWrapper } from '../wrapper/wrapper.js';
import type { DlmsFraming } from './clientTransport.js';
import { listenOn } from './listen.js';

/** What a listener needs of an association: APDU in (from a client SAP), APDUs out. */
export interface ApduResponder {
  receive(apdu: Uint8Array, clientSap: number): Uint8Array[];
}

export interface DlmsFaults {
  /** Delay before every reply, ms. */
  delayMs?: number;
  /** Probability (0..1) that a connection is dropped instead of answered. */
  dropProbability?: number;
  /** Probability (0..1) that a reply has one byte flipped. */
  corruptProbability?: number;
  /** The next reply on any connection is not sent: that connection is closed instead (once; the listener clears it). */
  dropNextReply?: boolean;
}

export interface DlmsListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly framing: DlmsFraming;
  /** Wrapper: the logical device's wPort; HDLC: the upper address answered. */
  readonly serverSap: number;
  /** HDLC lower (physical) address, if the simulated meter has one. */
  readonly serverLower?: number;
  readonly hdlc?: Partial<HdlcParameters>;
  /** A new association state for each connection. */
  readonly newResponder: () => ApduResponder;
  readonly maxConnections?: number;
  /** Connections silent this long are closed. */
  readonly idleTimeoutMs?: number;
  /** Mutable: tests change faults while the listener runs. */
  readonly faults?: DlmsFaults;
  readonly random?: () => number;
}

export interface DlmsListener {
  readonly port: number;
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startDlmsListener(o: DlmsListenerOptions): Promise<DlmsListener> {
  const sockets = new Set<Socket>();
  const random = o.random ?? Math.random;
  const server: Server = createServer((socket) => {
    if (sockets.size >= (o.maxConnections ?? 64)) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(o.idleTimeoutMs ?? 120_000, () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const send = (bytes: Uint8Array) => {
      const f = o.faults ?? {};
      if (f.dropNextReply === true || ((f.dropProbability ?? 0) > 0 && random() < (f.dropProbability ?? 0))) {
        f.dropNextReply = false;
        socket.destroy();
        return;
      }
      const out = (f.corruptProbability ?? 0) > 0 && random() < (f.corruptProbability ?? 0) ? corrupt(bytes, random) : bytes;
      if ((f.delayMs ?? 0) > 0) setTimeout(() => { if (!socket.destroyed) socket.write(out); }, f.delayMs).unref();
      else socket.write(out);
    };
    if (o.framing === 'wrapper') serveWrapper(socket, o, send);
    else serveHdlc(socket, o, send);
  });
  const port = await listenOn(server, o.port, o.host);
  return {
    port,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

function serveWrapper(socket: Socket, o: DlmsListenerOptions, send: (b: Uint8Array) => void): void {
  const decoder = new WrapperDecoder();
  // One association per client SAP on the connection, as a wrapper connection may multiplex them.
  const associations = new Map<number, ApduResponder>();
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy(); // IEC 62056-47: a stream with a bad header cannot be resynchronised
      return;
    }
    for (const f of frames) {
      if (!f.ok) {
        socket.destroy();
        return;
      }
      if (f.frame.destination !== o.serverSap) continue; // no such logical device here
      let a = associations.get(f.frame.source);
      if (a === undefined) {
        a = o.newResponder();
        associations.set(f.frame.source, a);
      }
      for (const apdu of a.receive(f.frame.apdu, f.frame.source)) {
        send(encodeWrapper({ source: o.serverSap, destination: f.frame.source, apdu }));
      }
    }
  });
}

function serveHdlc(socket: Socket, o: DlmsListenerOptions, send: (b: Uint8Array) => void): void {
  const link = new HdlcLink({
    role: 'server',
    serverAddress: { upper: o.serverSap, ...(o.serverLower === undefined ? {} : { lower: o.serverLower }) },
    ...(o.hdlc === undefined ? {} : { parameters: o.hdlc }),
  });
  let association: ApduResponder | undefined;
  const flush = (out: HdlcLinkOutput) => {
    for (const frame of out.send) send(frame);
    for (const e of out.events) {
      if (e.type === 'connected') association = o.newResponder();
      else if (e.type === 'disconnected') association = undefined;
      else if (e.type === 'apdu' && association !== undefined) {
        // An xDLMS request has one response; a second one could not be sent before the next poll.
        const [reply] = association.receive(e.apdu, link.clientSap ?? 0);
        if (reply !== undefined) flush(link.send(reply));
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    flush(link.receive(chunk));
  });
}

function corrupt(bytes: Uint8Array, random: () => number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const i = Math.floor(random() * copy.length);
  copy[i] = (copy[i] ?? 0) ^ (1 << Math.floor(random() * 8));
  return copy;
}
