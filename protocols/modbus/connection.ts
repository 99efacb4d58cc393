/**
 * One TCP connection to a Modbus terminal, framed as Modbus TCP (MBAP) or as RTU frames
 * over TCP, with at most one request in flight. The socket is ours (modbus-serial is given
 * an already-connected socket) so that connection loss is seen at once and every request
 * settles: with a reply, an exception, a timeout, or ConnectionError.
 */
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import { ConnectionError, TimeoutError } from '../adapter.js';
import type { ModbusFraming } from './config.js';
import { ModbusExceptionError, ModbusResponseError } from './errors.js';

export interface ConnectOptions {
  readonly terminalId: string;
  readonly host: string;
  readonly port: number;
  readonly framing: ModbusFraming;
  /** Bounds the TCP connect as well as each request. */
  readonly timeoutMs: number;
}

// modbus-serial is CommonJS whose typings say `export default`; its module.exports.default
// is the client class itself, which is what both the types and the runtime agree on.
const ModbusClient = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusClient>;

interface InFlight {
  readonly reject: (e: Error) => void;
}

export class ModbusConnection {
  private open = true;
  private inFlight: InFlight | undefined;
  /** Replies (including exceptions) received: a connection that never answered is suspect. */
  repliesReceived = 0;
  /** True when the peer closed or broke the connection (not when we dropped it). */
  closedByPeer = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly client: ModbusClient,
    private readonly options: ConnectOptions,
  ) {
    const lost = (cause?: Error) => {
      if (this.open) this.closedByPeer = true;
      this.markClosed(new ConnectionError('connection lost', options.terminalId, { cause }));
    };
    socket.on('close', () => { lost(); });
    socket.on('error', (e) => { lost(e); });
    // modbus-serial re-emits port errors on the client; an unheard 'error' would throw.
    client.on('error', (e: unknown) => { lost(e instanceof Error ? e : undefined); });
  }

  /** Connects within `timeoutMs`; aborting `signal` abandons the attempt with its reason. */
  static async connect(options: ConnectOptions, signal: AbortSignal): Promise<ModbusConnection> {
    signal.throwIfAborted();
    const socket = await connectSocket(options, signal);
    socket.setNoDelay(true);
    const client = new ModbusClient();
    try {
      // modbus-serial's "telnet" port writes bare RTU frames (CRC included) to the stream.
      if (options.framing === 'tcp') await client.linkTCP(socket, { port: options.port });
      else await client.linkTelnet(socket, { port: options.port });
    } catch (e) {
      socket.destroy();
      throw new ConnectionError('could not attach the Modbus client', options.terminalId, { cause: e });
    }
    return new ModbusConnection(socket, client, options);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Reads `count` registers. On timeout the connection is dropped, so a late reply can never
   * be taken for the answer to the next request (RTU framing has no transaction id).
   */
  readRegisters(fn: 3 | 4, unitId: number, start: number, count: number): Promise<number[]> {
    return this.request<{ readonly data: number[] }, number[]>(unitId, `read of ${count} registers at ${start} from unit ${unitId}`, (next) => {
      if (fn === 3) this.client.writeFC3(unitId, start, count, next);
      else this.client.writeFC4(unitId, start, count, next);
    }, (res) => (res.data.length === count ? res.data : `expected ${count} registers, got ${res.data.length}`));
  }

  /** Reads `count` coils (function 1). */
  readCoils(unitId: number, start: number, count: number): Promise<boolean[]> {
    return this.request<{ readonly data: boolean[] }, boolean[]>(unitId, `read of ${count} coils at ${start} from unit ${unitId}`, (next) => {
      this.client.writeFC1(unitId, start, count, next);
    }, (res) => (res.data.length >= count ? res.data.slice(0, count) : `expected ${count} coils, got ${res.data.length}`));
  }

  /** Writes one coil (function 5); Application Protocol §6.5: the normal reply echoes the request. */
  writeCoil(unitId: number, address: number, on: boolean): Promise<void> {
    return this.request<unknown, undefined>(unitId, `write of coil ${address} at unit ${unitId}`, (next) => {
      this.client.writeFC5(unitId, address, on, next);
    }, () => undefined);
  }

  /** Writes registers from `address`: function 6 for one register, 16 for more (Application Protocol §6.6, §6.12). */
  writeRegisters(unitId: number, address: number, words: readonly number[]): Promise<void> {
    return this.request<unknown, undefined>(unitId, `write of ${words.length} registers at ${address} at unit ${unitId}`, (next) => {
      const [only] = words;
      if (words.length === 1 && only !== undefined) this.client.writeFC6(unitId, address, only, next);
      else this.client.writeFC16(unitId, address, [...words], next);
    }, () => undefined);
  }

  /**
   * One request with a reply: `send` issues it with a node-style callback, `accept` turns the
   * reply into the result or a reason it does not fit. Exceptions become ModbusExceptionError;
   * a timeout or a reply that does not fit drops the connection.
   */
  private request<R, T>(unitId: number, what: string, send: (next: (err: unknown, res: R | undefined) => void) => void, accept: (res: R) => T | string): Promise<T> {
    if (!this.open) return Promise.reject(new ConnectionError('connection closed', this.options.terminalId));
    if (this.inFlight !== undefined) {
      return Promise.reject(new Error('ModbusConnection: a request is already in flight'));
    }
    const { terminalId, timeoutMs } = this.options;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, data?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight = undefined;
        if (err === undefined) resolve(data as T);
        else reject(err);
      };
      const timer = setTimeout(() => {
        finish(new TimeoutError(terminalId, timeoutMs, what));
        this.destroy();
      }, timeoutMs);
      this.inFlight = { reject: (e) => { finish(e); } };
      const onReply = (err: unknown, res: R | undefined) => {
        if (err === null || err === undefined) {
          this.repliesReceived++;
          const result = res === undefined ? 'empty reply' : accept(res);
          if (typeof result === 'string') {
            finish(new ModbusResponseError(result, terminalId));
            this.destroy();
            return;
          }
          finish(undefined, result);
          return;
        }
        const exceptionCode = (err as { modbusCode?: unknown }).modbusCode;
        if (typeof exceptionCode === 'number') {
          this.repliesReceived++;
          finish(new ModbusExceptionError(terminalId, unitId, exceptionCode));
          return;
        }
        // CRC, length or unit/function mismatch: the stream can no longer be trusted.
        finish(new ModbusResponseError(err instanceof Error ? err.message : 'bad reply', terminalId, { cause: err }));
        this.destroy();
      };
      send(onReply);
    });
  }

  /** Closes at once; a request in flight fails with ConnectionError. Idempotent. */
  destroy(): void {
    this.markClosed(new ConnectionError('connection closed', this.options.terminalId));
    this.socket.destroy();
  }

  private markClosed(err: Error): void {
    this.open = false;
    const pending = this.inFlight;
    this.inFlight = undefined;
    pending?.reject(err);
  }
}

function connectSocket(options: ConnectOptions, signal: AbortSignal): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    const done = (err?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      if (err === undefined) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(err);
    };
    const onConnect = () => { done(); };
    const onError = (e: Error) => {
      done(new ConnectionError(`cannot connect to ${options.host}:${options.port}: ${e.message}`, options.terminalId, { cause: e }));
    };
    const onAbort = () => { done(signal.reason instanceof Error ? signal.reason : new Error('aborted')); };
    const timer = setTimeout(() => {
      done(new ConnectionError(`connect to ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`, options.terminalId));
    }, options.timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
