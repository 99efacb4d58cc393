/**
 * State and mechanics shared by both roles of the HDLC link: sequence variables, the
 * outgoing segments, reassembly, and how frames are built and written. The role logic is in
 * linkClient.ts and linkServer.ts; HdlcLink (link.ts) is the public face. Internal to the
 * hdlc folder: fields are public so the role functions can drive them.
 */
import { hex } from '../bytes.js';
import type { FrameError } from '../errors.js';
import { clientAddress, type HdlcAddress } from './address.js';
import { encodeHdlcFrame, type HdlcFrame, type HdlcFrameKind } from './frame.js';
import { LLC_HEADER_LENGTH, stripLlcHeader } from './llc.js';
import { HdlcLinkError, type HdlcLinkEvent, type HdlcLinkOptions, type HdlcLinkState, type HdlcRole } from './linkTypes.js';
import { DEFAULT_HDLC_PARAMETERS, encodeHdlcParameters, type HdlcParameters } from './parameters.js';
import { Reassembly } from './segmentation.js';

const DEFAULT_MAX_APDU = 0xffff;

export interface Out {
  readonly send: Uint8Array[];
  readonly events: HdlcLinkEvent[];
}

export class LinkCore {
  readonly role: HdlcRole;
  readonly own: HdlcParameters;
  readonly serverAddress: HdlcAddress;
  readonly clientSap: number | undefined;
  readonly maxApduSize: number;
  readonly rx: Reassembly;

  linkState: HdlcLinkState = 'disconnected';
  negotiated: HdlcParameters = DEFAULT_HDLC_PARAMETERS;
  vs = 0; // V(S): N(S) of the next I-frame we send
  vr = 0; // V(R): N(S) we expect next
  unacked: Uint8Array | undefined; // last I-frame sent, not yet acknowledged
  pending: Uint8Array[] = []; // information fields still to send
  peerBusy = false;
  rxSeen = false; // an I-frame was accepted since SNRM (so prev(V(R)) is a real N(S))
  // client
  pollOutstanding = false;
  lastCommand: Uint8Array | undefined;
  // server
  peerSap: number | undefined;
  addressLength: 1 | 2 | 4 | undefined; // mirror the size the client used
  polled = false; // a poll (P = 1) waits for our answer
  lastResponse: Uint8Array | undefined;

  readonly counters = { framesReceived: 0, framesSent: 0, retransmissions: 0, duplicates: 0, foreignFrames: 0, errors: 0 };

  constructor(options: HdlcLinkOptions) {
    this.role = options.role;
    if (options.role === 'client' && options.clientAddress === undefined) {
      throw new HdlcLinkError('role', 'a client link needs its clientAddress');
    }
    this.clientSap = options.clientAddress;
    this.serverAddress = options.serverAddress;
    this.own = { ...DEFAULT_HDLC_PARAMETERS, ...options.parameters };
    encodeHdlcParameters(this.own); // validates the ranges now rather than at SNRM time
    this.maxApduSize = options.maxApduSize ?? DEFAULT_MAX_APDU;
    this.rx = new Reassembly(this.maxApduSize + LLC_HEADER_LENGTH);
  }

  acknowledge(nr: number): boolean {
    if (nr === this.vs) {
      this.unacked = undefined;
      return true;
    }
    return this.unacked !== undefined && nr === prev(this.vs);
  }

  isDuplicate(ns: number): boolean {
    return this.linkState === 'connected' && this.rxSeen && ns === prev(this.vr);
  }

  /** Adds a segment; at the last one, true when an APDU was delivered. */
  collect(out: Out, info: Uint8Array, segmented: boolean): boolean {
    this.rx.append(info); // an overflow is remembered and reported when the APDU ends
    if (segmented) return false;
    const pdu = this.rx.finish();
    if (pdu === undefined) {
      this.error(out, new HdlcLinkError('overflow', `segmented APDU beyond ${this.maxApduSize} octets discarded`), false);
      return false;
    }
    return this.deliver(out, pdu, false);
  }

