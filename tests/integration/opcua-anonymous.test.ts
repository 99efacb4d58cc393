/**
 * The OPC UA server configured for read-only anonymous access, with no simulated fleet:
 * readings offered to the pipeline show up with their status (never read, good, stale), and
 * an anonymous session can browse and read but not call a method.
 */
import { AttributeIds, DataType, StatusCodes, type ClientSession } from 'node-opcua';
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
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 250 }],
      terminals: [{ id: 't1', name: 'pushing terminal', protocol: 'mqtt' }],
      meters: [{ id: 'm1', name: 'meter one', terminalId: 't1', address: '1', areaId: 'tx1' }, { id: 'm2', name: 'meter two', terminalId: 't1', address: '2' }],
    },
    opcua: { enabled: true, port: 0, allowAnonymous: true, staleAfterSeconds: 2, areaRefreshMs: 100 },
  });
  ({ he, session } = station);
}, 60_000);

afterAll(async () => {
  await (station as OpcuaStation | undefined)?.stop();
});

const read = (nodeId: string) => station.read(nodeId);

describe('read-only anonymous access', () => {
  it('lets an anonymous session browse the tree, with a meter of no area under UnassignedMeters', async () => {
    const names = async (nodeId: string) => ((await session.browse(nodeId)).references ?? []).map((r) => r.browseName.name);
    expect(await names('ns=1;s=area:tx1.Meters')).toEqual(['m1']);
    expect(await names('ns=1;s=unassigned')).toEqual(['m2']);
  });

  it('shows Bad before the first reading, the value with its source timestamp after it, and UncertainLastUsableValue once stale', async () => {
    expect((await read('ns=1;s=meter:m1.ActivePower')).statusCode).toBe(StatusCodes.BadWaitingForInitialData);
    expect((await read('ns=1;s=meter:m1.RelayConnected')).statusCode).toBe(StatusCodes.BadWaitingForInitialData);
    const ts = Date.now() - 500;
    await he.pipeline.offer([{ terminalId: 't1', address: '1', quantity: 'power.active', value: 4.25, ts }], 'mqtt', 'push');
    const fresh = await eventually(async () => {
      const dv = await read('ns=1;s=meter:m1.ActivePower');
      return dv.statusCode === StatusCodes.Good ? dv : undefined;
    }, 10_000, 'a good ActivePower');
    expect(fresh.value.value).toBe(4.25);
    expect(fresh.sourceTimestamp?.getTime()).toBe(ts);
    const stale = await eventually(async () => {
      const dv = await read('ns=1;s=meter:m1.ActivePower');
      return dv.statusCode === StatusCodes.UncertainLastUsableValue ? dv : undefined;
    }, 15_000, 'a stale ActivePower');
    expect(stale.value.value).toBe(4.25);
    expect(stale.sourceTimestamp?.getTime()).toBe(ts);
  });

  it('sums a fresh reading into the area loads of its transformer area and region', async () => {
    await he.pipeline.offer([{ terminalId: 't1', address: '1', quantity: 'power.active', value: 7.5, ts: Date.now() }], 'mqtt', 'push');
    for (const area of ['tx1', 'r1']) {
      const load = await eventually(async () => {
        const dv = await read(`ns=1;s=area:${area}.AggregateLoad`);
        return dv.statusCode === StatusCodes.Good && dv.value.value === 7.5 ? dv : undefined;
      }, 10_000, `${area} load`);
      expect(load.value.dataType).toBe(DataType.Double);
    }
  });

  it('refuses writes to the live variables', async () => {
    const status = await session.write({ nodeId: 'ns=1;s=meter:m2.ActivePower', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value: 99 } } });
    expect(status.isGood()).toBe(false);
    expect((await read('ns=1;s=meter:m2.ActivePower')).statusCode).toBe(StatusCodes.BadWaitingForInitialData);
  });

  it('refuses a method call from an anonymous session with BadUserAccessDenied', async () => {
    const result = await session.call({
      objectId: 'ns=1;s=meter:m1', methodId: 'ns=1;s=meter:m1.Disconnect', inputArguments: [{ dataType: DataType.String, value: 'anonymous try' }],
    });
    expect(result.statusCode).toBe(StatusCodes.BadUserAccessDenied);
  });
});
