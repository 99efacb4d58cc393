/**
 * The OPC UA address space is built after the server listens, a few areas per turn of the
 * event loop (`opcua.buildSliceAreas`, small here so a build takes many slices): every area is
 * browsable in the end with its AggregateLoad, /health reports the build, and a bulk import of
 * areas, announced one change per area, builds the tree once rather than once per area.
 */
import { AttributeIds, type ClientSession } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentStatus, HealthReport } from '../../src/observe/health.js';
import { eventually, type TestHeadEnd } from '../helpers/headend.js';
import { startOpcuaStation, type OpcuaStation } from '../helpers/opcuaStation.js';

const TRANSFORMERS = 24;
const IMPORTED = 120;

let he: TestHeadEnd;
let station: OpcuaStation;
let session: ClientSession;

beforeAll(async () => {
  const tx = Array.from({ length: TRANSFORMERS }, (_, i) => `tx${i + 1}`);
  station = await startOpcuaStation({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    registry: {
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, ...tx.map((id) => ({ id, name: id, kind: 'transformer', parentId: 'r1', transformerKva: 250 }))],
      terminals: [{ id: 't1', name: 'pushing terminal', protocol: 'mqtt' }],
      meters: tx.map((areaId, i) => ({ id: `m${i + 1}`, name: `meter ${i + 1}`, terminalId: 't1', address: String(i + 1), areaId })),
    },
    opcua: { enabled: true, port: 0, allowAnonymous: true, areaRefreshMs: 100, maxMeterNodes: 2, buildSliceAreas: 3 },
  });
  ({ he, session } = station);
}, 60_000);

afterAll(async () => {
  await (station as OpcuaStation | undefined)?.stop();
});

async function health(): Promise<HealthReport> {
  const res = await he.send('GET', '/health');
  return res.body as HealthReport;
}

/** The OPC UA component once its build is done with `areas` areas. */
function builtWith(areas: number): Promise<ComponentStatus> {
  return eventually(async () => {
    const opcua = (await health()).components.opcua;
    return opcua?.status === 'ok' && opcua.info?.areas === areas ? opcua : undefined;
  }, 20_000, `the OPC UA address space built with ${areas} areas`);
}

const browseNames = (nodeId: string): Promise<string[]> => station.browseNames(nodeId);

describe('the OPC UA address space built in slices after the server listens', () => {
  it('serves every area with its AggregateLoad once built, and /health says ok, the station too', async () => {
    const opcua = await builtWith(1 + TRANSFORMERS);
    expect(opcua.info).toMatchObject({ of: 1 + TRANSFORMERS, meterNodes: 2, builds: 1 });
    expect((await health()).status).toBe('ok');
    expect(await browseNames('ns=1;s=areas')).toEqual(['r1']);
    const under = await browseNames('ns=1;s=area:r1');
    for (let i = 1; i <= TRANSFORMERS; i++) expect(under).toContain(`tx${i}`);
    const ts = Date.now();
    await he.pipeline.offer(Array.from({ length: TRANSFORMERS }, (_, i) => ({ terminalId: 't1', address: String(i + 1), quantity: 'power.active', value: i + 1, ts })), 'mqtt', 'push');
    const total = (TRANSFORMERS * (TRANSFORMERS + 1)) / 2;
    const load = await eventually(async () => {
      const dv = await session.read({ nodeId: 'ns=1;s=area:r1.AggregateLoad', attributeId: AttributeIds.Value });
      return dv.value.value === total ? total : undefined;
    }, 10_000, `AggregateLoad of r1 at ${total} kW`);
    expect(load).toBe(total);
    const last = await session.read({ nodeId: `ns=1;s=area:tx${TRANSFORMERS}.AggregateLoad`, attributeId: AttributeIds.Value });
    expect(last.value.value).toBe(TRANSFORMERS);
  });

  it('builds the tree once for a bulk import of areas, each announced as its own change', async () => {
    const before = (await builtWith(1 + TRANSFORMERS)).info?.builds;
    const rows = Array.from({ length: IMPORTED }, (_, i) => ({ line: i + 2, seed: { id: `imp${i}`, name: `imported ${i}`, kind: 'transformer' as const, parentId: 'r1', transformerKva: 100 } }));
    const outcome = await he.registry.importBatch({ kind: 'areas', rows });
    expect(outcome.created).toBe(IMPORTED);
    const opcua = await builtWith(1 + TRANSFORMERS + IMPORTED);
    expect(opcua.info?.builds).toBe(Number(before) + 1);
    const under = await browseNames('ns=1;s=area:r1');
    expect(under).toContain('imp0');
    expect(under).toContain(`imp${IMPORTED - 1}`);
    expect(under).toContain('tx1');
    // The meters keep their places (and their AggregateLoad) in the tree built again.
    expect(await browseNames('ns=1;s=area:tx1.Meters')).toEqual(['m1']);
  });
});
