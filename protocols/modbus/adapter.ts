/**
 * The Modbus transport adapter: one connection per terminal, one request in flight, block
 * reads planned from the terminal's register map, values decoded into catalogue units.
 * It never logs: every failure is returned as a typed error in the item's outcome.
 */
import type {
  DeviceCommand, DeviceControlState, RawReading, ReadItem, ReadOutcome, TerminalRef, TerminalSession, TransportAdapter,
} from '../adapter.js';
import { ConnectionError } from '../adapter.js';
import type { ModbusEndpoint, RegisterMapSpec } from './config.js';
import { ModbusConnection } from './connection.js';
import { decodeLimit, encodeLimit, limitWords, validateControls } from './controls.js';
import { ModbusAddressError, ModbusResponseError, ReconnectBackoffError, SessionBusyError, UnmappedControlError, UnmappedQuantityError } from './errors.js';
import { decodePoint, planBlocks, RegisterMapError, validateRegisterMap, type RegisterBlock } from './registerMap.js';

export interface ModbusAdapterOptions {
  /** Bounds each request and each TCP connect (config `modbus.requestTimeoutMs`). */
  readonly requestTimeoutMs: number;
  /** Delay after the first failed reconnect; doubles per failure up to reconnectMaxMs. */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly registerMaps: Readonly<Record<string, RegisterMapSpec>>;
  /** Clock for reading timestamps and reconnect backoff; defaults to Date.now. */
  readonly now?: () => number;
  /** Reads waiting for (or holding) one terminal's connection, at most; default 16. */
  readonly maxQueuedReads?: number;
}

export class ModbusAdapter implements TransportAdapter<ModbusEndpoint> {
  readonly protocol = 'modbus' as const;
  /** Modbus has only request/response: polled, and commands written over the same connection. */
  readonly capabilities = { pollable: true, commandsOverPush: false } as const;
  private readonly maps = new Map<string, CompiledMap>();
  private readonly sessions = new Set<ModbusSession>();
  private closed = false;

  /** Throws RegisterMapError (naming the map and point) when a register map is unusable. */
  constructor(private readonly options: ModbusAdapterOptions) {
    for (const [name, spec] of Object.entries(options.registerMaps)) {
      try {
        validateRegisterMap(spec);
        if (spec.controls !== undefined) validateControls(spec.controls);
      } catch (e) {
        if (e instanceof RegisterMapError) throw new RegisterMapError(`register map "${name}": ${e.message}`, e.point);
        throw e;
      }
      this.maps.set(name, { name, spec, quantities: new Set(spec.points.map((p) => p.quantity)) });
    }
  }

  async open(terminal: TerminalRef<ModbusEndpoint>, signal: AbortSignal): Promise<TerminalSession> {
    if (this.closed) throw new ConnectionError('the Modbus adapter is closed', terminal.id);
    const map = this.maps.get(terminal.endpoint.registerMap);
    if (map === undefined) throw new RegisterMapError(`terminal ${terminal.id}: unknown register map "${terminal.endpoint.registerMap}"`);
    const session = new ModbusSession(terminal, map, this.options, (s) => this.sessions.delete(s));
    await session.connectNow(signal);
    this.sessions.add(session);
    return session;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions].map((s) => s.close()));
  }
}

interface CompiledMap {
  readonly name: string;
  readonly spec: RegisterMapSpec;
  readonly quantities: ReadonlySet<string>;
}

