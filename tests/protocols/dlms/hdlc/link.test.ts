import { describe, expect, it } from 'vitest';
import { encodeHdlcFrame } from '../../../../protocols/dlms/hdlc/frame.js';
import { HdlcLink, HdlcLinkError } from '../../../../protocols/dlms/hdlc/link.js';
import { hex, toHex } from './reference.js';
import { filled, LinkPair, SERVER_ADDRESS } from './linkHarness.js';

// The AARQ/AARE pair of the published frames in u9n/dlms-cosem tests/test_hdlc/test_hdlc.py.
const AARQ = hex('601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF');
const AARE = hex('6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007');
const CLIENT = { upper: 16, length: 1 as const };

describe('HdlcLink: connection', () => {
  it('connects with SNRM/UA byte for byte and reports the negotiated parameters', () => {
    const pair = new LinkPair();
    pair.connect();
    expect(pair.wire.map((w) => toHex(w.bytes))).toEqual([
      '7E A0 08 02 23 21 93 BD 64 7E', // SNRM, all defaults → no information field (published)
      // UA stating 128/128/1/1 from the server's point of view
      '7E A0 1F 21 02 23 73 E6 C7 81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01 53 3B 7E',
    ]);
    const params = { maxInfoTransmit: 128, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 };
    expect(pair.events.client).toEqual([{ type: 'connected', parameters: params }]);
    expect(pair.events.server).toEqual([{ type: 'connected', parameters: params }]);
    expect(pair.client.state).toBe('connected');
    expect(pair.client.awaitingReply).toBe(false);
  });

  it('carries an AARQ and its AARE exactly as the published I-frames', () => {
    const pair = new LinkPair();
    pair.connect();
    pair.onServerApdu = (apdu) => (toHex(apdu) === toHex(AARQ) ? AARE : undefined);
    pair.run('client', pair.client.send(AARQ));
    expect(toHex(pair.wire[2]!.bytes)).toBe(toHex(hex('7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E')));
    expect(toHex(pair.wire[3]!.bytes)).toBe(toHex(hex('7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007B86A7E')));
    expect(pair.apdus('server')).toEqual([AARQ]);
    expect(pair.apdus('client')).toEqual([AARE]);
  });

  it('negotiates smaller information fields and a larger window, and still works as window 1', () => {
    const pair = new LinkPair(
      { parameters: { maxInfoTransmit: 64, maxInfoReceive: 48, windowTransmit: 7, windowReceive: 7 } },
      { parameters: { maxInfoTransmit: 512, maxInfoReceive: 512, windowTransmit: 3, windowReceive: 3 } },
    );
    pair.connect();
    // SNRM carries 05 01 40 | 06 01 30 | 07 04 00000007 | 08 04 00000007
    expect(toHex(pair.wire[0]!.frame.info)).toBe('81 80 12 05 01 40 06 01 30 07 04 00 00 00 07 08 04 00 00 00 07');
    expect(pair.client.parameters).toEqual({ maxInfoTransmit: 64, maxInfoReceive: 48, windowTransmit: 3, windowReceive: 3 });
    expect(pair.server.parameters).toEqual({ maxInfoTransmit: 48, maxInfoReceive: 64, windowTransmit: 3, windowReceive: 3 });
    pair.onServerApdu = (apdu) => apdu.slice().reverse();
    const request = filled(200);
    pair.run('client', pair.client.send(request));
    for (const w of pair.wire.slice(2)) expect(w.frame.info.length).toBeLessThanOrEqual(w.from === 'client' ? 64 : 48);
    expect(pair.apdus('client')).toEqual([request.slice().reverse()]);
    // one frame outstanding at a time: client and server strictly alternate
    const sides = pair.wire.map((w) => w.from);
    expect(sides.every((s, i) => i === 0 || s !== sides[i - 1])).toBe(true);
  });

  it('releases with DISC/UA', () => {
    const pair = new LinkPair();
    pair.connect();
    pair.run('client', pair.client.disconnect());
    expect(pair.wire.slice(2).map((w) => toHex(w.bytes))).toEqual(['7E A0 08 02 23 21 53 B1 A2 7E', '7E A0 08 21 02 23 73 7A 43 7E']);
    expect(pair.events.client.at(-1)).toEqual({ type: 'disconnected', reason: 'released' });
    expect(pair.events.server.at(-1)).toEqual({ type: 'disconnected', reason: 'released' });
    expect(pair.client.state).toBe('disconnected');
    expect(pair.server.state).toBe('disconnected');
  });

  it('is refused with DM by a server that is not connected, and DISC to it gets DM', () => {
    const server = new HdlcLink({ role: 'server', serverAddress: SERVER_ADDRESS });
    const rr = encodeHdlcFrame({ kind: 'RR', nr: 0, destination: SERVER_ADDRESS, source: CLIENT, pf: true, segmented: false, info: new Uint8Array(0) });
    expect(toHex(server.receive(rr).send[0]!)).toBe('7E A0 08 21 02 23 1F 10 EA 7E'); // DM
    const client = new HdlcLink({ role: 'client', clientAddress: 16, serverAddress: SERVER_ADDRESS });
    client.connect();
    const out = client.receive(hex('7E A0 08 21 02 23 1F 10 EA 7E'));
    expect(out.events.map((e) => e.type)).toEqual(['error', 'disconnected']);
    expect(out.events[1]).toEqual({ type: 'disconnected', reason: 'refused' });
    expect(client.state).toBe('disconnected');
  });
});

