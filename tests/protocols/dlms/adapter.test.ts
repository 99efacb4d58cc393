/**
 * The head-end's DLMS adapter against the simulated meter over real TCP, through a proxy that
 * records every APDU: what a scheduled read costs in requests on the wire, which is what a
 * slow link (400 ms a round trip) charges for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadItem } from '../../../protocols/adapter.js';
import { DlmsAdapter } from '../../../protocols/dlms/adapter.js';
import { QUANTITIES } from '../../../src/domain/quantity.js';
import { DlmsMeterSimulator, PUBLIC_CLIENT } from '../../../simulators/dlms/server.js';
import { WrapperProxy, type WrapperProxyOptions } from '../../simulators/dlms/wrapperProxy.js';

const never = new AbortController().signal;
/** xDLMS APDU tags (Green Book §9.5): get-request, and its with-list choice. */
const GET_REQUEST = 0xc0;
const GET_REQUEST_WITH_LIST = 3;

const ITEMS: readonly ReadItem[] = [
  { address: '1', quantity: 'energy.active.import' }, { address: '1', quantity: 'voltage.l1' }, { address: '1', quantity: 'clock.drift' },
];

const started: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop();
});

async function meterBehindProxy(seed: number, options: WrapperProxyOptions = {}): Promise<{ sim: DlmsMeterSimulator; proxy: WrapperProxy }> {
  const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed, serialNumber: `A${seed}`, historyDays: 0 });
  await sim.start();
  started.push(sim);
  const proxy = new WrapperProxy(sim.port, options);
  await proxy.start();
  started.push(proxy);
  return { sim, proxy };
}

function endpoint(port: number) {
  return { host: '127.0.0.1', port, framing: 'wrapper' as const, clientSap: PUBLIC_CLIENT, auth: 'none' as const, meterType: 'adapter-test' };
}

describe('DLMS adapter reads', () => {
  it('reads the clock drift and the registers in one GET-with-list', async () => {
    const { proxy } = await meterBehindProxy(31);
    const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000 });
    try {
      const session = await adapter.open({ id: 't31', endpoint: endpoint(proxy.port) }, never);
      const firstGet = proxy.fromClient.length;
      const outcomes = await session.read(ITEMS, never);
      const gets = proxy.fromClient.slice(firstGet).filter((apdu) => apdu[0] === GET_REQUEST);
      await session.close();

      expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
      const drift = outcomes[2];
      expect(drift?.ok === true && Math.abs(drift.reading.value)).toBeLessThan(5);
      expect(gets.map((apdu) => apdu[1])).toEqual([GET_REQUEST_WITH_LIST]);
    } finally {
      await adapter.close();
    }
  });

  it('scales a value with the scaler known when the request left, though the bounded cache evicted it meanwhile', async () => {
    const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, maxScalerEntries: 2 });
    let evict = false;
    // While a reply is on its way back, another meter's scaler takes a place in the cache.
    const { proxy } = await meterBehindProxy(32, {
      rewriteServerApdu: () => {
        if (evict) adapter.scalers.set('another/1', '1.0.1.8.0.255', { scaler: 0, unit: 30 });
        return undefined;
      },
    });
    try {
      const session = await adapter.open({ id: 't32', endpoint: endpoint(proxy.port) }, never);
      const registers = ITEMS.slice(0, 2);
      // The first read learns both scalers; the cache holds exactly those two.
      expect((await session.read(registers, never)).map((o) => o.ok)).toEqual([true, true]);
      evict = true;
      const outcomes = await session.read(registers, never);
      await session.close();

      expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    } finally {
      await adapter.close();
    }
  });

  it('reads the object list of a meter type once when its first sessions open together', async () => {
    let objectListReads = 0;
    const ports: number[] = [];
    for (const seed of [41, 42, 43]) {
      const { sim, proxy } = await meterBehindProxy(seed);
      const get = sim.meter.get.bind(sim.meter);
      sim.meter.get = (ref, access, ctx) => {
        // Blue Book IC 15 Association LN, attribute 2 object_list
        if (ref.classId === 15 && ref.attributeId === 2) objectListReads++;
        return get(ref, access, ctx);
      };
      ports.push(proxy.port);
    }
    const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000 });
    try {
      const sessions = await Promise.all(ports.map((port, i) => adapter.open({ id: `type-${i}`, endpoint: endpoint(port) }, never)));
      const outcomes = await Promise.all(sessions.map((session) => session.read(ITEMS.slice(0, 1), never)));
      await Promise.all(sessions.map((session) => session.close()));

      expect(outcomes.map((o) => o[0]?.ok)).toEqual([true, true, true]);
      expect(objectListReads).toBe(1);
    } finally {
      await adapter.close();
    }
  });
});