class ModbusSession implements TerminalSession {
  private connection: ModbusConnection | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  private queued = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    private readonly terminal: TerminalRef<ModbusEndpoint>,
    private readonly map: CompiledMap,
    private readonly options: ModbusAdapterOptions,
    private readonly onClose: (s: ModbusSession) => void,
  ) {
    this.now = options.now ?? Date.now;
  }

  async connectNow(signal: AbortSignal): Promise<void> {
    await this.ensureConnected(signal);
  }

  /** Serialised: a read waits for the one before it, so one request is in flight at a time. */
  async read(items: readonly ReadItem[], signal: AbortSignal): Promise<ReadOutcome[]> {
    if (this.closed) return failAll(items, new ConnectionError('session closed', this.terminal.id));
    if (this.queued >= (this.options.maxQueuedReads ?? 16)) {
      return failAll(items, new SessionBusyError(`${this.queued} reads already queued`, this.terminal.id));
    }
    return this.serialised(() => this.readNow(items, signal));
  }

  /**
   * Writes the meter's relay or limit registers (the map's `controls`), then reads them back;
   * serialised with reads. Throws: the command is one request, not a list of items.
   */
  async execute(command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState> {
    if (this.closed) throw new ConnectionError('session closed', this.terminal.id);
    if (this.queued >= (this.options.maxQueuedReads ?? 16)) throw new SessionBusyError(`${this.queued} requests already queued`, this.terminal.id);
    const unit = parseUnitId(command.address);
    if (unit === undefined) throw new ModbusAddressError(this.terminal.id, command.address);
    return this.serialised(() => this.executeNow(command, unit, signal));
  }

  private async serialised<T>(run: () => Promise<T>): Promise<T> {
    this.queued++;
    const previous = this.tail;
    let release = () => { /* replaced below */ };
    this.tail = new Promise<void>((resolve) => { release = resolve; });
    try {
      await previous;
      return await run();
    } finally {
      this.queued--;
      release();
    }
  }

  private async executeNow(command: DeviceCommand, unit: number, signal: AbortSignal): Promise<DeviceControlState> {
    const { relay, limit } = this.map.spec.controls ?? {};
    const missing = () => new UnmappedControlError(this.terminal.id, command.type, this.map.name);
    switch (command.type) {
      case 'disconnect':
      case 'reconnect': {
        if (relay === undefined) throw missing();
        const value = command.type === 'reconnect' ? relay.connected : relay.disconnected;
        const read = await this.withConnection(signal, async (c) => {
          if ('coil' in relay) {
            await c.writeCoil(unit, relay.coil, value === 1);
            return (await c.readCoils(unit, relay.coil, 1))[0] === true ? 1 : 0;
          }
          await c.writeRegisters(unit, relay.register, [value]);
          return (await c.readRegisters(3, unit, relay.register, 1))[0] ?? -1;
        });
        if (read !== relay.connected && read !== relay.disconnected) {
          throw new ModbusResponseError(`relay of unit ${unit} reads ${read}, neither the connected nor the disconnected value`, this.terminal.id);
        }
        return { connected: read === relay.connected };
      }
      case 'set-limit':
      case 'clear-limit': {
        if (limit === undefined) throw missing();
        const words = encodeLimit(limit, command.type === 'set-limit' ? command.limitKw : null);
        const back = await this.withConnection(signal, async (c) => {
          await c.writeRegisters(unit, limit.register, words);
          return c.readRegisters(3, unit, limit.register, limitWords(limit));
        });
        return { limitKw: decodeLimit(limit, back) };
      }
      case 'read-state': {
        if (command.of === 'relay') {
          if (relay === undefined) throw missing();
          const read = await this.withConnection(signal, async (c) => 'coil' in relay
            ? ((await c.readCoils(unit, relay.coil, 1))[0] === true ? 1 : 0)
            : (await c.readRegisters(3, unit, relay.register, 1))[0] ?? -1);
          return { connected: read === relay.connected };
        }
        if (limit === undefined) throw missing();
        return { limitKw: decodeLimit(limit, await this.withConnection(signal, (c) => c.readRegisters(3, unit, limit.register, limitWords(limit)))) };
      }
      case 'sync-clock':
        throw missing();
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.connection?.destroy();
      this.connection = undefined;
      this.onClose(this);
    }
    return Promise.resolve();
  }

  private async readNow(items: readonly ReadItem[], signal: AbortSignal): Promise<ReadOutcome[]> {
    const outcomes = new Array<ReadOutcome | undefined>(items.length);
    // unit id → quantity → indices of the items asking for it
    const byUnit = new Map<number, Map<string, number[]>>();
    items.forEach((item, i) => {
      const unit = parseUnitId(item.address);
      if (unit === undefined) {
        outcomes[i] = { ok: false, item, error: new ModbusAddressError(this.terminal.id, item.address) };
      } else if (!this.map.quantities.has(item.quantity)) {
        outcomes[i] = { ok: false, item, error: new UnmappedQuantityError(this.terminal.id, item.quantity, this.map.name) };
      } else {
        const wanted = byUnit.get(unit) ?? new Map<string, number[]>();
        byUnit.set(unit, wanted);
        wanted.set(item.quantity, [...(wanted.get(item.quantity) ?? []), i]);
      }
    });
    for (const [unit, wanted] of byUnit) {
      for (const block of planBlocks(this.map.spec, wanted.keys())) {
        const result = await this.readBlock(block, unit, signal).catch((e: unknown) => toError(e));
        const ts = this.now();
        for (const point of block.points) {
          for (const i of wanted.get(point.quantity) ?? []) {
            const item = items[i];
            if (item === undefined) continue;
            outcomes[i] = result instanceof Error
              ? { ok: false, item, error: result }
              : { ok: true, item, reading: this.reading(item, decodePoint(point, result, point.address - block.start), ts) };
          }
        }
      }
    }
    return items.map((item, i) => outcomes[i] ?? { ok: false, item, error: new Error('item not planned') });
  }

  private readBlock(block: RegisterBlock, unit: number, signal: AbortSignal): Promise<number[]> {
    return this.withConnection(signal, (c) => c.readRegisters(block.function, unit, block.start, block.count));
  }

  /** Runs requests on the connection (opened if needed); an abort drops it, since a sent request cannot be withdrawn. */
  private async withConnection<T>(signal: AbortSignal, run: (c: ModbusConnection) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    const connection = await this.ensureConnected(signal);
    const onAbort = () => { connection.destroy(); };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await run(connection);
      this.failures = 0;
      return result;
    } catch (e) {
      signal.throwIfAborted();
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Reuses the open connection or opens a new one. After a failed connect, and after a
   * connection the peer closed before ever answering, reads fail fast until the backoff
   * (reconnectMinMs doubling up to reconnectMaxMs) has passed; a connection we dropped
   * ourselves (timeout, bad reply, abort) is re-opened at once.
   */
  private async ensureConnected(signal: AbortSignal): Promise<ModbusConnection> {
    if (this.closed) throw new ConnectionError('session closed', this.terminal.id);
    const current = this.connection;
    if (current?.isOpen === true) return current;
    if (current !== undefined) {
      this.connection = undefined;
      if (current.closedByPeer && current.repliesReceived === 0) this.backOff();
    }
    const now = this.now();
    if (now < this.retryAt) throw new ReconnectBackoffError(this.terminal.id, this.retryAt, now);
    const { host, port, framing } = this.terminal.endpoint;
    try {
      const connection = await ModbusConnection.connect(
        { terminalId: this.terminal.id, host, port, framing, timeoutMs: this.options.requestTimeoutMs },
        signal,
      );
      if (this.isClosed()) { // close() may have run while we were connecting
        connection.destroy();
        throw new ConnectionError('session closed', this.terminal.id);
      }
      this.connection = connection;
      this.retryAt = 0;
      return connection;
    } catch (e) {
      if (!signal.aborted && !this.isClosed()) this.backOff();
      throw e;
    }
  }

  /** A method, not the field, so checks after an await are not narrowed away. */
  private isClosed(): boolean {
    return this.closed;
  }

  private backOff(): void {
    this.failures++;
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    const delay = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.failures - 1, 30));
    this.retryAt = this.now() + delay;
  }

  private reading(item: ReadItem, value: number, ts: number): RawReading {
    return { terminalId: this.terminal.id, address: item.address, quantity: item.quantity, value, ts };
  }
}

/** Modbus over Serial Line v1.02 §2.2: individual server addresses are 1..247. */
function parseUnitId(address: string): number | undefined {
  if (!/^[1-9][0-9]{0,2}$/.test(address)) return undefined;
  const n = Number(address);
  return n <= 247 ? n : undefined;
}

function failAll(items: readonly ReadItem[], error: Error): ReadOutcome[] {
  return items.map((item) => ({ ok: false, item, error }));
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
