import { describe, expect, it } from 'vitest';
import type { Apdu } from '../../../../protocols/dlms/apduCodec.js';
import type { CosemAttributeDescriptor } from '../../../../protocols/dlms/apdu/descriptors.js';
import type { GetDataResult } from '../../../../protocols/dlms/apdu/get.js';
import { parseProfileSelectiveAccess } from '../../../../protocols/dlms/apdu/selectiveAccess.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { encodeCosemDateTime, epochMsToCosemDateTime } from '../../../../protocols/dlms/axdr/dateTime.js';
import {
  ScalerUnitCache, readClock, readDisconnectState, readObjectList, readProfile, readRegister, readColumnScalers,
  remoteDisconnect, scaleRow, setClock,
} from '../../../../protocols/dlms/client/cosem.js';
import { DataAccessError } from '../../../../protocols/dlms/client/errors.js';
import { formatObis } from '../../../../protocols/dlms/cosem/obis.js';
import { hex, toHex } from '../apdu/helpers.js';
import { connect, invokeOf, type Step } from './scriptedServer.js';

const u = (type: 'unsigned' | 'long-unsigned' | 'double-long-unsigned' | 'integer' | 'enum' | 'long', value: number): DlmsData => ({ type, value });
const struct = (...value: DlmsData[]): DlmsData => ({ type: 'structure', value });
const octets = (b: Uint8Array): DlmsData => ({ type: 'octet-string', value: b });
const ln = (obis: string): DlmsData => octets(Uint8Array.from(obis.split('.').map(Number)));

/** A meter as a table of attribute values; SET stores, ACTION succeeds; both are recorded. */
function meter(table: Map<string, DlmsData>): Step {
  const key = (d: CosemAttributeDescriptor): string => `${d.classId}/${formatObis(d.instanceId)}/${d.attributeId}`;
  const read = (d: CosemAttributeDescriptor): GetDataResult => {
    const v = table.get(key(d));
    return v === undefined ? { ok: false, result: 'object-undefined' } : { ok: true, data: v };
  };
  return (req): Apdu => {
    switch (req.type) {
      case 'get-request-normal': return { type: 'get-response-normal', invoke: req.invoke, result: read(req.attribute) };
      case 'get-request-with-list': return { type: 'get-response-with-list', invoke: req.invoke, results: req.attributes.map((a) => read(a.attribute)) };
      case 'set-request-normal':
        table.set(key(req.attribute), req.value);
        return { type: 'set-response-normal', invoke: req.invoke, result: 'success' };
      case 'action-request-normal': return { type: 'action-response-normal', invoke: req.invoke, response: { result: 'success' } };
      default: throw new Error(`unexpected ${req.type}`);
    }
  };
}

