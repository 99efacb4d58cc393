/**
 * End to end over real sockets: the head-end polls a meter that pads every reply with 18 bytes
 * after its APDU (the simulator behind a rewriting wrapper proxy) and sends one register value
 * that does not decode. The poller reads everything else, counts the bytes in /metrics and
 * logs one warning for the terminal, however many padded replies arrive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { createLogger } from '../../src/observe/logger.js';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, eventually, startTestHeadEnd } from '../helpers/headend.js';
import { WrapperProxy } from '../simulators/dlms/wrapperProxy.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TRAILING = new Uint8Array(18);
/** Voltage L1 (IC 3, 1.0.32.7.0.255) attribute 2 in a request: class, logical name, attribute. */
const VOLTAGE_VALUE = Uint8Array.from([0x00, 0x03, 0x01, 0x00, 0x20, 0x07, 0x00, 0xff, 0x02]);
const contains = (b: Uint8Array, part: Uint8Array): boolean => Buffer.from(b).includes(Buffer.from(part));

describe('the head-end polling a meter written by others', () => {
  it('reads past trailing bytes, fails only the undecodable item, counts and warns once', async () => {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 21, serialNumber: '00000021', historyDays: 0 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const proxy: WrapperProxy = new WrapperProxy(sim.port, {
      rewriteServerApdu: (apdu) => {
        if (apdu[0] === 0x61 || apdu[0] === 0x63) return undefined;
        // A reply to a request naming voltage L1's value loses its last octet: it cannot decode.
        if (contains(proxy.fromClient.at(-1) ?? new Uint8Array(0), VOLTAGE_VALUE)) return apdu.subarray(0, apdu.length - 1);
        return Uint8Array.from([...apdu, ...TRAILING]);
      },
    });
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const lines: string[] = [];
    const h = await startTestHeadEnd({
      ...FAST_FLEET,
      simulators: { ...FAST_FLEET.simulators, modbus: { count: 0 }, mqtt: { count: 0 }, dlms: { count: 0 } },
    }, { logger: createLogger('warn', { write: (s: string) => { lines.push(s); } }) });
    cleanups.push(() => h.stop());
    expect((await h.send('POST', '/api/v1/terminals', {
      id: 'padder', protocol: 'dlms', profiles: ['fast', 'clock'],
      dlms: { host: '127.0.0.1', port: proxy.port, framing: 'wrapper', clientSap: 16, auth: 'none' },
    })).status).toBe(201);
    expect((await h.send('POST', '/api/v1/meters', { id: 'padder-1', terminalId: 'padder', address: '1' })).status).toBe(201);

    const quantities = await eventually(async () => {
      const body = (await h.get('/api/v1/meters/padder-1/latest')).body as { values?: { quantity: string }[] };
      const q = new Set((body.values ?? []).map((v) => v.quantity));
      return q.has('power.active') && q.has('energy.active.import') && q.has('clock.drift') ? q : undefined;
    }, 20_000, 'readings of the padding meter');
    expect(quantities.has('voltage.l1')).toBe(false);
    const metrics = await eventually(async () => {
      const text = await fetchApi(h, '/metrics').then((r) => r.text());
      return /gridhead_dlms_replies_with_trailing_bytes_total [3-9]\d*/.test(text) ? text : undefined;
    }, 20_000, 'several padded replies counted');
    const replies = Number(/gridhead_dlms_replies_with_trailing_bytes_total (\d+)/.exec(metrics)?.[1]);
    expect(Number(/gridhead_dlms_trailing_bytes_total (\d+)/.exec(metrics)?.[1])).toBe(18 * replies);
    const warnings = lines.map((l) => JSON.parse(l) as { msg: string; terminal?: string; bytes?: number })
      .filter((l) => l.msg.startsWith('DLMS reply with bytes after its APDU'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ terminal: 'padder', bytes: 18 });
  });
});
