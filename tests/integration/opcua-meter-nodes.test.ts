/**
 * The OPC UA server of a fleet larger than `opcua.maxMeterNodes`: only that many meters get
 * nodes of their own, while every area's AggregateLoad still counts all its meters, follows
 * them when they move between areas and forgets them when they are deleted.
 */
import { StatusCodes, type ClientSession } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestHeadEnd } from '../helpers/headend.js';
import { startOpcuaStation, type OpcuaStation } from '../helpers/opcuaStation.js';

let he: TestHeadEnd;
let station: OpcuaStation;
let session: ClientSession;

beforeAll(async () => {
  station = await startOpcuaStation({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    registry: {
      areas: [
        { id: 'r1', name: 'Region', kind: 'region' },
        { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 250 },
        { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1', transformerKva: 250 },
      ],
      terminals: [{ id: 't1', name: 'pushing terminal', protocol: 'mqtt' }],
      meters: [1, 2, 3].map((i) => ({ id: `m${i}`, name: `meter ${i}`, terminalId: 't1', address: String(i), areaId: 'tx1' })),
    },
    opcua: { enabled: true, port: 0, allowAnonymous: true, areaRefreshMs: 100, maxMeterNodes: 1 },
  });
  ({ he, session } = station);
}, 60_000);

afterAll(async () => {
  await (station as OpcuaStation | undefined)?.stop();
});

const read = (nodeId: string) => station.read(nodeId);

/** The AggregateLoad of `area` once it reads `kw`. */
function loadReaches(area: string, kw: number): Promise<number> {
  return eventually(async () => {
    const dv = await read(`ns=1;s=area:${area}.AggregateLoad`);
    return dv.value.value === kw ? kw : undefined;
  }, 10_000, `AggregateLoad of ${area} at ${kw} kW`);
}

describe('a fleet larger than opcua.maxMeterNodes', () => {
  it('gives nodes to that many meters only', async () => {
    const names = ((await session.browse('ns=1;s=area:tx1.Meters')).references ?? []).map((r) => r.browseName.name);
    expect(names).toEqual(['m1']);
    expect((await read('ns=1;s=meter:m3.ActivePower')).statusCode).toBe(StatusCodes.BadNodeIdUnknown);
  });

  it('counts every meter of an area in its AggregateLoad and its ancestors\', with or without nodes', async () => {
    const ts = Date.now();
    await he.pipeline.offer([1, 2, 3].map((i) => ({ terminalId: 't1', address: String(i), quantity: 'power.active', value: i, ts })), 'mqtt', 'push');
    expect(await loadReaches('tx1', 6)).toBe(6);
    expect(await loadReaches('r1', 6)).toBe(6);
  });

  it('moves a meter\'s load with it to its new area, and drops the load of a deleted meter', async () => {
    const moved = await he.send('PUT', '/api/v1/meters/m3', { name: 'meter 3', terminalId: 't1', address: '3', areaId: 'tx2' });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(await loadReaches('tx1', 3)).toBe(3);
    expect(await loadReaches('tx2', 3)).toBe(3);
    expect(await loadReaches('r1', 6)).toBe(6);
    const deleted = await he.send('DELETE', '/api/v1/meters/m2');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    expect(await loadReaches('tx1', 1)).toBe(1);
    expect(await loadReaches('r1', 4)).toBe(4);
  });
});