describe('HdlcLink: segmentation', () => {
  it('sends a 1,000-octet APDU over max info 128 as 8 segments, each acknowledged by RR', () => {
    const pair = new LinkPair();
    pair.connect();
    pair.onServerApdu = () => hex('C4 01 81 00 09 00');
    const apdu = filled(1000);
    pair.run('client', pair.client.send(apdu));
    // LLC (3) + 1000 = 1003 octets = 7 × 128 + 107
    expect(pair.trace().slice(2)).toEqual([
      'c:I0/0S', 's:RR1', 'c:I1/0S', 's:RR2', 'c:I2/0S', 's:RR3', 'c:I3/0S', 's:RR4',
      'c:I4/0S', 's:RR5', 'c:I5/0S', 's:RR6', 'c:I6/0S', 's:RR7', 'c:I7/0', 's:I0/0',
    ]);
    const segments = pair.wire.filter((w) => w.from === 'client' && w.frame.kind === 'I');
    expect(segments.map((w) => w.frame.info.length)).toEqual([128, 128, 128, 128, 128, 128, 128, 107]);
    expect(segments.map((w) => w.bytes[1])).toEqual([0xa8, 0xa8, 0xa8, 0xa8, 0xa8, 0xa8, 0xa8, 0xa0]); // S bit
    expect(toHex(segments[0]!.frame.info.subarray(0, 3))).toBe('E6 E6 00'); // LLC only in the first
    expect(pair.apdus('server')).toEqual([apdu]);
    expect(pair.apdus('client')).toEqual([hex('C4 01 81 00 09 00')]);
  });

  it('receives a 1,000-octet response: the client asks for each next segment with RR', () => {
    const pair = new LinkPair();
    pair.connect();
    const response = filled(1000, 7);
    pair.onServerApdu = () => response;
    pair.run('client', pair.client.send(hex('C0 01 81 00 08 00 00 01 00 00 FF 02 00')));
    expect(pair.trace().slice(2)).toEqual([
      'c:I0/0', 's:I0/1S', 'c:RR1', 's:I1/1S', 'c:RR2', 's:I2/1S', 'c:RR3', 's:I3/1S',
      'c:RR4', 's:I4/1S', 'c:RR5', 's:I5/1S', 'c:RR6', 's:I6/1S', 'c:RR7', 's:I7/1',
    ]);
    expect(pair.apdus('client')).toEqual([response]);
    expect(toHex(pair.wire[3]!.frame.info.subarray(0, 3))).toBe('E6 E7 00');
    expect(pair.client.awaitingReply).toBe(false);
    // the exchange continues with wrapped sequence numbers
    pair.onServerApdu = (a) => a;
    pair.run('client', pair.client.send(hex('01 02 03')));
    expect(pair.trace().slice(-2)).toEqual(['c:I1/0', 's:I0/2']);
    expect(pair.apdus('client').at(-1)).toEqual(hex('01 02 03'));
  });

  it('discards an APDU beyond maxApduSize with an error and carries the next one', () => {
    const pair = new LinkPair({}, { maxApduSize: 300 });
    pair.connect();
    pair.run('client', pair.client.send(filled(400)));
    expect(pair.errors('server')).toEqual([expect.stringMatching(/beyond 300 octets/)]);
    expect(pair.apdus('server')).toEqual([]);
    // nothing for the application to answer: the server gives the poll back at once
    expect(pair.trace().at(-1)).toBe('s:RR4');
    expect(pair.client.awaitingReply).toBe(false);
    pair.run('client', pair.client.send(filled(250)));
    expect(pair.apdus('server')).toEqual([filled(250)]);
    expect(() => pair.server.send(filled(301))).toThrow(HdlcLinkError);
  });
});

