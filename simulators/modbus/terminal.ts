/**
 * A simulated Modbus terminal: a TCP server answering for meters at unit ids 1..N, each a
 * MeterModel advanced to the request time and served per THREE_PHASE_METER_MAP.
 *
 * Our own small server rather than modbus-serial's ServerTCP: ServerTCP cannot listen on
 * port 0 (it treats 0 as "default 502") nor report its port, defers every request through a
 * timer, and has no RTU-over-TCP framing; all four matter here.
 */
import net from 'node:net';
import { MeterModel, type MeterState } from '../loadShape.js';
import type { RegisterPointSpec } from '../../protocols/modbus/config.js';
import { encodePoint } from '../../protocols/modbus/registerMap.js';
import { decodeRequests, encodeReply, exceptionPdu, type Framing, type ModbusRequest } from './frames.js';
import { ControlTally, type ControlOperation } from '../controlTally.js';
import { LIMIT_REGISTER, NO_LIMIT_W, RELAY_COIL, SimulatedMeterControls } from './meterControls.js';
import { METER_BANKS, THREE_PHASE_METER_MAP } from './threePhaseMeterMap.js';

export type SimulatedFault =
  | { readonly kind: 'none' }
  /** Never answer (the request is swallowed). */
  | { readonly kind: 'timeout' }
  /** Answer with this Modbus exception code. */
  | { readonly kind: 'exception'; readonly code: number }
  /** Answer correctly, but only after `ms` (later replies on the connection wait behind it). */
  | { readonly kind: 'delay'; readonly ms: number };

export interface ModbusTerminalSimulatorOptions {
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Meters behind the terminal, at unit ids 1..meters (at most 247). */
  readonly meters: number;
  readonly seed: number;
  readonly framing?: Framing;
  /** Time the meters' energy registers start integrating from; defaults to clock(). */
  readonly startTs?: number;
  readonly clock?: () => number;
  /** How long a meter's power may stay over its limit register before its relay trips (default 5 s). */
  readonly limitTripAfterMs?: number;
  /** Hears every request answered, with the number of the connection it came on (1, 2, … in order of acceptance). */
  readonly onServed?: (request: { readonly connection: number; readonly unitId: number; readonly at: number }) => void;
}

/** The seed of the meter at `unitId`, so a test can rebuild the same MeterModel. */
export function meterSeed(seed: number, unitId: number): number {
  return (Math.imul(seed | 0, 1000) + unitId) | 0;
}

// Exception codes, Modbus Application Protocol v1.1b3 §7.
const ILLEGAL_FUNCTION = 1;
const ILLEGAL_DATA_ADDRESS = 2;
const ILLEGAL_DATA_VALUE = 3;
const GATEWAY_TARGET_FAILED = 11;

export class ModbusTerminalSimulator {
  private readonly clock: () => number;
  private readonly framing: Framing;
  private readonly meters: MeterModel[] = [];
  /** Relay and limiter of each meter, by unit id − 1 (meterControls.ts). */
  private readonly controls: SimulatedMeterControls[] = [];
  private limiterTicker: NodeJS.Timeout | undefined;
  private readonly faults = new Map<number, SimulatedFault>();
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly image = new Uint16Array(0x10000);
  private server: net.Server | undefined;
  private reachable = true;
  /** The relay and limit writes each meter executed, by unit id (as a string). */
  readonly controlTally = new ControlTally();
  /** Counters a test or benchmark can read. */
  connectionsAccepted = 0;
  requestsServed = 0;
  protocolErrors = 0;
  /** Most requests one connection had waiting for a reply at once (1 = never pipelined). */
  maxRequestsInFlight = 0;

  constructor(private readonly options: ModbusTerminalSimulatorOptions) {
    if (!Number.isInteger(options.meters) || options.meters < 1 || options.meters > 247) {
      throw new RangeError(`meters must be 1..247, got ${options.meters}`);
    }
    this.clock = options.clock ?? Date.now;
    this.framing = options.framing ?? 'tcp';
    const startTs = options.startTs ?? this.clock();
    for (let unit = 1; unit <= options.meters; unit++) {
      this.meters.push(new MeterModel({ seed: meterSeed(options.seed, unit), startTs }));
      this.controls.push(new SimulatedMeterControls(options.limitTripAfterMs));
    }
  }

