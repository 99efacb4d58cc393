/**
 * Types of the HDLC link state machine (link.ts): options, events, output and errors.
 */
import { ProtocolError } from '../../adapter.js';
import type { FrameError } from '../errors.js';
import type { HdlcAddress } from './address.js';
import type { HdlcDecoderStats } from './decoder.js';
import type { HdlcParameters } from './parameters.js';

/** client = primary station (sends commands, P bit); server = secondary (answers, F bit). */
export type HdlcRole = 'client' | 'server';

export type HdlcLinkState =
  | 'disconnected' // NDM: only SNRM opens the link
  | 'connecting' //   client: SNRM sent, waiting for UA/DM
  | 'connected' //    NRM: I-frames flow
  | 'disconnecting' // client: DISC sent, waiting for UA/DM
  | 'frame-rejected'; // server: FRMR sent; only SNRM or DISC get out of it

export interface HdlcLinkOptions {
  readonly role: HdlcRole;
  /**
   * The client SAP (one-octet client address, e.g. 16 for the public client). Required for a
   * client; for a server it restricts the link to that client (default: the client that
   * sends SNRM).
   */
  readonly clientAddress?: number;
  /** The server's upper (logical device) and optional lower (physical device) HDLC address. */
  readonly serverAddress: HdlcAddress;
  /**
   * Our limits. A client proposes them in SNRM; a server answers with the smaller of them and
   * the client's proposal. Defaults: 128 octets each way, window 1.
   */
  readonly parameters?: Partial<HdlcParameters>;
  /** Largest APDU sent or reassembled; default 65535. */
  readonly maxApduSize?: number;
  /** Largest HDLC frame accepted by the stream decoder, flags included; default 2049. */
  readonly maxFrameSize?: number;
}

export type HdlcDisconnectReason =
  | 'released' //  DISC answered (or our own reset on the server side)
  | 'refused' //   SNRM answered with DM, or a UA we could not accept
  | 'peer-disconnected'; // the server answered DM while we believed the link up

export type HdlcLinkEvent =
  | { readonly type: 'connected'; readonly parameters: HdlcParameters }
  | { readonly type: 'apdu'; readonly apdu: Uint8Array; readonly unnumbered: boolean }
  | { readonly type: 'disconnected'; readonly reason: HdlcDisconnectReason }
  | {
      readonly type: 'error';
      readonly error: FrameError | HdlcLinkError;
      /** True when the link can carry no more APDUs until a new SNRM (connect). */
      readonly fatal: boolean;
    };

/** What a call produced: frames to write to the line, in order, and what happened. */
export interface HdlcLinkOutput {
  readonly send: Uint8Array[];
  readonly events: HdlcLinkEvent[];
}

export interface HdlcLinkStats {
  readonly framesReceived: number;
  readonly framesSent: number;
  /** Frames sent again: pollAgain() on the client, answers to repeated polls on the server. */
  readonly retransmissions: number;
  /** I-frames received twice and discarded. */
  readonly duplicates: number;
  /** Frames addressed to another station, or from a client other than the connected one. */
  readonly foreignFrames: number;
  readonly errors: number;
  readonly decoder: HdlcDecoderStats;
}

export type HdlcLinkErrorReason =
  | 'role' //          operation not available in this role
  | 'not-connected' // send() outside the connected state
  | 'busy' //          send()/connect() while a transfer or handshake is in progress
  | 'apdu-too-large'
  | 'sequence' //      N(S) or N(R) out of sequence
  | 'frame-reject' //  FRMR received or sent
  | 'refused' //       connection refused (DM) or unusable UA
  | 'llc' //           information field without the expected LLC header
  | 'overflow' //      reassembled APDU beyond maxApduSize, discarded
  | 'unexpected'; //   a frame that has no place in the current state

/** A state-machine error of the HDLC link (frame-level errors are FrameError). */
export class HdlcLinkError extends ProtocolError {
  readonly code = 'DLMS_HDLC_LINK';
  constructor(
    readonly reason: HdlcLinkErrorReason,
    message: string,
    terminalId?: string,
  ) {
    super(`hdlc: ${message}`, terminalId);
  }
}