describe('COSEM helpers: registers and clock', () => {
  it('applies the scaler: raw 23012 with scaler −2 is 230.12 V', async () => {
    const table = new Map<string, DlmsData>([
      ['3/1.0.32.7.0.255/2', u('long-unsigned', 23012)],
      ['3/1.0.32.7.0.255/3', struct(u('integer', -2), u('enum', 35))],
    ]);
    const { client, server } = await connect([], {}, undefined, meter(table));

    const reading = await readRegister(client, '1-0:32.7.0');

    expect(reading).toMatchObject({ obis: '1.0.32.7.0.255', value: 230.12, scaler: -2, unit: 35 });
    expect(server.requests[1]?.type).toBe('get-request-with-list');
  });

  it('reads scaler_unit once per meter and OBIS when given a cache', async () => {
    const table = new Map<string, DlmsData>([
      ['3/1.0.1.8.0.255/2', u('double-long-unsigned', 1234567)],
      ['3/1.0.1.8.0.255/3', struct(u('integer', 1), u('enum', 30))],
    ]);
    const { client, server } = await connect([], {}, undefined, meter(table));
    const cache = new ScalerUnitCache(2);

    await readRegister(client, '1.0.1.8.0.255', { cache, meter: 'm1' });
    const again = await readRegister(client, '1.0.1.8.0.255', { cache, meter: 'm1' });

    expect(again.value).toBe(12345670);
    expect(server.requests.slice(1).map((r) => r.type)).toEqual(['get-request-with-list', 'get-request-normal']);
    expect(new ScalerUnitCache(2, cache.entries()).get('m1', '1.0.1.8.0.255')).toEqual({ scaler: 1, unit: 30 });
  });

  it('keeps the scaler cache bounded, dropping the oldest entry', () => {
    const cache = new ScalerUnitCache(2);
    for (const obis of ['a', 'b', 'c']) cache.set('m', obis, { scaler: 0, unit: 255 });
    expect(cache.size).toBe(2);
    expect(cache.get('m', 'a')).toBeUndefined();
  });

  it('throws DataAccessError naming the result when the register is refused', async () => {
    const { client } = await connect([], {}, undefined, meter(new Map()));
    const e = await readRegister(client, '1.0.1.8.0.255').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataAccessError);
    expect((e as DataAccessError).result).toBe('object-undefined');
  });

  it('decodes the clock with its deviation and status', async () => {
    const table = new Map<string, DlmsData>([['8/0.0.1.0.0.255/2', octets(hex(
      '07 E8 03 0F 05', //  2024-03-15, Friday
      '0C 1E 00 00', //     12:30:00.00 local
      'FF C4', //           deviation −60: UTC = local − 1 h
      '02', //              status: doubtful value
    ))]]);
    const { client } = await connect([], {}, undefined, meter(table));

    const clock = await readClock(client);

    expect(clock.epochMs).toBe(Date.parse('2024-03-15T11:30:00Z'));
    expect(clock.deviation).toBe(-60);
    expect(clock.status).toBe(2);
  });

  it('sets the clock as an octet-string of 12', async () => {
    const table = new Map<string, DlmsData>();
    const { client } = await connect([], {}, undefined, meter(table));
    await setClock(client, Date.parse('2024-03-15T11:30:00Z'), -60);
    const written = table.get('8/0.0.1.0.0.255/2');
    expect(written?.type === 'octet-string' && toHex(written.value)).toBe(toHex(hex('07 E8 03 0F 05 0C 1E 00 00 FF C4 00')));
  });
});

describe('COSEM helpers: object list', () => {
  it('parses the association object list with access rights', async () => {
    const attributeItem = (id: number, mode: number, selectors?: number[]): DlmsData =>
      struct(u('integer', id), u('enum', mode), selectors === undefined ? { type: 'null-data' } : { type: 'array', value: selectors.map((s) => u('integer', s)) });
    const list: DlmsData = { type: 'array', value: [
      struct(u('long-unsigned', 8), u('unsigned', 0), ln('0.0.1.0.0.255'), struct(
        { type: 'array', value: [attributeItem(1, 1), attributeItem(2, 3)] },
        { type: 'array', value: [struct(u('integer', 6), { type: 'boolean', value: true })] },
      )),
      struct(u('long-unsigned', 7), u('unsigned', 1), ln('1.0.99.1.0.255'), struct(
        { type: 'array', value: [attributeItem(2, 1, [1, 2])] },
        { type: 'array', value: [struct(u('integer', 1), u('enum', 2))] },
      )),
    ] };
    const { client } = await connect([], {}, undefined, meter(new Map([['15/0.0.40.0.0.255/2', list]])));

    const objects = await readObjectList(client);

    expect(objects).toEqual([
      { classId: 8, version: 0, obis: '0.0.1.0.0.255',
        attributeAccess: [{ attribute: 1, access: 1, selectors: undefined }, { attribute: 2, access: 3, selectors: undefined }],
        methodAccess: [{ method: 6, access: 1 }] },
      { classId: 7, version: 1, obis: '1.0.99.1.0.255',
        attributeAccess: [{ attribute: 2, access: 1, selectors: [1, 2] }], methodAccess: [{ method: 1, access: 2 }] },
    ]);
  });
});

