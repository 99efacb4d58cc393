/**
 * The simulated Modbus terminal on the wire, byte for byte, with a raw socket as the client:
 * what it answers to requests a well-behaved adapter never sends.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { crc16Modbus, type Framing } from '../../simulators/modbus/frames.js';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(framing: Framing): Promise<number> {
  const sim = new ModbusTerminalSimulator({ meters: 2, seed: 1, framing, clock: () => Date.UTC(2024, 0, 1, 12) });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  return port;
}

/** Sends `request` and collects what comes back until `bytes` arrived or the peer closed. */
async function exchange(port: number, request: Buffer, bytes: number): Promise<{ reply: Buffer; closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  cleanups.push(() => { socket.destroy(); });
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject); });
  return new Promise((resolve) => {
    let reply = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      reply = Buffer.concat([reply, d]);
      if (reply.length >= bytes) resolve({ reply, closed: false });
    });
    socket.on('close', () => { resolve({ reply, closed: true }); });
    socket.write(request);
  });
}

const mbap = (unit: number, pdu: number[], tid = 0x1234, protocolId = 0) =>
  Buffer.from([tid >> 8, tid & 0xff, protocolId >> 8, protocolId & 0xff, 0, pdu.length + 1, unit, ...pdu]);

const rtu = (unit: number, pdu: number[]) => {
  const body = Buffer.from([unit, ...pdu]);
  const crc = crc16Modbus(body);
  return Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]);
};

const read = (fn: number, start: number, count: number) => [fn, start >> 8, start & 0xff, count >> 8, count & 0xff];

describe('simulated Modbus terminal', () => {
  it('computes CRC-16/MODBUS with the standard check value', () => {
    expect(crc16Modbus(Buffer.from('123456789', 'ascii'))).toBe(0x4b37);
  });

  it('answers a Modbus TCP read with the request transaction id and the registers', async () => {
    const port = await start('tcp');
    const { reply } = await exchange(port, mbap(1, read(4, 0, 2)), 13);
    expect([...reply.subarray(0, 9)]).toEqual([0x12, 0x34, 0, 0, 0, 7, 1, 4, 4]);
    expect(reply.readFloatBE(9)).toBeGreaterThan(220); // voltage.l1
  });

  it.each([
    ['a quantity over 125', read(4, 0, 126), 3],
    ['a quantity of 0', read(4, 0, 0), 3],
    ['an address outside every bank', read(4, 40, 1), 2],
    ['a read running off the end of a bank', read(4, 38, 4), 2],
    ['holding registers (function 3) outside the limit register', read(3, 0, 2), 2],
    ['a write (function 6) outside the control registers', [6, 0, 0, 0, 1], 2],
    ['an unsupported function (23)', [23, 0, 0, 0, 1], 1],
  ])('answers %s with the proper exception', async (_what, pdu, code) => {
    const port = await start('tcp');
    const { reply } = await exchange(port, mbap(1, pdu), 9);
    expect([...reply.subarray(7)]).toEqual([(pdu[0] ?? 0) | 0x80, code]);
  });

  it('answers for a unit id it does not have with "gateway target failed to respond"', async () => {
    const port = await start('tcp');
    const { reply } = await exchange(port, mbap(3, read(4, 0, 2)), 9);
    expect([...reply.subarray(6)]).toEqual([3, 0x84, 11]);
  });

  it('drops a connection that does not speak MBAP', async () => {
    const port = await start('tcp');
    const { reply, closed } = await exchange(port, mbap(1, read(4, 0, 2), 1, 7), 1);
    expect(closed).toBe(true);
    expect(reply.length).toBe(0);
  });

  it('answers an RTU frame with an RTU frame whose CRC checks', async () => {
    const port = await start('rtu-over-tcp');
    const { reply } = await exchange(port, rtu(2, read(4, 256, 2)), 9);
    expect([...reply.subarray(0, 3)]).toEqual([2, 4, 4]);
    expect(reply.readUInt16LE(7)).toBe(crc16Modbus(reply.subarray(0, 7)));
    expect(reply.readFloatBE(3)).toBeGreaterThan(0); // energy.active.import
  });

  it('answers RTU exceptions as 5-byte frames', async () => {
    const port = await start('rtu-over-tcp');
    const { reply } = await exchange(port, rtu(1, read(4, 500, 2)), 5);
    expect([...reply.subarray(0, 3)]).toEqual([1, 0x84, 2]);
    expect(reply.readUInt16LE(3)).toBe(crc16Modbus(reply.subarray(0, 3)));
  });

  it('drops an RTU connection whose frame fails its CRC', async () => {
    const port = await start('rtu-over-tcp');
    const frame = rtu(1, read(4, 0, 2));
    frame.writeUInt8(frame.readUInt8(frame.length - 1) ^ 0xff, frame.length - 1);
    const { reply, closed } = await exchange(port, frame, 1);
    expect(closed).toBe(true);
    expect(reply.length).toBe(0);
  });
});
