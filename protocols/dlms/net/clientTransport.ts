/**
 * The thin socket binding of the DLMS client: a TCP connection carrying either the TCP
 * wrapper (IEC 62056-47) or HDLC (IEC 62056-46) frames, exposed as an ApduTransport (one
 * APDU out, the next APDU in). All protocol logic stays in the sans-IO codecs and engines.
 */
import { connect, type Socket } from 'node:net';
import { ConnectionError, TimeoutError } from '../../adapter.js';
import type { ApduTransport } from '../client/transport.js';
import { FrameError } from '../errors.js';
import { HdlcLink, type HdlcLinkOutput, type HdlcParameters } from '../hdlc/index.js';
import { WrapperDecoder, encodeWrapper } from '../wrapper/wrapper.js';

export type DlmsFraming = 'wrapper' | 'hdlc';

export interface DlmsConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly framing: DlmsFraming;
  /** Client SAP: the wrapper's source wPort, the HDLC client address (16 = public client). */
  readonly clientSap: number;
  /** Server logical device: the wrapper's destination wPort, the HDLC upper address (1 = management). */
  readonly serverSap: number;
  /** HDLC lower (physical device) address, when the meter needs one. */
  readonly serverLower?: number;
  readonly hdlc?: Partial<HdlcParameters>;
  /** Bounds the TCP connect, the HDLC link set-up and every request. */
  readonly timeoutMs: number;
  readonly maxApduSize?: number;
  readonly terminalId?: string;
  /** APDUs the meter sends unasked (data-notifications over the same connection). */
  readonly onUnsolicited?: (apdu: Uint8Array) => void;
}