  unnumberedInformation(out: Out, f: HdlcFrame): void {
    if (f.segmented) {
      this.error(out, new HdlcLinkError('unexpected', 'segmented UI frames are not supported: discarded'), false);
      return;
    }
    this.deliver(out, f.info, true);
  }

  deliver(out: Out, pdu: Uint8Array, unnumbered: boolean): boolean {
    const apdu = stripLlcHeader(pdu, this.role === 'client' ? 'response' : 'command');
    if (apdu === undefined) {
      this.error(out, new HdlcLinkError('llc', `information field without the LLC header: ${hex(pdu.subarray(0, 3), ' ')}`), false);
      return false;
    }
    out.events.push({ type: 'apdu', apdu, unnumbered });
    return true;
  }

  sendSegment(out: Out): void {
    const info = this.pending.shift();
    if (info === undefined) return;
    const frame = { kind: 'I', ns: this.vs, nr: this.vr, info, segmented: this.pending.length > 0 } as const;
    this.vs = next(this.vs);
    if (this.role === 'client') {
      this.command(out, frame);
      this.unacked = this.lastCommand;
    } else {
      this.respond(out, frame);
      this.unacked = this.lastResponse;
    }
  }

  /** A command from the client: always with P (window 1). */
  command(out: Out, f: FrameSpec): void {
    this.emitCommand(out, encodeHdlcFrame(this.build(f, true, this.serverAddress, clientAddress(this.clientSap ?? 0))));
  }

  emitCommand(out: Out, bytes: Uint8Array): void {
    this.lastCommand = bytes;
    this.pollOutstanding = true;
    this.counters.framesSent++;
    out.send.push(bytes);
  }

  /** A response from the server, F set unless `pf` says otherwise (answer to a P = 0 command). */
  respond(out: Out, f: FrameSpec, pf = true): void {
    const source = { ...this.serverAddress, ...(this.addressLength === undefined ? {} : { length: this.addressLength }) };
    this.emitResponse(out, encodeHdlcFrame(this.build(f, pf, clientAddress(this.peerSap ?? 0), source)));
  }

  emitResponse(out: Out, bytes: Uint8Array): void {
    this.lastResponse = bytes;
    this.polled = false;
    this.counters.framesSent++;
    out.send.push(bytes);
  }

  build(f: FrameSpec, pf: boolean, destination: HdlcAddress, source: HdlcAddress): HdlcFrame {
    const base = { destination, source, pf, segmented: f.segmented ?? false, info: f.info ?? new Uint8Array(0) };
    if (f.kind === 'I') return { ...base, kind: 'I', ns: f.ns ?? 0, nr: f.nr ?? 0 };
    if (f.kind === 'RR' || f.kind === 'RNR') return { ...base, kind: f.kind, nr: f.nr ?? 0 };
    return { ...base, kind: f.kind };
  }

  toDisconnected(out: Out, reason: 'released' | 'refused' | 'peer-disconnected'): void {
    this.linkState = 'disconnected';
    this.resetSequence();
    this.negotiated = DEFAULT_HDLC_PARAMETERS;
    out.events.push({ type: 'disconnected', reason });
  }

  resetSequence(): void {
    this.vs = 0;
    this.vr = 0;
    this.unacked = undefined;
    this.pending = [];
    this.peerBusy = false;
    this.rxSeen = false;
    this.polled = false;
    this.lastResponse = undefined;
    this.rx.reset();
  }

  unexpected(out: Out, kind: HdlcFrameKind): void {
    this.error(out, new HdlcLinkError('unexpected', `${kind} frame in state ${this.linkState}: ignored`), false);
  }

  error(out: Out, error: FrameError | HdlcLinkError, fatal: boolean): void {
    this.counters.errors++;
    out.events.push({ type: 'error', error, fatal });
  }
}

export interface FrameSpec {
  readonly kind: HdlcFrameKind;
  readonly ns?: number;
  readonly nr?: number;
  readonly segmented?: boolean;
  readonly info?: Uint8Array;
}

export function newOut(): Out {
  return { send: [], events: [] };
}

export function next(n: number): number {
  return (n + 1) & 7;
}

export function prev(n: number): number {
  return (n + 7) & 7;
}