describe('COSEM helpers: profiles', () => {
  const capture = (classId: number, obis: string, attribute: number): DlmsData =>
    struct(u('long-unsigned', classId), ln(obis), u('integer', attribute), u('long-unsigned', 0));
  const at = (iso: string): DlmsData => octets(encodeCosemDateTime(epochMsToCosemDateTime(Date.parse(iso), 0)));
  const t0 = '2024-01-01T00:15:00Z';

  function profileMeter(): Map<string, DlmsData> {
    return new Map<string, DlmsData>([
      ['7/1.0.99.1.0.255/3', { type: 'array', value: [capture(8, '0.0.1.0.0.255', 2), capture(1, '0.0.96.10.1.255', 2), capture(3, '1.0.1.8.0.255', 2)] }],
      ['7/1.0.99.1.0.255/4', u('double-long-unsigned', 900)],
      ['7/1.0.99.1.0.255/2', { type: 'array', value: [
        struct(at(t0), u('unsigned', 0), u('double-long-unsigned', 1000)),
        // A compressed row: null-data clock = previous + capture_period.
        struct({ type: 'null-data' }, u('unsigned', 8), u('double-long-unsigned', 1012)),
        struct(at('2024-01-01T00:45:00Z'), u('unsigned', 0), u('double-long-unsigned', 1030)),
      ] }],
      ['3/1.0.1.8.0.255/3', struct(u('integer', 0), u('enum', 30))],
    ]);
  }

  it('reads capture objects, then the buffer by clock range, and decodes the rows', async () => {
    const { client, server } = await connect([], {}, undefined, meter(profileMeter()));
    const from = Date.parse('2024-01-01T00:00:00Z');

    const profile = await readProfile(client, '1.0.99.1.0.255', { from, to: from + 3_600_000 });

    expect(profile.rows.map((r) => new Date(r.ts).toISOString())).toEqual(['2024-01-01T00:15:00.000Z', '2024-01-01T00:30:00.000Z', '2024-01-01T00:45:00.000Z']);
    expect(profile.rows[1]?.columns.map((c) => [c.classId, c.obis, c.attribute, c.dataIndex, c.value]))
      .toEqual([[8, '0.0.1.0.0.255', 2, 0, { type: 'null-data' }], [1, '0.0.96.10.1.255', 2, 0, u('unsigned', 8)], [3, '1.0.1.8.0.255', 2, 0, u('double-long-unsigned', 1012)]]);
    const bufferRead = server.requests.find((r) => r.type === 'get-request-normal' && r.attribute.attributeId === 2);
    const access = bufferRead?.type === 'get-request-normal' ? bufferRead.access : undefined;
    const range = access === undefined ? undefined : parseProfileSelectiveAccess(access);
    expect(range?.kind === 'range' && formatObis(range.restrictingObject.logicalName)).toBe('0.0.1.0.0.255');
    expect(range?.kind === 'range' && range.from).toEqual(octets(hex('07 E8 01 01 01 00 00 00 00 00 00 FF')));
  });

  it('reads by entry with the known columns and maps register columns to scaled numbers', async () => {
    const { client, server } = await connect([], {}, undefined, meter(profileMeter()));
    const first = await readProfile(client, '1.0.99.1.0.255', { fromEntry: 1, toEntry: 0 });
    const requestsBefore = server.requests.length;

    const again = await readProfile(client, '1.0.99.1.0.255', { fromEntry: 1, toEntry: 0 }, { captureObjects: first.columns });
    const scalers = await readColumnScalers(client, again.columns);
    const scaledRows = again.rows.map((r) => scaleRow(r, scalers));

    const bufferRead = server.requests[requestsBefore];
    expect(bufferRead?.type === 'get-request-normal' && bufferRead.access?.selector).toBe(2);
    expect(scaledRows.map((r) => r.values)).toEqual([1000, 1012, 1030].map((value) => [{ classId: 3, obis: '1.0.1.8.0.255', attribute: 2, value, unit: 30 }]));
  });
});

describe('COSEM helpers: disconnect control and limiter', () => {
  it('disconnects with remote_disconnect(integer 0) and reads the relay state', async () => {
    const table = new Map<string, DlmsData>([
      ['70/0.0.96.3.10.255/2', { type: 'boolean', value: false }],
      ['70/0.0.96.3.10.255/3', u('enum', 0)],
      ['70/0.0.96.3.10.255/4', u('enum', 4)],
    ]);
    const { client, server } = await connect([], {}, undefined, meter(table));

    await remoteDisconnect(client);
    const state = await readDisconnectState(client);

    expect(toHex(server.rawRequests[1]!)).toBe(toHex(hex('C3 01 C1 00 46 00 00 60 03 0A FF 01 01 0F 00')));
    expect(state).toEqual({ outputState: false, controlState: 'disconnected', controlMode: 4 });
  });

  it('throws DataAccessError when the meter refuses to disconnect', async () => {
    const refuse: Step = (req) => ({ type: 'action-response-normal', invoke: invokeOf(req), response: { result: 'read-write-denied' } });
    const { client } = await connect([refuse]);
    await expect(remoteDisconnect(client)).rejects.toMatchObject({ code: 'DLMS_DATA_ACCESS', result: 'read-write-denied' });
  });
});