  async start(): Promise<{ port: number }> {
    if (this.server !== undefined) throw new Error('simulator already started');
    const server = net.createServer((socket) => { this.accept(socket); });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 0 }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      this.server = undefined;
      throw e;
    });
    server.on('error', () => { this.protocolErrors++; });
    const address = server.address();
    return { port: typeof address === 'object' && address !== null ? address.port : 0 };
  }

  /** Closes the listener and every connection; safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (this.limiterTicker !== undefined) clearInterval(this.limiterTicker);
    this.limiterTicker = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  /** The load model of the meter at `unitId` (scenarios set its effects). */
  meterModel(unitId: number): MeterModel | undefined {
    return this.meters[unitId - 1];
  }

  /**
   * An unreachable terminal (an outage scenario) drops every connection and closes each new
   * one as soon as it is accepted; the listener stays, so the terminal returns on the same port.
   */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  setFault(unitId: number, fault: SimulatedFault): void {
    if (fault.kind === 'none') this.faults.delete(unitId);
    else this.faults.set(unitId, fault);
  }

  /** The relay and limiter of the meter at `unitId`, for tests and scenarios to inspect. */
  controlsOf(unitId: number): SimulatedMeterControls {
    const c = this.controls[unitId - 1];
    if (c === undefined) throw new RangeError(`no meter at unit ${unitId}`);
    return c;
  }

  private accept(socket: net.Socket): void {
    if (!this.reachable) {
      socket.destroy();
      return;
    }
    this.connectionsAccepted++;
    const connection = this.connectionsAccepted;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let sendAfter = 0; // keeps replies in request order when one is delayed
    let inFlight = 0;
    socket.on('data', (chunk: Buffer) => {
      const decoded = decodeRequests(this.framing, pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));
      if (!decoded.ok) {
        this.protocolErrors++;
        socket.destroy();
        return;
      }
      pending = Buffer.from(decoded.rest);
      for (const req of decoded.requests) {
        inFlight++;
        this.maxRequestsInFlight = Math.max(this.maxRequestsInFlight, inFlight);
        const reply = this.answer(req);
        if (reply === undefined) continue; // swallowed: stays "in flight" for good
        this.options.onServed?.({ connection, unitId: req.unitId, at: Date.now() });
        const bytes = encodeReply(this.framing, req, reply.pdu);
        const now = Date.now();
        const at = Math.max(now + reply.delayMs, sendAfter);
        sendAfter = at;
        if (at <= now) {
          inFlight--;
          socket.write(bytes);
          continue;
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          inFlight--;
          if (!socket.destroyed) socket.write(bytes);
        }, at - now);
        this.timers.add(timer);
      }
    });
    socket.on('error', () => { this.protocolErrors++; });
    socket.on('close', () => { this.sockets.delete(socket); });
  }

  /** The reply PDU for a request, or undefined when the fault says to stay silent. */
  private answer(req: ModbusRequest): { pdu: Uint8Array; delayMs: number } | undefined {
    const fn = req.pdu[0] ?? 0;
    const meter = this.meters[req.unitId - 1];
    if (req.unitId < 1 || meter === undefined) return { pdu: exceptionPdu(fn, GATEWAY_TARGET_FAILED), delayMs: 0 };
    const fault = this.faults.get(req.unitId) ?? { kind: 'none' };
    if (fault.kind === 'timeout') return undefined;
    if (fault.kind === 'exception') return { pdu: exceptionPdu(fn, fault.code), delayMs: 0 };
    this.requestsServed++;
    return { pdu: this.serve(req.unitId, req.pdu), delayMs: fault.kind === 'delay' ? fault.ms : 0 };
  }

  private serve(unitId: number, pdu: Uint8Array): Uint8Array {
    const fn = pdu[0] ?? 0;
    if (fn === THREE_PHASE_METER_MAP.function) return this.readRegisters(unitId, pdu);
    const now = this.clock();
    const reply = controlRequest(this.controlsOf(unitId), pdu, now, () => this.meters[unitId - 1]?.instant(now).powerActive ?? 0,
      (operation) => { this.controlTally.record(String(unitId), operation); });
    // Limiters must trip on time even when nobody reads the meter; the ticker runs only while one is armed
    // (a fleet of thousands of terminals without limits keeps no timers).
    if (this.limiterTicker === undefined && this.server !== undefined && this.controls.some((c) => c.armed)) {
      this.limiterTicker = setInterval(() => { this.sampleLimiters(); }, 1_000);
      this.limiterTicker.unref();
    }
    return reply;
  }

  /** The meter's state now: the model advanced, its limiter sampled, the relay applied. */
  private stateOf(unitId: number): MeterState {
    const meter = this.meters[unitId - 1];
    const controls = this.controlsOf(unitId);
    if (meter === undefined) throw new RangeError(`no meter at unit ${unitId}`);
    const now = this.clock();
    const raw = meter.advance(now);
    controls.sample(now, raw.powerActive);
    return controls.apply(raw);
  }

  private sampleLimiters(): void {
    const now = this.clock();
    this.controls.forEach((c, i) => {
      if (c.armed) c.sample(now, this.meters[i]?.instant(now).powerActive);
    });
    if (!this.controls.some((c) => c.armed)) {
      clearInterval(this.limiterTicker);
      this.limiterTicker = undefined;
    }
  }

  private readRegisters(unitId: number, pdu: Uint8Array): Uint8Array {
    const fn = pdu[0] ?? 0;
    if (pdu.length !== 5) return exceptionPdu(fn, ILLEGAL_DATA_VALUE);
    const view = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
    const start = view.getUint16(1);
    const count = view.getUint16(3);
    // Application Protocol §6.4: quantity 1..125 (0x7D), else exception 03; then the address range.
    if (count < 1 || count > 125) return exceptionPdu(fn, ILLEGAL_DATA_VALUE);
    if (!METER_BANKS.some((b) => start >= b.start && start + count <= b.start + b.count)) {
      return exceptionPdu(fn, ILLEGAL_DATA_ADDRESS);
    }
    this.fillImage(this.stateOf(unitId));
    const out = new Uint8Array(2 + count * 2);
    const outView = new DataView(out.buffer);
    out[0] = fn;
    out[1] = count * 2;
    for (let i = 0; i < count; i++) outView.setUint16(2 + i * 2, this.image[start + i] ?? 0);
    return out;
  }

  private fillImage(s: MeterState): void {
    for (const p of THREE_PHASE_METER_MAP.points) encodePoint(p, valueOf(p.quantity, s), this.image, p.address);
    const tanPhi = Math.tan(Math.acos(s.powerFactor));
    for (const [i, address] of [18, 20, 22].entries()) {
      encodePoint(extra(address), (s.powerActiveL[i] ?? 0) * tanPhi, this.image, address);
    }
    encodePoint(extra(28), s.powerActive / s.powerFactor, this.image, 28);
    encodePoint(extra(34), Math.abs(s.current[0] - s.current[1]) * 0.1, this.image, 34);
    encodePoint(extra(36), s.powerActive, this.image, 36);
  }
}

