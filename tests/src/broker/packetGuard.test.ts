import { describe, expect, it } from 'vitest';
import { PacketSizeScanner } from '../../../src/broker/packetGuard.js';

describe('MQTT packet size scanner', () => {
  it('follows packet boundaries when headers and bodies are split across chunks, byte by byte', () => {
    const scanner = new PacketSizeScanner(200);
    // PINGREQ (no body), a PUBLISH of 130 bytes (two length bytes), then another PINGREQ.
    const stream = Buffer.concat([Buffer.from([0xc0, 0x00]), Buffer.from([0x30, 0x82, 0x01]), Buffer.alloc(130, 0x61), Buffer.from([0xc0, 0x00])]);
    for (const byte of stream) expect(scanner.feed(Buffer.from([byte]))).toEqual({ ok: true });
  });

  it('refuses the first header announcing more than the limit, counting the whole packet', () => {
    const scanner = new PacketSizeScanner(130);
    expect(scanner.feed(Buffer.from([0x30, 0x7f]))).toEqual({ ok: true });
    expect(scanner.feed(Buffer.alloc(127))).toEqual({ ok: true });
    expect(scanner.feed(Buffer.from([0x30, 0x80, 0x01]))).toEqual({ ok: false, reason: 'too-large', size: 131 });
  });

  it('refuses a Remaining Length longer than four bytes (MQTT 3.1.1 §2.2.3)', () => {
    expect(new PacketSizeScanner(1 << 30).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual({ ok: false, reason: 'malformed-length' });
  });
});
