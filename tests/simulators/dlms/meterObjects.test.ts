import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { asArray, asStructure } from '../../../protocols/dlms/axdr/describe.js';
import { formatObis } from '../../../protocols/dlms/cosem/obis.js';
import type { AccessContext } from '../../../protocols/dlms/server/objectModel.js';
import { DEVIATION, START, instantOf, management, method, newMeter, num, publicClient, read, ref } from './meterFixture.js';

const T = START + 5 * 60_000;

/** The Blue Book type of each attribute the simulator serves, by class id and attribute index. */
const EXPECTED_TYPES: Record<number, Record<number, string>> = {
  3: { 2: 'double-long-unsigned|long-unsigned|long', 3: 'structure' },
  4: { 2: 'double-long-unsigned', 3: 'structure', 4: 'unsigned', 5: 'date-time' },
  5: { 2: 'double-long-unsigned', 3: 'double-long-unsigned', 4: 'structure', 5: 'unsigned', 6: 'date-time', 7: 'date-time', 8: 'double-long-unsigned', 9: 'long-unsigned' },
  7: { 2: 'array', 3: 'array', 4: 'double-long-unsigned', 5: 'enum', 6: 'structure', 7: 'double-long-unsigned', 8: 'double-long-unsigned' },
  8: { 2: 'date-time', 3: 'long', 4: 'unsigned', 5: 'date-time', 6: 'date-time', 7: 'integer', 8: 'boolean', 9: 'enum' },
  15: { 2: 'array', 3: 'structure', 4: 'structure', 6: 'structure', 8: 'enum' },
  18: { 2: 'double-long-unsigned', 3: 'bit-string', 4: 'double-long-unsigned', 5: 'boolean', 6: 'enum', 7: 'array' },
  22: { 2: 'structure', 3: 'enum', 4: 'array' },
  40: { 2: 'array', 3: 'structure', 4: 'array', 5: 'long-unsigned', 6: 'unsigned', 7: 'long-unsigned' },
  70: { 2: 'boolean', 3: 'enum', 4: 'enum' },
  71: { 2: 'structure', 3: 'double-long-unsigned', 4: 'double-long-unsigned', 5: 'double-long-unsigned', 6: 'double-long-unsigned', 7: 'double-long-unsigned', 8: 'structure', 9: 'array', 10: 'boolean', 11: 'structure' },
};
const DATA_TYPES: Record<string, string> = {
  '0.0.42.0.0.255': 'octet-string', '0.0.96.1.0.255': 'visible-string', '0.0.96.1.1.255': 'visible-string', '0.0.96.1.2.255': 'visible-string',
  // The default firmware identifier "GRD-FW-1.0.0" is 12 octets, which typeOf below takes for a date-time.
  '0.0.96.10.1.255': 'unsigned', '0.0.96.11.0.255': 'unsigned', '1.0.0.2.0.255': 'octet-string|date-time', '1.0.0.2.8.255': 'octet-string',
};

/** 'date-time' here means the octet-string of 12 that COSEM attributes carry it in. */
function typeOf(d: DlmsData): string {
  return d.type === 'octet-string' && d.value.length === 12 ? 'date-time' : d.type;
}

interface ListedObject { classId: number; version: number; obis: string; attributes: Map<number, number>; methods: Map<number, number> }

function objectList(meter: ReturnType<typeof newMeter>, ctx: AccessContext): ListedObject[] {
  const r = meter.get(ref(15, '0.0.40.0.0.255', 2), undefined, ctx);
  if (!r.ok) expect.fail(r.result);
  return asArray(r.data).map((e) => {
    const [classId, version, ln, rights] = asStructure(e, 4);
    const [attributes, methods] = asStructure(rights ?? { type: 'null-data' }, 2);
    const modes = (items: DlmsData) => new Map(asArray(items).map((i) => {
      const [id, mode] = asStructure(i);
      return [num(id), num(mode)] as const;
    }));
    return {
      classId: num(classId), version: num(version), obis: formatObis(ln?.type === 'octet-string' ? ln.value : new Uint8Array()),
      attributes: modes(attributes ?? { type: 'array', value: [] }), methods: modes(methods ?? { type: 'array', value: [] }),
    };
  });
}

