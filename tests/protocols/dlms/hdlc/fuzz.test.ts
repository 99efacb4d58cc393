import { describe, expect, it } from 'vitest';
import { HdlcFrameDecoder } from '../../../../protocols/dlms/hdlc/decoder.js';
import { decodeHdlcFrame } from '../../../../protocols/dlms/hdlc/frame.js';
import { decodeHdlcParameters } from '../../../../protocols/dlms/hdlc/parameters.js';
import { HdlcLink, HdlcLinkError } from '../../../../protocols/dlms/hdlc/link.js';
import { FrameError } from '../../../../protocols/dlms/errors.js';
import { prng } from './reference.js';
import { filled, LinkPair } from './linkHarness.js';

const CHUNKS = 20_000;

/** Valid frames of a real exchange (connect, segmented request and response, release). */
function corpus(): Uint8Array[] {
  const pair = new LinkPair({ parameters: { maxInfoTransmit: 64, maxInfoReceive: 64 } });
  pair.connect();
  pair.onServerApdu = () => filled(300, 3);
  pair.run('client', pair.client.send(filled(200)));
  pair.run('client', pair.client.disconnect());
  return pair.wire.map((w) => w.bytes);
}

function mutated(rnd: () => number, frames: Uint8Array[]): Uint8Array {
  const mode = rnd();
  if (mode < 0.25) return Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => (rnd() < 0.1 ? 0x7e : Math.floor(rnd() * 256)));
  const base = frames[Math.floor(rnd() * frames.length)] ?? new Uint8Array(0);
  const b = base.slice();
  if (mode < 0.5) {
    const flips = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(rnd() * b.length);
      b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
    }
    return b;
  }
  if (mode < 0.65) return b.subarray(0, Math.floor(rnd() * b.length)); // truncation
  if (mode < 0.8) {
    b[1] = (b[1]! & 0xf8) | Math.floor(rnd() * 8); // length-field tampering
    b[2] = Math.floor(rnd() * 256);
    return b;
  }
  if (mode < 0.9) return b.subarray(Math.floor(rnd() * b.length)); // a tail only
  return b; // intact: the state machines must also see valid frames out of place
}

const typed = (err: unknown): boolean => err instanceof FrameError || err instanceof HdlcLinkError;

describe('HDLC generated input', () => {
  it(`frame codec and parameter decoder: ${CHUNKS} mutated frames give a frame or a FrameError`, () => {
    const rnd = prng(62056);
    const frames = corpus();
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < CHUNKS; i++) {
      const input = mutated(rnd, frames);
      try {
        decodeHdlcFrame(input);
        ok++;
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        bad++;
      }
      try {
        decodeHdlcParameters(input.subarray(9));
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(bad).toBeGreaterThan(0);
  });

  it(`stream decoder: ${CHUNKS} random and mutated chunks, bounded buffer, only FrameError results`, () => {
    const rnd = prng(4662);
    const frames = corpus();
    const decoder = new HdlcFrameDecoder({ maxFrameSize: 256 });
    let decoded = 0;
    for (let i = 0; i < CHUNKS; i++) {
      for (const item of decoder.push(mutated(rnd, frames))) {
        if (item.ok) decoded++;
        else expect(item.error).toBeInstanceOf(FrameError);
      }
      expect(decoder.buffered).toBeLessThanOrEqual(256);
    }
    expect(decoded).toBeGreaterThan(0);
    expect(decoder.stats.errors).toBeGreaterThan(0);
    expect(decoder.stats.garbageBytes).toBeGreaterThan(0);
  });

  it(`link state machines: ${CHUNKS} chunks to a client and a server in every state, never a throw`, () => {
    const rnd = prng(1107);
    const frames = corpus();
    const client = new HdlcLink({ role: 'client', clientAddress: 16, serverAddress: { upper: 1, lower: 17 }, maxApduSize: 1024 });
    const server = new HdlcLink({ role: 'server', serverAddress: { upper: 1, lower: 17 }, maxApduSize: 1024 });
    let events = 0;
    const statesSeen = new Set<string>();
    for (let i = 0; i < CHUNKS; i++) {
      statesSeen.add(`client:${client.state}`).add(`server:${server.state}`);
      // Drive the client through its states too, as an engine would.
      const r = rnd();
      try {
        if (r < 0.02 && client.state === 'disconnected') client.connect();
        else if (r < 0.04 && client.state === 'connected') client.send(filled(Math.floor(rnd() * 300)));
        else if (r < 0.05) client.pollAgain();
        else if (r < 0.06 && server.state === 'connected') server.send(filled(Math.floor(rnd() * 300)));
        else if (r < 0.065) client.disconnect();
      } catch (err) {
        expect(typed(err)).toBe(true); // busy / not-connected: caller misuse, typed
      }
      const chunk = mutated(rnd, frames);
      for (const link of [client, server]) {
        const out = link.receive(chunk); // must never throw
        events += out.events.length;
        for (const e of out.events) if (e.type === 'error') expect(typed(e.error)).toBe(true);
        for (const bytes of out.send) expect(bytes[0]).toBe(0x7e);
      }
    }
    expect(events).toBeGreaterThan(0);
    expect(server.stats.framesReceived).toBeGreaterThan(0);
    // the generated input really reached the interesting states
    expect(statesSeen).toEqual(new Set(['client:disconnected', 'client:connecting', 'client:connected', 'client:disconnecting', 'server:disconnected', 'server:connected', 'server:frame-rejected']));
  });
});