/**
 * The control functions (Modbus Application Protocol v1.1b3 §6): 1 read coils and 5 write
 * single coil for the relay (coil 0, §6.5: ON = 0xFF00, OFF = 0x0000); 3 read holding
 * registers, 6 write single register and 16 write multiple registers for the limit (512-513).
 */
function controlRequest(c: SimulatedMeterControls, pdu: Uint8Array, now: number, demandKw: () => number, executed: (op: ControlOperation) => void): Uint8Array {
  const fn = pdu[0] ?? 0;
  const view = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  if (pdu.length < 5) return exceptionPdu(fn, ILLEGAL_DATA_VALUE);
  const address = view.getUint16(1);
  const field = view.getUint16(3);
  switch (fn) {
    case 1:
      if (address !== RELAY_COIL || field !== 1) return exceptionPdu(fn, ILLEGAL_DATA_ADDRESS);
      return Uint8Array.of(1, 1, c.connected ? 1 : 0);
    case 5:
      if (address !== RELAY_COIL) return exceptionPdu(fn, ILLEGAL_DATA_ADDRESS);
      if (field !== 0xff00 && field !== 0) return exceptionPdu(fn, ILLEGAL_DATA_VALUE);
      c.setRelay(field === 0xff00);
      executed(field === 0xff00 ? 'reconnect' : 'disconnect');
      return pdu.slice(0, 5);
    case 3: {
      if (address < LIMIT_REGISTER || address + field > LIMIT_REGISTER + 2 || field < 1) return exceptionPdu(fn, ILLEGAL_DATA_ADDRESS);
      const words = [c.limitW >>> 16, c.limitW & 0xffff].slice(address - LIMIT_REGISTER, address - LIMIT_REGISTER + field);
      const out = new Uint8Array(2 + field * 2);
      out[0] = 3;
      out[1] = field * 2;
      words.forEach((w, i) => { new DataView(out.buffer).setUint16(2 + i * 2, w); });
      return out;
    }
    case 16: {
      // §6.12: the limit is written whole (both registers), high word first.
      if (address !== LIMIT_REGISTER || field !== 2) return exceptionPdu(fn, ILLEGAL_DATA_ADDRESS);
      if (pdu.length !== 10 || pdu[5] !== 4) return exceptionPdu(fn, ILLEGAL_DATA_VALUE);
      c.setLimit(view.getUint32(6), now, demandKw());
      executed(c.limitW === NO_LIMIT_W ? 'clear-limit' : 'set-limit');
      return pdu.slice(0, 5);
    }
    default:
      return exceptionPdu(fn, fn === 6 ? ILLEGAL_DATA_ADDRESS : ILLEGAL_FUNCTION);
  }
}