/** Connects and, for HDLC, opens the link (SNRM/UA). Rejects with a typed error. */
export async function openDlmsTransport(options: DlmsConnectOptions, signal: AbortSignal): Promise<ApduTransport> {
  const socket = await openSocket(options, signal);
  const transport = new SocketTransport(socket, options);
  try {
    await transport.start(signal);
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return transport;
}

interface Pending {
  readonly resolve: (apdu: Uint8Array) => void;
  readonly reject: (err: Error) => void;
}

class SocketTransport implements ApduTransport {
  private pending: Pending | undefined;
  private broken: Error | undefined;
  private readonly wrapper: WrapperDecoder | undefined;
  private readonly link: HdlcLink | undefined;
  private linkUp: Pending | undefined;
  private closed = false;

  constructor(private readonly socket: Socket, private readonly o: DlmsConnectOptions) {
    if (o.framing === 'wrapper') this.wrapper = new WrapperDecoder(o.maxApduSize === undefined ? {} : { maxApduLength: o.maxApduSize });
    else {
      this.link = new HdlcLink({
        role: 'client', clientAddress: o.clientSap,
        serverAddress: { upper: o.serverSap, ...(o.serverLower === undefined ? {} : { lower: o.serverLower }) },
        ...(o.hdlc === undefined ? {} : { parameters: o.hdlc }),
        ...(o.maxApduSize === undefined ? {} : { maxApduSize: o.maxApduSize }),
      });
    }
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('error', (err) => {
      this.fail(new ConnectionError(`connection to ${o.host}:${o.port} failed: ${err.message}`, o.terminalId, { cause: err }));
    });
    socket.on('close', () => {
      // A close we asked for is no failure: nothing waits, so skip building an error.
      if (this.closed && this.pending === undefined && this.linkUp === undefined) return;
      this.fail(new ConnectionError(`connection to ${o.host}:${o.port} closed`, o.terminalId));
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.link === undefined) return;
    const link = this.link;
    await this.withTimeout(signal, 'HDLC link set-up (SNRM/UA)', (pending) => {
      this.linkUp = pending;
      this.write(link.connect());
    });
  }

  request(apdu: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    if (this.pending !== undefined) return Promise.reject(new ConnectionError('a request is already in flight on this association', this.o.terminalId));
    return this.withTimeout(signal, 'DLMS request', (pending) => {
      this.pending = pending;
      if (this.link !== undefined) this.write(this.link.send(apdu));
      else this.socket.write(encodeWrapper({ source: this.o.clientSap, destination: this.o.serverSap, apdu }));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.link?.state === 'connected' && this.broken === undefined) {
      // Release the link politely (DISC → UA); a meter that does not answer is closed anyway.
      const released = new Promise<void>((resolve) => {
        this.linkUp = { resolve: () => { resolve(); }, reject: () => { resolve(); } };
        setTimeout(resolve, Math.min(this.o.timeoutMs, 1_000)).unref();
      });
      this.write(this.link.disconnect());
      await released;
    }
    // Our FIN goes out after what is queued, then the descriptor is closed at once: the kernel
    // finishes the TCP close on its own. Waiting for the meter's FIN would hold the session
    // (and its descriptor) one more round trip, 400 ms on a GPRS link, for nothing: after the
    // release (or the DISC) nothing the meter sends is read any more.
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      // A meter that stopped reading could keep our last bytes (and the FIN) queued for ever.
      const stuck = setTimeout(() => this.socket.destroy(), 1_000);
      this.socket.once('close', () => {
        clearTimeout(stuck);
        resolve();
      });
      this.socket.destroySoon();
    });
  }

  private withTimeout(signal: AbortSignal, what: string, start: (p: Pending) => void): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const timer = setTimeout(() => {
        done();
        // A late answer must never be taken for the next request's: the association is over.
        this.fail(new TimeoutError(this.o.terminalId, this.o.timeoutMs, what));
      }, this.o.timeoutMs);
      const onAbort = () => {
        done();
        this.fail(signal.reason instanceof Error ? signal.reason : new ConnectionError(`${what} aborted`, this.o.terminalId));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      start({
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
      });
    });
  }

  private onData(chunk: Buffer): void {
    if (this.wrapper !== undefined) {
      let frames;
      try {
        frames = this.wrapper.push(chunk);
      } catch (err) {
        this.fail(err instanceof Error ? err : new FrameError('wrapper', String(err), this.o.terminalId));
        return;
      }
      for (const f of frames) {
        if (!f.ok) this.fail(f.error);
        else this.deliver(f.frame.apdu);
      }
      return;
    }
    if (this.link !== undefined) this.handleLink(this.link.receive(chunk));
  }

  private handleLink(out: HdlcLinkOutput): void {
    this.write(out);
    for (const e of out.events) {
      if (e.type === 'connected' || (e.type === 'disconnected' && this.linkUp !== undefined && this.closed)) {
        const up = this.linkUp;
        this.linkUp = undefined;
        up?.resolve(new Uint8Array(0));
      } else if (e.type === 'apdu') this.deliver(e.apdu);
      else if (e.type === 'disconnected') this.fail(new ConnectionError(`HDLC link ${e.reason}`, this.o.terminalId));
      else if (e.fatal) this.fail(e.error);
    }
  }

  private deliver(apdu: Uint8Array): void {
    const p = this.pending;
    if (p === undefined) {
      this.o.onUnsolicited?.(apdu);
      return;
    }
    this.pending = undefined;
    p.resolve(apdu);
  }

  private write(out: HdlcLinkOutput): void {
    for (const frame of out.send) this.socket.write(frame);
  }

  /** The association cannot be trusted any more: reject what waits and refuse what follows. */
  private fail(err: Error): void {
    this.broken ??= err;
    const waiting = [this.pending, this.linkUp];
    this.pending = undefined;
    this.linkUp = undefined;
    for (const w of waiting) w?.reject(err);
    if (!this.socket.destroyed && !this.closed) this.socket.destroy();
  }
}

function openSocket(o: DlmsConnectOptions, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: o.host, port: o.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(o.terminalId, o.timeoutMs, `TCP connect to ${o.host}:${o.port}`));
    }, o.timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new ConnectionError('connect aborted', o.terminalId));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(new ConnectionError(`cannot connect to ${o.host}:${o.port}: ${err.message}`, o.terminalId, { cause: err }));
    });
  });
}
