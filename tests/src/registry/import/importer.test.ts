/**
 * The bulk registry import against a real registry on every store driver (embedded SQLite and
 * PostgreSQL): row-numbered rejections, idempotence, updates, batch boundaries, and a station
 * that resolves what was imported.
 */
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { meterId } from '../../../../src/domain/index.js';
import { importRegistryCsv, type RegistryImportOptions } from '../../../../src/registry/import/importer.js';
import { ImportHeaderInvalid, CsvUnterminatedQuote } from '../../../../src/registry/import/errors.js';
import { Registry, type RegistryChange } from '../../../../src/registry/registry.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, registryStoreOf } from '../../../helpers/storeDrivers.js';

const options = { registerMapExists: (n: string) => n === 'map', profileExists: (n: string) => n === 'fast' || n === 'daily' };

const AREAS = [
  'id,name,kind,parentId,transformerKva',
  'r1,Region,region,,',
  's1,Substation,substation,r1,',
  'f1,Feeder,feeder,s1,',
  'tx1,TX 1,transformer,f1,400',
  'tx2,"TX 2, north",transformer,f1,250',
].join('\n');
const TERMINALS = [
  'id,name,protocol,enabled,profiles,modbus.host,modbus.port,modbus.registerMap,dlms.host,dlms.port,dlms.clientSap',
  't1,Terminal 1,modbus,true,fast;daily,10.0.0.1,502,map,,,',
  't2,,dlms,,,,,,10.0.0.2,4059,1',
  'q1,,mqtt,false,,,,,,,',
].join('\r\n');
const meterRows = (n: number, terminal = 't1'): string[] => Array.from({ length: n }, (_, i) => `m${i},Meter ${i},${terminal},${i + 1},1,1,,,tx1,false,,`);
const METER_HEADER = 'id,name,terminalId,address,ctRatio,ptRatio,nominalVoltage,maxCurrent,areaId,protected,customerRef,accountRef';

