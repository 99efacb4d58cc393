/**
 * Sans-IO HDLC link for DLMS/COSEM (IEC 62056-46 §6.4.4 elements of procedure; Green Book
 * §8.4.5), normal response mode, for both roles. Bytes in (`receive`), frames out (`send` of
 * the returned output); the caller owns the socket or serial port and every timer.
 *
 * Design decisions:
 * - Window: any negotiated window size (1..7) is accepted, but the link always behaves as
 *   window 1: every I-frame carries P (client) / F (server) and waits for its acknowledgement
 *   before the next one. A window-1 peer is fully served; a larger window only costs speed.
 * - Segmentation (§6.4.4.4.3.5): an APDU goes behind the LLC header (llc.ts) and is cut into
 *   information fields of the negotiated maximum; all but the last carry S = 1. The receiver
 *   answers each non-final segment with RR. Who drives: the client always holds the poll. It
 *   sends a request segment with P and waits for the server's RR(F) before the next one; when
 *   the server's response is segmented, the client asks for each next segment with RR(P), and
 *   the server sends one segment per poll. A server never transmits unpolled: `send()` on the
 *   server answers the outstanding poll, or waits for the next one.
 * - Sequence numbers (mod 8): the client treats any N(S)/N(R) it cannot explain as fatal
 *   (error event, DISC sent). The server answers an invalid N(R) with FRMR (Z) and stays in
 *   the frame-rejected state until SNRM or DISC; an unexpected N(S) is discarded and answered
 *   with RR(V(R)) so the client can retransmit; a repeated N(S) means our answer was lost and
 *   is answered again.
 * - Timeouts are the caller's: when `awaitingReply` is true and nothing arrives in time, call
 *   `pollAgain()` and write what it returns (the last command again, or an RR poll). Retry
 *   limits are the caller's too.
 */
import { HdlcFrameDecoder } from './decoder.js';
import { clientFrame } from './linkClient.js';
import { LinkCore, newOut } from './linkCore.js';
import { serverFrame } from './linkServer.js';
import { HdlcLinkError, type HdlcLinkOptions, type HdlcLinkOutput, type HdlcLinkState, type HdlcLinkStats, type HdlcRole } from './linkTypes.js';
import { withLlcHeader } from './llc.js';
import { encodeHdlcParameters, type HdlcParameters } from './parameters.js';
import { splitSegments } from './segmentation.js';

export * from './linkTypes.js';

export class HdlcLink {
  readonly role: HdlcRole;
  private readonly core: LinkCore;
  private readonly decoder: HdlcFrameDecoder;

  constructor(options: HdlcLinkOptions) {
    this.role = options.role;
    this.core = new LinkCore(options);
    this.decoder = new HdlcFrameDecoder(options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize });
  }

  get state(): HdlcLinkState {
    return this.core.linkState;
  }

  /** Negotiated parameters from our point of view (defaults until connected). */
  get parameters(): HdlcParameters {
    return this.core.negotiated;
  }

  /** Client: a command with P was sent and its F answer has not arrived (arm the timer). */
  get awaitingReply(): boolean {
    return this.core.pollOutstanding;
  }

  /** The client SAP of the link: ours on a client, the connected client's on a server. */
  get clientSap(): number | undefined {
    return this.role === 'client' ? this.core.clientSap : this.core.peerSap;
  }

  get stats(): HdlcLinkStats {
    return { ...this.core.counters, decoder: this.decoder.stats };
  }

  /** Client: opens the link with SNRM, proposing our parameters (omitted when all default). */
  connect(): HdlcLinkOutput {
    const c = this.core;
    if (this.role !== 'client') throw new HdlcLinkError('role', 'connect() is for the client role');
    if (c.linkState !== 'disconnected') throw new HdlcLinkError('busy', `connect() in state ${c.linkState}`);
    const out = newOut();
    c.resetSequence();
    c.linkState = 'connecting';
    c.command(out, { kind: 'SNRM', info: encodeHdlcParameters(c.own, { omitDefaults: true }) });
    return out;
  }

  /** Client: releases the link with DISC. Server: drops the link locally (no frame: NRM). */
  disconnect(): HdlcLinkOutput {
    const c = this.core;
    const out = newOut();
    if (c.linkState === 'disconnected') return out;
    if (this.role === 'server') {
      c.toDisconnected(out, 'released');
      return out;
    }
    c.linkState = 'disconnecting';
    c.command(out, { kind: 'DISC', info: new Uint8Array(0) });
    return out;
  }

  /** Sends one APDU (the LLC header is added here), segmented as negotiated. */
  send(apdu: Uint8Array): HdlcLinkOutput {
    const c = this.core;
    if (c.linkState !== 'connected') throw new HdlcLinkError('not-connected', `send() in state ${c.linkState}`);
    if (apdu.length > c.maxApduSize) throw new HdlcLinkError('apdu-too-large', `APDU of ${apdu.length} octets exceeds ${c.maxApduSize}`);
    if (c.pending.length > 0 || c.unacked !== undefined || c.pollOutstanding || (this.role === 'client' && c.rx.active)) {
      throw new HdlcLinkError('busy', 'send() while another transfer is in progress');
    }
    const out = newOut();
    const direction = this.role === 'client' ? 'command' : 'response';
    c.pending = splitSegments(withLlcHeader(apdu, direction), c.negotiated.maxInfoTransmit);
    if (this.role === 'client' ? !c.peerBusy : c.polled) c.sendSegment(out);
    return out;
  }

  /** Feeds bytes from the line. Never throws: bad input becomes `error` events. */
  receive(bytes: Uint8Array): HdlcLinkOutput {
    const out = newOut();
    for (const item of this.decoder.push(bytes)) {
      if (!item.ok) {
        this.core.error(out, item.error, false);
        continue;
      }
      this.core.counters.framesReceived++;
      if (this.role === 'client') clientFrame(this.core, out, item.frame);
      else serverFrame(this.core, out, item.frame);
    }
    return out;
  }

  /**
   * Client, after a reply timeout: what to write again — the last command if its answer never
   * came, else an RR poll (asks a server that had nothing ready, or was busy, again).
   * Server: nothing, a secondary only speaks when polled.
   */
  pollAgain(): Uint8Array[] {
    const c = this.core;
    if (this.role === 'server' || c.linkState === 'disconnected' || c.linkState === 'frame-rejected') return [];
    if (c.pollOutstanding && c.lastCommand) {
      c.counters.retransmissions++;
      c.counters.framesSent++;
      return [c.lastCommand];
    }
    if (c.linkState !== 'connected') return [];
    const out = newOut();
    c.command(out, { kind: 'RR', nr: c.vr });
    return out.send;
  }
}
