/**
 * The server (secondary station) side of the HDLC link: SNRM/UA with negotiation, DISC,
 * I-frames of the client's requests (RR for each non-final segment), RR polls that fetch the
 * next segment of our response, repeated frames answered again, FRMR for an invalid N(R).
 */
import { FrameError } from '../errors.js';
import { sameAddress } from './address.js';
import { encodeControl, type HdlcFrame } from './frame.js';
import { HdlcLinkError } from './linkTypes.js';
import { next, type LinkCore, type Out } from './linkCore.js';
import { answerProposal, decodeHdlcParameters, encodeHdlcParameters, type HdlcParameters } from './parameters.js';

/** ISO/IEC 13239 §5.5.3.4.3 FRMR reason bits (third octet of the FRMR information field). */
const FRMR_W_INVALID_CONTROL = 0x01;
const FRMR_Z_INVALID_NR = 0x08;

export function serverFrame(s: LinkCore, out: Out, f: HdlcFrame): void {
  const fromPeer = s.peerSap === undefined || s.linkState === 'disconnected' || f.source.upper === s.peerSap;
  const allowed = s.clientSap === undefined || f.source.upper === s.clientSap;
  if (!sameAddress(f.destination, s.serverAddress) || f.source.length !== 1 || !fromPeer || !allowed) {
    s.counters.foreignFrames++;
    return;
  }
  s.peerSap = f.source.upper;
  s.addressLength = f.destination.length;
  if (f.kind === 'SNRM') {
    serverConnect(s, out, f);
    return;
  }
  if (f.kind === 'DISC') {
    if (s.linkState === 'disconnected') {
      s.respond(out, { kind: 'DM' }, f.pf);
      return;
    }
    s.respond(out, { kind: 'UA' }, f.pf);
    s.toDisconnected(out, 'released');
    return;
  }
  if (s.linkState === 'disconnected') {
    if (f.pf) s.respond(out, { kind: 'DM' }); // §6.4.4.3: NDM answers DM
    return;
  }
  if (s.linkState === 'frame-rejected') {
    if (f.pf && s.lastResponse) s.emitResponse(out, s.lastResponse);
    return;
  }
  switch (f.kind) {
    case 'I':
      serverInformation(s, out, f.ns, f.nr, f);
      return;
    case 'RR':
    case 'RNR':
      serverSupervisory(s, out, f);
      return;
    case 'UI':
      s.unnumberedInformation(out, f);
      if (f.pf) s.respond(out, { kind: 'RR', nr: s.vr });
      return;
    default:
      // UA, DM, FRMR are responses: a client never sends them.
      reject(s, out, f, FRMR_W_INVALID_CONTROL, `${f.kind} is not a command`);
      return;
  }
}

function serverConnect(s: LinkCore, out: Out, f: HdlcFrame): void {
  let proposal: HdlcParameters;
  try {
    proposal = decodeHdlcParameters(f.info);
  } catch (err) {
    if (!(err instanceof FrameError)) throw err;
    s.error(out, err, false);
    if (s.linkState !== 'disconnected') s.toDisconnected(out, 'refused');
    s.respond(out, { kind: 'DM' }, f.pf);
    return;
  }
  s.resetSequence();
  s.negotiated = answerProposal(proposal, s.own);
  s.linkState = 'connected';
  // The UA always states the parameters in force, from the server's point of view.
  s.respond(out, { kind: 'UA', info: encodeHdlcParameters(s.negotiated) }, f.pf);
  out.events.push({ type: 'connected', parameters: s.negotiated });
}

function serverInformation(s: LinkCore, out: Out, ns: number, nr: number, f: HdlcFrame): void {
  if (s.isDuplicate(ns)) {
    // The client repeated its frame: our answer was lost (or is not ready yet).
    s.counters.duplicates++;
    if (!f.pf) return;
    if (s.polled || !s.lastResponse) {
      s.respond(out, { kind: 'RR', nr: s.vr });
      return;
    }
    s.counters.retransmissions++;
    s.emitResponse(out, s.lastResponse);
    return;
  }
  if (!s.acknowledge(nr)) {
    reject(s, out, f, FRMR_Z_INVALID_NR, `N(R)=${nr} does not match V(S)=${s.vs}`);
    return;
  }
  if (ns !== s.vr) {
    s.error(out, new HdlcLinkError('sequence', `I-frame N(S)=${ns}, expected ${s.vr}: discarded`), false);
    if (f.pf) s.respond(out, { kind: 'RR', nr: s.vr });
    return;
  }
  s.vr = next(s.vr);
  s.rxSeen = true;
  s.unacked = undefined; // the client moved on: whatever we sent before is settled
  if (s.pending.length > 0) {
    s.pending = [];
    s.error(out, new HdlcLinkError('unexpected', 'new request before our segmented response was fetched: rest dropped'), false);
  }
  const delivered = s.collect(out, f.info, f.segmented);
  if (!f.pf) return;
  // RR asks for the next segment, or gives the poll back when the APDU was lost (nothing to
  // answer); a delivered APDU is answered by send(), or by RR at the next poll.
  if (f.segmented || !delivered) s.respond(out, { kind: 'RR', nr: s.vr });
  else s.polled = true;
}

function serverSupervisory(s: LinkCore, out: Out, f: HdlcFrame & { readonly nr: number }): void {
  if (!s.acknowledge(f.nr)) {
    reject(s, out, f, FRMR_Z_INVALID_NR, `N(R)=${f.nr} does not match V(S)=${s.vs}`);
    return;
  }
  s.peerBusy = f.kind === 'RNR';
  if (!f.pf) return;
  if (s.peerBusy) {
    s.respond(out, { kind: 'RR', nr: s.vr });
    return;
  }
  if (s.unacked) {
    s.counters.retransmissions++;
    s.emitResponse(out, s.unacked);
    return;
  }
  if (s.pending.length > 0) s.sendSegment(out);
  else s.respond(out, { kind: 'RR', nr: s.vr });
}

function reject(s: LinkCore, out: Out, f: HdlcFrame, reason: number, message: string): void {
  // ISO/IEC 13239 §5.5.3.4.3: rejected control field, V(S) C/R V(R), reason bits.
  const info = Uint8Array.of(encodeControl(f), (s.vr << 5) | (s.vs << 1), reason);
  s.linkState = 'frame-rejected';
  s.pending = [];
  s.rx.reset();
  s.error(out, new HdlcLinkError('frame-reject', `${message}: FRMR sent`), true);
  s.respond(out, { kind: 'FRMR', info });
}