/** The CSV as a stream of small chunks, so records and quoted fields straddle chunk boundaries. */
const chunked = (text: string, size = 7): Readable => Readable.from(Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size))));

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('registry import on $name', (driver) => {
  const db = connectEachTest(driver);
  const open = (): Promise<Registry> => Registry.open(registryStoreOf(db().connection), options);
  const load = (registry: Registry, text: string, more: Partial<RegistryImportOptions> = {}) => importRegistryCsv(chunked(text), { registry, ...more });
  const fleet = async (): Promise<Registry> => {
    const r = await open();
    await load(r, AREAS);
    await load(r, TERMINALS);
    return r;
  };

  it('imports areas, terminals and meters, telling the kind from the header, and the station resolves them', async () => {
    const r = await open();
    expect(await load(r, AREAS)).toMatchObject({ kind: 'areas', read: 5, created: 5, rejected: 0 });
    expect(await load(r, TERMINALS)).toMatchObject({ kind: 'terminals', read: 3, created: 3, rejected: 0 });
    const meters = await load(r, [METER_HEADER, ...meterRows(3)].join('\n'));
    expect(meters).toMatchObject({ kind: 'meters', read: 3, created: 3, updated: 0, unchanged: 0, rejected: 0, errors: [] });
    expect(r.findArea('tx2')).toMatchObject({ name: 'TX 2, north', parentId: 'f1', transformerKva: 250 });
    expect(r.findTerminal('t1')).toMatchObject({ enabled: true, profiles: ['fast', 'daily'], modbus: { host: '10.0.0.1', port: 502, framing: 'tcp', registerMap: 'map' } });
    expect(r.findTerminal('t2')).toMatchObject({ protocol: 'dlms', name: 't2', dlms: { host: '10.0.0.2', port: 4059, clientSap: 1, framing: 'wrapper' } });
    expect(r.findTerminal('q1')?.enabled).toBe(false);
    expect(r.findMeter('m2')).toMatchObject({ terminalId: 't1', address: '3', areaId: 'tx1', ctRatio: 1 });
    expect(r.meterAt('t1', '1')?.id).toBe('m0');
    expect(r.meterKey(meterId('m0'))).toBeTypeOf('number');
    // What a restarted station loads from the store.
    await db().reconnect();
    const again = await open();
    expect(again.meterAt('t1', '3')?.id).toBe('m2');
    expect(again.findTerminal('t1')?.profiles).toEqual(['fast', 'daily']);
  });

  it('rejects bad rows with their line, column and reason, and imports the good ones around them', async () => {
    const r = await fleet();
    const text = [
      METER_HEADER,
      'm0,,t1,1,1,1,,,tx1,false,,',
      'm1,,t1,2,abc,1,,,tx1,false,,', // line 3: not a number
      'm2,,nope,3,1,1,,,tx1,false,,', // line 4: unknown terminal
      'm3,,t1,1,1,1,,,tx1,false,,', // line 5: the address of m0, a row above in the same batch
      'm4,,t1,5,1,1,,,tx9,false,,', // line 6: unknown area
      'm5,,t1,6,0.5,1,,,,false,,', // line 7: ratio below 1
      'm6,,t1,7,1,1,,,,maybe,,', // line 8: not a boolean
      'm7,,t1,8,1,1', // line 9: too few fields
      'm 8,,t1,9,1,1,,,,false,,', // line 10: not an id
      'm9,,t1,10,1,1,,,,false,,',
    ].join('\n');
    const s = await load(r, text);
    expect(s).toMatchObject({ read: 10, created: 2, rejected: 8, errorsOmitted: 0 });
    expect(s.errors.map((e) => [e.line, e.column])).toEqual([
      [3, 'ctRatio'], [4, 'terminalId'], [5, null], [6, 'areaId'], [7, 'ctRatio'], [8, 'protected'], [9, null], [10, 'id'],
    ]);
    expect(s.errors[0]?.message).toContain('"abc" is not a number');
    expect(s.errors[2]).toMatchObject({ code: 'CONFLICT' });
    expect(s.errors[2]?.message).toContain('taken by meter "m0"');
    expect(r.findMeter('m9')).toBeDefined();
    expect(r.findMeter('m3')).toBeUndefined();
  });

  it('rejects terminal rows naming the endpoint column to blame: a missing port, an unknown register map or profile, a password', async () => {
    const r = await open();
    const s = await load(r, [
      'id,protocol,profiles,modbus.host,modbus.port,modbus.registerMap,dlms.host,dlms.port,dlms.password',
      't1,modbus,,10.0.0.1,,map,,,',
      't2,modbus,,10.0.0.1,502,other,,,',
      't3,mqtt,slow,,,,,,',
      't4,dlms,,,,,10.0.0.4,4059,secret',
      't5,zigbee,,,,,,,',
      't6,mqtt,,,,,,,',
    ].join('\n'));
    expect(s.errors.map((e) => [e.line, e.column])).toEqual([[2, 'modbus.port'], [3, 'modbus.registerMap'], [4, 'profiles'], [5, 'dlms.password'], [6, 'protocol']]);
    expect(s.errors[3]?.message).toContain('key store');
    expect(s.created).toBe(1);
  });

  it('rejects an area whose parent comes later in the file, and one under a parent of a lower level', async () => {
    const r = await open();
    const s = await load(r, ['id,name,kind,parentId', 'f1,F,feeder,s1', 's1,S,substation,', 'x,X,region,s1'].join('\n'));
    expect(s.errors.map((e) => [e.line, e.column])).toEqual([[2, 'parentId'], [4, 'parentId']]);
    expect(s.errors[0]?.message).toContain('parent area "s1" does not exist');
    expect(s.created).toBe(1);
  });

  it('is idempotent: the same file again writes nothing, announces nothing and reports every row unchanged', async () => {
    const r = await fleet();
    const text = [METER_HEADER, ...meterRows(20)].join('\n');
    await load(r, text, { batchRows: 7 });
    const changes: RegistryChange[] = [];
    r.onChange((c) => changes.push(c));
    expect(await load(r, text, { batchRows: 7 })).toMatchObject({ read: 20, created: 0, updated: 0, unchanged: 20, rejected: 0 });
    expect(await load(r, AREAS)).toMatchObject({ unchanged: 5, created: 0, updated: 0 });
    expect(await load(r, TERMINALS)).toMatchObject({ unchanged: 3, created: 0, updated: 0 });
    expect(changes).toEqual([]);
  });

  it('updates a changed row, keeping the meter key, and announces only what changed', async () => {
    const r = await fleet();
    await load(r, [METER_HEADER, ...meterRows(3)].join('\n'));
    const key = r.meterKey(meterId('m1'));
    const changes: RegistryChange[] = [];
    r.onChange((c) => changes.push(c));
    const s = await load(r, [METER_HEADER, 'm0,Meter 0,t1,1,1,1,,,tx1,false,,', 'm1,Renamed,t1,2,40,1,230,60,tx2,true,C-1,A-1'].join('\n'));
    expect(s).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
    expect(r.findMeter('m1')).toMatchObject({ name: 'Renamed', ctRatio: 40, nominalVoltage: 230, maxCurrent: 60, areaId: 'tx2', protected: true, customerRef: 'C-1', accountRef: 'A-1' });
    expect(r.meterKey(meterId('m1'))).toBe(key);
    expect(changes).toEqual([{ kind: 'meter', id: 'm1', op: 'upsert' }]);
  });

  it('cuts batches where a row needs the one before it: the same id twice, and an address freed by a meter moving in the file', async () => {
    const r = await fleet();
    await load(r, [METER_HEADER, 'a,,t1,1,1,1,,,,false,,', 'b,,t1,2,1,1,,,,false,,'].join('\n'));
    // a moves to 3, b takes a's old address 1, then b is given again: all in one batch's reach.
    const s = await load(r, [METER_HEADER, 'a,,t1,3,1,1,,,,false,,', 'b,,t1,1,1,1,,,,false,,', 'b,Bee,t1,1,1,1,,,,false,,'].join('\n'), { batchRows: 100 });
    expect(s).toMatchObject({ created: 0, updated: 3, rejected: 0 });
    expect(r.meterAt('t1', '1')).toMatchObject({ id: 'b', name: 'Bee' });
    expect(r.meterAt('t1', '3')?.id).toBe('a');
    expect(r.meterAt('t1', '2')).toBeUndefined();
  });

  it('imports across many batches, a batch per store transaction, and counts rows read on the progress listener', async () => {
    const r = await fleet();
    const committed: number[] = [];
    const s = await load(r, [METER_HEADER, ...meterRows(23)].join('\n'), { batchRows: 5, listener: { batchCommitted: (_t, read) => committed.push(read) } });
    expect(s).toMatchObject({ read: 23, created: 23 });
    expect(committed).toEqual([5, 10, 15, 20, 23]);
    expect(r.metersOfTerminal('t1')).toHaveLength(23);
  });

  it('checks a dry run as an import and changes nothing', async () => {
    const r = await fleet();
    const s = await load(r, [METER_HEADER, ...meterRows(3), 'bad,,t9,1,1,1,,,,false,,'].join('\n'), { dryRun: true });
    expect(s).toMatchObject({ dryRun: true, created: 3, rejected: 1 });
    expect(r.findMeter('m0')).toBeUndefined();
  });

  it('checks a dry run of areas against the parents above them, even past a batch', async () => {
    const r = await open();
    const s = await load(r, AREAS, { dryRun: true, batchRows: 2 });
    expect(s).toMatchObject({ created: 5, rejected: 0 });
    expect(r.listAreas()).toEqual([]);
  });

  it('keeps the first rejections and counts the rest', async () => {
    const r = await fleet();
    const bad = Array.from({ length: 30 }, (_, i) => `x${i},,t9,${i},1,1,,,,false,,`);
    const s = await load(r, [METER_HEADER, ...bad].join('\n'), { maxErrors: 10, batchRows: 4 });
    expect(s).toMatchObject({ rejected: 30, errorsOmitted: 20 });
    expect(s.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('keeps the rejections of the lowest lines when a batch rejects a row above type errors found earlier', async () => {
    const r = await fleet();
    // Line 2 is refused by the registry when its batch is checked, after lines 3 and 4 failed to parse.
    const rows = ['x0,,t9,1,1,1,,,,false,,', 'x1,,t1,2,many,1,,,,false,,', 'x2,,t1,3,many,1,,,,false,,'];
    const s = await load(r, [METER_HEADER, ...rows].join('\n'), { maxErrors: 2 });
    expect(s).toMatchObject({ rejected: 3, errorsOmitted: 1 });
    expect(s.errors.map((e) => e.line)).toEqual([2, 3]);
  });

  it('refuses a header with an unknown column, and a quote left open after importing the rows before it', async () => {
    const r = await fleet();
    await expect(load(r, 'id,name,terminalId,colour\nm1,,t1,red')).rejects.toBeInstanceOf(ImportHeaderInvalid);
    const broken = [METER_HEADER, 'm0,,t1,1,1,1,,,,false,,', 'm1,"open,t1,2,1,1,,,,false,,'].join('\n');
    await expect(load(r, broken)).rejects.toBeInstanceOf(CsvUnterminatedQuote);
    expect(r.findMeter('m0')).toBeDefined();
  });
});