describe('simulated DLMS meter object model', () => {
  const meter = newMeter();

  it('lists every object of the meter once, with its class and version', () => {
    const listed = objectList(meter, management(T));
    const names = listed.map((o) => `${o.classId}/${o.version}/${o.obis}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([
      '1/0/0.0.42.0.0.255', '1/0/0.0.96.1.0.255', '1/0/0.0.96.1.1.255', '1/0/0.0.96.1.2.255', '1/0/0.0.96.10.1.255', '1/0/0.0.96.11.0.255',
      '1/0/1.0.0.2.0.255', '1/0/1.0.0.2.8.255', '18/0/0.0.44.0.0.255', '22/0/0.0.15.0.2.255',
      ...['1.0.1.8.0', '1.0.1.8.1', '1.0.1.8.2', '1.0.1.8.3', '1.0.1.8.4', '1.0.2.8.0', '1.0.3.8.0', '1.0.4.8.0',
        '1.0.1.7.0', '1.0.21.7.0', '1.0.41.7.0', '1.0.61.7.0', '1.0.3.7.0', '1.0.32.7.0', '1.0.52.7.0', '1.0.72.7.0',
        '1.0.31.7.0', '1.0.51.7.0', '1.0.71.7.0', '1.0.13.7.0', '1.0.14.7.0'].map((o) => `3/0/${o}.255`),
      '4/0/1.0.1.6.0.255', '5/0/1.0.1.4.0.255',
      '7/1/0.0.98.1.0.255', '7/1/1.0.99.1.0.255', '7/1/1.0.99.2.0.255',
      '8/0/0.0.1.0.0.255', '15/1/0.0.40.0.0.255', '40/0/0.0.25.9.0.255', '40/0/0.4.25.9.0.255', '70/0/0.0.96.3.10.255', '71/0/0.0.17.0.0.255',
    ].sort());
  });

  it('serves every attribute the object list marks readable, with the Blue Book type, and denies the others', () => {
    for (const o of objectList(meter, management(T))) {
      for (const [id, mode] of o.attributes) {
        const r = meter.get(ref(o.classId, o.obis, id), undefined, management(T));
        if (mode === 0 || mode === 2) {
          expect(r, `${o.obis}:${id}`).toEqual({ ok: false, result: 'read-write-denied' });
          continue;
        }
        if (!r.ok) expect.fail(`${o.obis}:${id} answered ${r.result}`);
        const expected = id === 1 ? 'octet-string' : o.classId === 1 ? DATA_TYPES[o.obis] : EXPECTED_TYPES[o.classId]?.[id];
        expect(expected, `${o.obis}:${id} has an expected type`).toBeDefined();
        expect(expected?.split('|'), `${o.obis}:${id}`).toContain(id === 1 ? r.data.type : typeOf(r.data));
        if (id === 1) expect(r.data).toEqual({ type: 'octet-string', value: ref(1, o.obis, 1).instanceId });
      }
    }
  });

  it('shows a public client writable attributes as read-only and no methods, and refuses its writes and actions', () => {
    const pub = objectList(meter, publicClient(T)).find((o) => o.obis === '0.0.1.0.0.255');
    const mgmt = objectList(meter, management(T)).find((o) => o.obis === '0.0.1.0.0.255');
    expect(pub?.attributes.get(2)).toBe(1);
    expect(mgmt?.attributes.get(2)).toBe(3);
    expect(pub?.methods.get(6)).toBe(0);
    expect(mgmt?.methods.get(6)).toBe(1);
    expect(mgmt?.methods.get(4)).toBe(0);
    const time = read(meter, 8, '0.0.1.0.0.255', 2, T);
    expect(meter.set(ref(8, '0.0.1.0.0.255', 2), time, publicClient(T))).toBe('read-write-denied');
    expect(meter.action(method(70, '0.0.96.3.10.255', 1), { type: 'integer', value: 0 }, publicClient(T))).toEqual({ result: 'read-write-denied' });
    expect(read(meter, 70, '0.0.96.3.10.255', 2, T)).toEqual({ type: 'boolean', value: true });
  });

  it('gives values that read plausibly through their scaler_unit', () => {
    const scaled = (obis: string): { value: number; unit: number } => {
      const [scaler, unit] = asStructure(read(meter, 3, obis, 3, T), 2);
      return { value: num(read(meter, 3, obis, 2, T)) * 10 ** num(scaler), unit: num(unit) };
    };
    for (const p of ['32', '52', '72']) expect(scaled(`1.0.${p}.7.0.255`)).toMatchObject({ unit: 35, value: expect.closeTo(230, -1.4) as number });
    expect(scaled('1.0.14.7.0.255')).toMatchObject({ unit: 44, value: expect.closeTo(50, 0) as number });
    const pf = scaled('1.0.13.7.0.255');
    expect(pf.value).toBeGreaterThan(0.9);
    expect(pf.value).toBeLessThanOrEqual(1);
    const total = scaled('1.0.1.7.0.255');
    expect(total.unit).toBe(27);
    const phases = ['21', '41', '61'].map((p) => scaled(`1.0.${p}.7.0.255`).value);
    expect(phases.reduce((a, b) => a + b)).toBeCloseTo(total.value, -1);
    // I = P / (U × pf) on every phase, within the registers' resolution.
    ['1', '2', '3'].forEach((_, i) => {
      const u = scaled(`1.0.${['32', '52', '72'][i]}.7.0.255`).value;
      const current = scaled(`1.0.${['31', '51', '71'][i]}.7.0.255`);
      expect(current.unit).toBe(33);
      expect(current.value).toBeCloseTo((phases[i] ?? 0) / (u * pf.value), 1);
    });
    const energy = scaled('1.0.1.8.0.255');
    expect(energy.unit).toBe(30);
    const tariffs = [1, 2, 3, 4].map((t) => scaled(`1.0.1.8.${t}.255`).value);
    expect(energy.value - tariffs.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(0);
    expect(energy.value - tariffs.reduce((a, b) => a + b)).toBeLessThanOrEqual(4);
    expect(scaled('1.0.3.8.0.255').unit).toBe(32);
    const [demandScaler, demandUnit] = asStructure(read(meter, 5, '1.0.1.4.0.255', 4, T), 2);
    expect([num(demandScaler), num(demandUnit)]).toEqual([0, 27]);
  });

  it('names the device and reads the clock at the request instant with its deviation', () => {
    expect(read(meter, 1, '0.0.96.1.0.255', 2, T)).toEqual({ type: 'visible-string', value: '00012345' });
    expect(new TextDecoder().decode((read(meter, 1, '0.0.42.0.0.255', 2, T) as { value: Uint8Array }).value)).toBe('GRD00012345');
    const time = read(meter, 8, '0.0.1.0.0.255', 2, T);
    expect(instantOf(time)).toBe(T);
    expect(num(read(meter, 8, '0.0.1.0.0.255', 3, T))).toBe(DEVIATION);
  });

  it('answers unknown objects, wrong classes, unknown attributes and methods with their result codes', () => {
    const ctx = management(T);
    expect(meter.get(ref(3, '1.0.99.8.0.255', 2), undefined, ctx)).toEqual({ ok: false, result: 'object-undefined' });
    expect(meter.get(ref(4, '1.0.1.8.0.255', 2), undefined, ctx)).toEqual({ ok: false, result: 'object-class-inconsistent' });
    expect(meter.get(ref(3, '1.0.1.8.0.255', 4), undefined, ctx)).toEqual({ ok: false, result: 'object-undefined' });
    expect(meter.get({ classId: 3, instanceId: new Uint8Array(5), attributeId: 2 }, undefined, ctx)).toEqual({ ok: false, result: 'object-undefined' });
    expect(meter.get(ref(3, '1.0.1.8.0.255', 2), { selector: 1, parameters: { type: 'null-data' } }, ctx)).toEqual({ ok: false, result: 'other-reason' });
    expect(meter.action(method(3, '1.0.99.8.0.255', 1), undefined, ctx)).toEqual({ result: 'object-undefined' });
    expect(meter.action(method(7, '0.0.96.3.10.255', 1), undefined, ctx)).toEqual({ result: 'object-class-inconsistent' });
    expect(meter.action(method(70, '0.0.96.3.10.255', 3), undefined, ctx)).toEqual({ result: 'object-undefined' });
    expect(meter.action(method(8, '0.0.1.0.0.255', 4), undefined, ctx)).toEqual({ result: 'read-write-denied' });
  });

  it('refuses writes to read-only attributes and values of the wrong type', () => {
    const ctx = management(T);
    expect(meter.set(ref(3, '1.0.1.8.0.255', 2), { type: 'double-long-unsigned', value: 0 }, ctx)).toBe('read-write-denied');
    expect(meter.set(ref(3, '1.0.1.8.0.255', 1), { type: 'octet-string', value: new Uint8Array(6) }, ctx)).toBe('read-write-denied');
    expect(meter.set(ref(70, '0.0.96.3.10.255', 3), { type: 'enum', value: 0 }, ctx)).toBe('read-write-denied');
    expect(meter.set(ref(8, '0.0.1.0.0.255', 2), { type: 'long', value: 5 }, ctx)).toBe('type-unmatched');
    expect(meter.set(ref(8, '0.0.1.0.0.255', 3), { type: 'integer', value: 5 }, ctx)).toBe('type-unmatched');
    expect(meter.set(ref(70, '0.0.96.3.10.255', 4), { type: 'unsigned', value: 1 }, ctx)).toBe('type-unmatched');
    expect(meter.set(ref(70, '0.0.96.3.10.255', 4), { type: 'enum', value: 9 }, ctx)).toBe('other-reason');
    expect(meter.set(ref(71, '0.0.17.0.0.255', 4), { type: 'long-unsigned', value: 5 }, ctx)).toBe('type-unmatched');
    expect(meter.set(ref(40, '0.0.25.9.0.255', 6), { type: 'long-unsigned', value: 5 }, ctx)).toBe('type-unmatched');
    expect(meter.set(ref(40, '0.0.25.9.0.255', 6), { type: 'unsigned', value: 5 }, ctx)).toBe('success');
    expect(read(meter, 40, '0.0.25.9.0.255', 6, T)).toEqual({ type: 'unsigned', value: 5 });
  });

  it('checks and changes the low level security secret', () => {
    const m = newMeter({ password: 'secret12' });
    expect(m.authenticate('secret12')).toBe(true);
    expect(m.authenticate('secret13')).toBe(false);
    expect(m.get(ref(15, '0.0.40.0.0.255', 7), undefined, management(T))).toEqual({ ok: false, result: 'read-write-denied' });
    expect(m.set(ref(15, '0.0.40.0.0.255', 7), { type: 'octet-string', value: new TextEncoder().encode('n3w') }, management(T))).toBe('success');
    expect(m.authenticate(new TextEncoder().encode('n3w'))).toBe(true);
    expect(m.authenticate('secret12')).toBe(false);
    const [client, server] = asStructure(read(m, 15, '0.0.40.0.0.255', 3, T), 2);
    expect([num(client), num(server)]).toEqual([1, 1]);
  });
});