/** The MeterState field behind each catalogue quantity the meter offers. */
const VALUE_OF: Readonly<Record<string, (s: MeterState) => number>> = {
  'voltage.l1': (s) => s.voltage[0],
  'voltage.l2': (s) => s.voltage[1],
  'voltage.l3': (s) => s.voltage[2],
  'current.l1': (s) => s.current[0],
  'current.l2': (s) => s.current[1],
  'current.l3': (s) => s.current[2],
  'power.active.l1': (s) => s.powerActiveL[0],
  'power.active.l2': (s) => s.powerActiveL[1],
  'power.active.l3': (s) => s.powerActiveL[2],
  'power.active': (s) => s.powerActive,
  'power.reactive': (s) => s.powerReactive,
  'power.factor': (s) => s.powerFactor,
  'frequency': (s) => s.frequency,
  'demand.active.max': (s) => s.maxDemand,
  'energy.active.import': (s) => s.energyActiveImport,
  'energy.active.export': (s) => s.energyActiveExport,
  'energy.reactive.import': (s) => s.energyReactiveImport,
  'energy.reactive.export': (s) => s.energyReactiveExport,
  'energy.active.import.t1': (s) => s.energyActiveImportTariff[0],
  'energy.active.import.t2': (s) => s.energyActiveImportTariff[1],
  'energy.active.import.t3': (s) => s.energyActiveImportTariff[2],
  'energy.active.import.t4': (s) => s.energyActiveImportTariff[3],
};

function valueOf(quantity: string, s: MeterState): number {
  const get = VALUE_OF[quantity];
  if (get === undefined) throw new Error(`the simulated meter has no value for ${quantity}`);
  return get(s);
}

function extra(address: number): RegisterPointSpec {
  return { quantity: `(extra)`, address, type: 'float32', wordOrder: 'big', byteOrder: 'big', scale: 1, offset: 0 };
}