describe('HdlcLink: lost frames, sequence errors, RNR', () => {
  it('recovers a lost response: pollAgain repeats the I-frame, the server repeats its answer', () => {
    const pair = new LinkPair();
    pair.connect();
    pair.onServerApdu = () => AARE;
    let lose = true;
    pair.drop = (w) => w.from === 'server' && w.frame.kind === 'I' && lose && !(lose = false);
    pair.run('client', pair.client.send(AARQ));
    expect(pair.client.awaitingReply).toBe(true);
    const again = pair.client.pollAgain();
    expect(again).toEqual([pair.wire[2]!.bytes]);
    pair.run('client', again);
    expect(pair.apdus('server')).toEqual([AARQ]); // not delivered twice
    expect(pair.apdus('client')).toEqual([AARE]);
    expect(pair.server.stats).toMatchObject({ duplicates: 1, retransmissions: 1 });
  });

  it('recovers a lost segment of a segmented response', () => {
    const pair = new LinkPair();
    pair.connect();
    const response = filled(600);
    pair.onServerApdu = () => response;
    let n = 0;
    pair.drop = (w) => w.from === 'server' && w.frame.kind === 'I' && ++n === 3;
    pair.run('client', pair.client.send(hex('C0 01 81')));
    expect(pair.client.awaitingReply).toBe(true);
    pair.run('client', pair.client.pollAgain()); // repeats RR2; the server resends I2
    expect(pair.apdus('client')).toEqual([response]);
    // I2 lost (still on the wire trace), RR2 repeated, I2 sent again
    expect(pair.trace().join(',')).toContain('c:RR2,s:I2/1S,c:RR2,s:I2/1S,c:RR3');
    expect(pair.server.stats.retransmissions).toBe(1);
  });

  it('server: answers an invalid N(R) with FRMR; client: reports it as fatal and sends DISC', () => {
    const pair = new LinkPair();
    pair.connect();
    const bad = encodeHdlcFrame({ kind: 'I', ns: 0, nr: 5, destination: SERVER_ADDRESS, source: CLIENT, pf: true, segmented: false, info: hex('E6 E6 00 01') });
    const out = pair.server.receive(bad);
    expect(pair.server.state).toBe('frame-rejected');
    // FRMR information: rejected control 0xB0, V(S)=0/V(R)=0, Z (invalid N(R)) = 0x08
    const frmr = out.send[0]!;
    expect(toHex(frmr.subarray(6, 7))).toBe('97');
    expect(toHex(frmr.subarray(9, 12))).toBe('B0 00 08');
    const c = pair.client.receive(frmr);
    expect(c.events[0]).toMatchObject({ type: 'error', fatal: true, error: { reason: 'frame-reject' } });
    expect(toHex(c.send[0]!)).toBe('7E A0 08 02 23 21 53 B1 A2 7E'); // DISC
    pair.run('client', c);
    expect(pair.client.state).toBe('disconnected');
  });

  it('client: an out-of-sequence I-frame is fatal; server: an out-of-sequence N(S) is discarded with RR', () => {
    const pair = new LinkPair();
    pair.connect();
    pair.client.send(hex('01'));
    const wrong = encodeHdlcFrame({ kind: 'I', ns: 3, nr: 1, destination: CLIENT, source: SERVER_ADDRESS, pf: true, segmented: false, info: hex('E6 E7 00 02') });
    const out = pair.client.receive(wrong);
    expect(out.events[0]).toMatchObject({ type: 'error', fatal: true, error: { reason: 'sequence' } });
    expect(pair.client.state).toBe('disconnecting');

    const other = new LinkPair();
    other.connect();
    const skip = encodeHdlcFrame({ kind: 'I', ns: 2, nr: 0, destination: SERVER_ADDRESS, source: CLIENT, pf: true, segmented: false, info: hex('E6 E6 00 01') });
    const s = other.server.receive(skip);
    expect(s.events[0]).toMatchObject({ type: 'error', fatal: false, error: { reason: 'sequence' } });
    expect(s.send[0]![6]).toBe(0x11); // RR N(R)=0 with F: the client should send N(S)=0 again
  });

  it('holds its segments while the server is busy (RNR) and resumes on the next poll', () => {
    const pair = new LinkPair();
    pair.connect();
    const out = pair.client.send(filled(300));
    expect(out.send).toHaveLength(1);
    const rnr = encodeHdlcFrame({ kind: 'RNR', nr: 1, destination: CLIENT, source: SERVER_ADDRESS, pf: true, segmented: false, info: new Uint8Array(0) });
    expect(pair.client.receive(rnr).send).toEqual([]);
    // the server really received the first segment
    pair.server.receive(out.send[0]!);
    const poll = pair.client.pollAgain();
    expect(toHex(poll[0]!.subarray(6, 7))).toBe('11'); // RR N(R)=0 (nothing received yet), P
    pair.run('client', poll);
    expect(pair.apdus('server')).toEqual([filled(300)]);
  });

  it('ignores frames for other stations and refuses misuse with HdlcLinkError', () => {
    const pair = new LinkPair();
    expect(() => pair.client.send(hex('01'))).toThrow(HdlcLinkError);
    expect(() => pair.server.connect()).toThrow(HdlcLinkError);
    const toOther = encodeHdlcFrame({ kind: 'SNRM', destination: { upper: 1, lower: 18 }, source: CLIENT, pf: true, segmented: false, info: new Uint8Array(0) });
    expect(pair.server.receive(toOther)).toEqual({ send: [], events: [] });
    expect(pair.server.stats.foreignFrames).toBe(1);
    pair.connect();
    pair.client.send(hex('01'));
    expect(() => pair.client.send(hex('02'))).toThrow(/busy|progress/);
    expect(() => new HdlcLink({ role: 'client', serverAddress: SERVER_ADDRESS })).toThrow(HdlcLinkError);
  });

  it('mirrors a 4-octet server address and answers with the same size', () => {
    const server = new HdlcLink({ role: 'server', serverAddress: SERVER_ADDRESS });
    const snrm = hex('7E A0 0A 00 02 00 23 21 93 18 71 7E');
    const ua = server.receive(snrm).send[0]!;
    expect(toHex(ua.subarray(0, 8))).toBe('7E A0 21 21 00 02 00 23');
  });
});
