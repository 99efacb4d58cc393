/**
 * The head-end's TCP listener for pushed DLMS APDUs: meters connect and send TCP-wrapper
 * frames (IEC 62056-47 §5.3), each carrying one APDU, usually a data-notification. Nothing is
 * ever sent back: a data-notification is unconfirmed (IEC 62056-5-3 §8).
 *
 * A misbehaving meter hurts only its own connection:
 *   - connections are bounded (`maxConnections`; one more is closed at once);
 *   - a frame larger than `maxApduBytes`, a bad wrapper header or any byte that cannot be a
 *     wrapper frame closes that connection (the wrapper cannot resynchronise, see wrapper.ts);
 *   - a connection may carry `maxBytesPerConnection` bytes, then it is closed (the meter
 *     reconnects), so no peer holds a connection and its buffers forever;
 *   - a connection silent for `idleTimeoutMs` is closed;
 *   - while `onApdu` works on a frame the socket is paused, so a slow pipeline slows the
 *     meter (TCP backpressure) instead of growing memory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { WrapperDecoder } from '../wrapper/wrapper.js';
import { listenOn } from './listen.js';

export interface PushOrigin {
  readonly kind: 'tcp';
  /** Peer address and port, for logs. */
  readonly remote: string;
  /** Wrapper source wPort: the sending logical device (1, the management logical device, by convention). */
  readonly source: number;
  readonly destination: number;
}

export type PushConnectionProblem =
  | 'too-many-connections' | 'bad-frame' | 'byte-budget' | 'idle' | 'socket-error' | 'handler-error';

export interface PushListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 1,000. */
  readonly maxConnections?: number;
  /** Largest APDU accepted in one wrapper frame; default 4,096. */
  readonly maxApduBytes?: number;
  /** Bytes one connection may carry before it is closed; default 1 MiB. */
  readonly maxBytesPerConnection?: number;
  /** Default 600,000 ms. */
  readonly idleTimeoutMs?: number;
  /** Called for each APDU in arrival order per connection; the connection waits for it to settle. */
  readonly onApdu: (apdu: Uint8Array, origin: PushOrigin) => void | Promise<void>;
  /** A connection closed or refused for a reason worth counting (never throws into the listener). */
  readonly onProblem?: (problem: PushConnectionProblem, remote: string, detail: string) => void;
}

export interface PushListenerStats {
  accepted: number;
  refused: number;
  frames: number;
  closedForProblem: number;
}

export interface PushListener {
  readonly port: number;
  connections(): number;
  readonly stats: Readonly<PushListenerStats>;
  close(): Promise<void>;
}

export async function startPushListener(o: PushListenerOptions): Promise<PushListener> {
  const sockets = new Set<Socket>();
  const stats: PushListenerStats = { accepted: 0, refused: 0, frames: 0, closedForProblem: 0 };
  const report = (problem: PushConnectionProblem, remote: string, detail: string) => {
    try {
      o.onProblem?.(problem, remote, detail);
    } catch {
      // The reporter itself failed; the listener must keep serving the other meters.
    }
  };
  const server: Server = createServer((socket) => {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    if (sockets.size >= (o.maxConnections ?? 1_000)) {
      stats.refused += 1;
      report('too-many-connections', remote, `${sockets.size} connections open`);
      socket.destroy();
      return;
    }
    stats.accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, remote, o, stats, {
      fail: (problem, detail) => {
        if (socket.destroyed) return;
        stats.closedForProblem += 1;
        report(problem, remote, detail);
        socket.destroy();
      },
      warn: (detail) => { report('handler-error', remote, detail); },
    });
  });
  const port = await listenOn(server, o.port, o.host);
  return {
    port,
    connections: () => sockets.size,
    stats,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function serve(
  socket: Socket,
  remote: string,
  o: PushListenerOptions,
  stats: PushListenerStats,
  on: { fail: (problem: PushConnectionProblem, detail: string) => void; warn: (detail: string) => void },
): void {
  const fail = on.fail;
  const decoder = new WrapperDecoder({ maxApduLength: o.maxApduBytes ?? 4_096 });
  const budget = o.maxBytesPerConnection ?? 1_048_576;
  let received = 0;
  let work: Promise<void> = Promise.resolve();
  let pending = 0;
  socket.setNoDelay(true);
  socket.setTimeout(o.idleTimeoutMs ?? 600_000, () => { fail('idle', 'no data within the idle timeout'); });
  socket.on('error', (err) => { fail('socket-error', err.message); });
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > budget) {
      fail('byte-budget', `more than ${budget} bytes on one connection`);
      return;
    }
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      fail('bad-frame', err instanceof Error ? err.message : String(err));
      return;
    }
    for (const f of frames) {
      if (!f.ok) {
        fail('bad-frame', f.error.message);
        return;
      }
      stats.frames += 1;
      const origin: PushOrigin = { kind: 'tcp', remote, source: f.frame.source, destination: f.frame.destination };
      const apdu = f.frame.apdu;
      pending += 1;
      socket.pause();
      work = work.then(() => o.onApdu(apdu, origin)).catch((err: unknown) => {
        // The handler is the receiver's; its failure is reported, the connection lives on.
        on.warn(err instanceof Error ? err.message : String(err));
      }).finally(() => {
        pending -= 1;
        if (pending === 0 && !socket.destroyed) socket.resume();
      });
    }
  });
}
