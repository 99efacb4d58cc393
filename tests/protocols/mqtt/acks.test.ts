import { describe, expect, it } from 'vitest';
import { AckWindow, encodePubacks } from '../../../protocols/mqtt/acks.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('AckWindow', () => {
  it('acknowledges in the order received, several per write, whatever order the commits finish in', async () => {
    const writes: number[][] = [];
    const window = new AckWindow(10, (ids) => writes.push([...ids]));
    const settle = [1, 2, 3, 4].map((id) => window.take(id));
    settle[2]?.('ack');
    settle[1]?.('ack');
    await turn();
    expect(writes).toEqual([]); // 1 is still being committed: nothing after it may be acknowledged
    settle[0]?.('ack');
    await turn();
    expect(writes).toEqual([[1, 2, 3]]);
    settle[3]?.('ack');
    await turn();
    expect(writes).toEqual([[1, 2, 3], [4]]);
    expect(window.size).toBe(0);
  });

  it('bounds the messages in flight and frees room as acknowledgements go out', async () => {
    const window = new AckWindow(2, () => undefined);
    const first = window.take(1);
    window.take(2);
    expect(window.hasRoom()).toBe(false);
    let room = false;
    void window.whenRoom().then(() => { room = true; });
    await turn();
    expect(room).toBe(false);
    first('ack');
    await turn();
    expect(room).toBe(true);
  });

  it('acknowledges nothing from a held message on, nor after holdAll (shutdown, lost connection)', async () => {
    const writes: number[][] = [];
    const window = new AckWindow(10, (ids) => writes.push([...ids]));
    const a = window.take(1);
    const b = window.take(2);
    const c = window.take(3);
    a('ack');
    b('hold');
    c('ack');
    await turn();
    expect(writes).toEqual([[1]]);
    const d = window.take(4);
    window.holdAll();
    d('ack');
    await turn();
    expect(writes).toEqual([[1]]);
  });

  it('keeps a QoS 0 message (no packet identifier) in line without acknowledging it', async () => {
    const writes: number[][] = [];
    const window = new AckWindow(10, (ids) => writes.push([...ids]));
    const q0 = window.take(undefined);
    const q1 = window.take(7);
    q1('ack');
    await turn();
    expect(writes).toEqual([]);
    q0('ack');
    await turn();
    expect(writes).toEqual([[7]]);
  });
});

describe('encodePubacks', () => {
  it('encodes MQTT 3.1.1 PUBACKs back to back (§3.4: 0x40, remaining length 2, packet identifier MSB first)', () => {
    expect(encodePubacks([1, 0x1234, 0xffff]).toString('hex')).toBe('40020001' + '40021234' + '4002ffff');
  });
});
