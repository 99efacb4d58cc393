/**
 * The client (primary station) side of the HDLC link: answers to SNRM/DISC, I-frames of the
 * server's responses (asking for each next segment with RR), RR/RNR acknowledgements of our
 * own segments. Any sequence number it cannot explain is fatal: error event and DISC.
 */
import { hex } from '../bytes.js';
import { FrameError } from '../errors.js';
import { clientAddress, sameAddress } from './address.js';
import type { HdlcFrame } from './frame.js';
import { HdlcLinkError } from './linkTypes.js';
import { next, type LinkCore, type Out } from './linkCore.js';
import { acceptAnswer, decodeHdlcParameters, type HdlcParameters } from './parameters.js';

export function clientFrame(s: LinkCore, out: Out, f: HdlcFrame): void {
  if (!sameAddress(f.destination, clientAddress(s.clientSap ?? 0)) || !sameAddress(f.source, s.serverAddress)) {
    s.counters.foreignFrames++;
    return;
  }
  if (f.kind === 'I' && s.isDuplicate(f.ns)) {
    // A copy of a frame we already took (our poll crossed its first copy). Answering it
    // would duplicate every later exchange, so it is only counted; our own poll stays open.
    s.counters.duplicates++;
    return;
  }
  if (f.pf) s.pollOutstanding = false;
  switch (f.kind) {
    case 'UA':
      if (s.linkState === 'connecting') clientConnected(s, out, f.info);
      else if (s.linkState === 'disconnecting') s.toDisconnected(out, 'released');
      else s.unexpected(out, f.kind);
      return;
    case 'DM':
      if (s.linkState === 'connecting') {
        s.error(out, new HdlcLinkError('refused', 'the server answered SNRM with DM'), true);
        s.toDisconnected(out, 'refused');
      } else if (s.linkState === 'disconnecting') s.toDisconnected(out, 'released');
      else if (s.linkState === 'connected') {
        s.error(out, new HdlcLinkError('unexpected', 'the server is in disconnected mode (DM)'), true);
        s.toDisconnected(out, 'peer-disconnected');
      }
      return;
    case 'FRMR':
      abort(s, out, new HdlcLinkError('frame-reject', `the server rejected a frame (FRMR ${hex(f.info, ' ')})`));
      return;
    case 'I':
      clientInformation(s, out, f.ns, f.nr, f);
      return;
    case 'RR':
    case 'RNR':
      clientSupervisory(s, out, f.kind, f.nr, f.pf);
      return;
    case 'UI':
      s.unnumberedInformation(out, f);
      return;
    default:
      s.unexpected(out, f.kind);
  }
}

function clientConnected(s: LinkCore, out: Out, info: Uint8Array): void {
  let answer: HdlcParameters;
  try {
    answer = decodeHdlcParameters(info);
  } catch (err) {
    if (!(err instanceof FrameError)) throw err;
    s.error(out, err, true);
    s.toDisconnected(out, 'refused');
    return;
  }
  s.negotiated = acceptAnswer(answer, s.own);
  s.linkState = 'connected';
  out.events.push({ type: 'connected', parameters: s.negotiated });
}

function clientInformation(s: LinkCore, out: Out, ns: number, nr: number, f: HdlcFrame): void {
  if (s.linkState !== 'connected') {
    s.unexpected(out, 'I');
    return;
  }
  if (ns !== s.vr || nr !== s.vs || s.pending.length > 0) {
    abort(s, out, new HdlcLinkError('sequence', `I-frame N(S)=${ns} N(R)=${nr}, expected N(S)=${s.vr} N(R)=${s.vs}`));
    return;
  }
  s.vr = next(s.vr);
  s.rxSeen = true;
  s.unacked = undefined;
  s.collect(out, f.info, f.segmented);
  // Green Book §8.4.5.4.2: the client asks for each next segment with RR(P).
  if (f.segmented && f.pf) s.command(out, { kind: 'RR', nr: s.vr });
}

function clientSupervisory(s: LinkCore, out: Out, kind: 'RR' | 'RNR', nr: number, pf: boolean): void {
  if (s.linkState !== 'connected') {
    s.unexpected(out, kind);
    return;
  }
  if (!s.acknowledge(nr)) {
    abort(s, out, new HdlcLinkError('sequence', `${kind} N(R)=${nr} does not match V(S)=${s.vs}`));
    return;
  }
  s.peerBusy = kind === 'RNR';
  if (s.peerBusy || !pf) return; // pollAgain() will ask again
  if (s.unacked) {
    // N(R) did not move: the server did not get our last I-frame.
    s.counters.retransmissions++;
    s.emitCommand(out, s.unacked);
  } else if (s.pending.length > 0) s.sendSegment(out);
}

/** A fatal sequence or reject condition on the client: report it and release the link. */
function abort(s: LinkCore, out: Out, error: HdlcLinkError): void {
  s.error(out, error, true);
  s.pending = [];
  s.rx.reset();
  s.linkState = 'disconnecting';
  s.command(out, { kind: 'DISC', info: new Uint8Array(0) });
}
