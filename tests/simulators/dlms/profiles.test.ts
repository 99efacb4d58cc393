import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { asDateTime, dataToJson } from '../../../protocols/dlms/axdr/describe.js';
import { captureObjectData, profileSelectiveAccess, type CaptureObjectDefinition } from '../../../protocols/dlms/apdu/selectiveAccess.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import { DAY, HOUR, QUARTER, START, dateTimeBound, instantOf, management, method, newMeter, num, read, rows } from './meterFixture.js';

const LOAD = '1.0.99.1.0.255';
const DAILY = '1.0.99.2.0.255';
const MONTHLY = '0.0.98.1.0.255';
const CLOCK: CaptureObjectDefinition = { classId: 8, logicalName: parseObis('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 };
const IMPORT: CaptureObjectDefinition = { classId: 3, logicalName: parseObis('1.0.1.8.0.255'), attributeIndex: 2, dataIndex: 0 };

const range = (from: DlmsData, to: DlmsData, selectedValues: CaptureObjectDefinition[] = [], restrictingObject = CLOCK) =>
  profileSelectiveAccess({ kind: 'range', restrictingObject, from, to, selectedValues });
const entries = (fromEntry: number, toEntry: number, fromSelectedValue = 1, toSelectedValue = 0) =>
  profileSelectiveAccess({ kind: 'entry', fromEntry, toEntry, fromSelectedValue, toSelectedValue });

describe('simulated meter profiles', () => {
  const meter = newMeter();
  const now = START;
  const buffer = rows(read(meter, 7, LOAD, 2, now));

  it('holds a load profile row at every 15-minute boundary of the history, with energy never decreasing', () => {
    expect(buffer).toHaveLength(7 * 96);
    expect(num(read(meter, 7, LOAD, 7, now))).toBe(buffer.length);
    expect(num(read(meter, 7, LOAD, 4, now))).toBe(900);
    expect(buffer.map((r) => instantOf(r[0]))).toEqual(buffer.map((_, i) => START - 7 * DAY + (i + 1) * QUARTER));
    for (const column of [2, 3, 4, 5]) {
      for (let i = 1; i < buffer.length; i++) expect(num(buffer[i]?.[column])).toBeGreaterThanOrEqual(num(buffer[i - 1]?.[column]));
    }
    expect(num(buffer.at(-1)?.[2])).toBeGreaterThan(num(buffer[0]?.[2]));
    // The last column is the quarter's average power: its energy × 4 (registers are whole Wh).
    for (let i = 1; i < buffer.length; i++) {
      const wh = num(buffer[i]?.[2]) - num(buffer[i - 1]?.[2]);
      expect(Math.abs(num(buffer[i]?.[6]) - wh * 4)).toBeLessThanOrEqual(4);
    }
    // The newest row is the registers' value at that instant.
    expect(num(buffer.at(-1)?.[2])).toBe(num(read(meter, 3, '1.0.1.8.0.255', 2, now)));
  });

  it('describes its columns in capture_objects as clock, status, energies and average power', () => {
    const objects = rows(read(meter, 7, LOAD, 3, now)).map((c) => `${num(c[0])}/${dataToJson(c[1] ?? { type: 'null-data' }) as string}/${num(c[2])}`);
    expect(objects).toEqual([
      '8/0000010000ff/2', '1/0000600a01ff/2', '3/0100010800ff/2', '3/0100020800ff/2', '3/0100030800ff/2', '3/0100040800ff/2', '5/0100010400ff/3',
    ]);
  });

  it('yields the same rows for the same instants however often the meter is read', () => {
    const later = START + 2 * HOUR;
    const once = newMeter();
    const often = newMeter();
    for (let t = START; t <= later; t += 7 * 60_000 + 13) often.tick(t);
    expect(dataToJson(read(often, 7, LOAD, 2, later))).toEqual(dataToJson(read(once, 7, LOAD, 2, later)));
    expect(rows(read(once, 7, LOAD, 2, later))).toHaveLength(7 * 96 + 8);
  });

  it('selects by clock range exactly the rows with from ≤ clock ≤ to, both bounds included', () => {
    const from = START - DAY;
    const to = START - DAY + 2 * HOUR;
    const expected = buffer.filter((r) => instantOf(r[0]) >= from && instantOf(r[0]) <= to);
    const got = rows(read(meter, 7, LOAD, 2, now, range(dateTimeBound(from), dateTimeBound(to))));
    expect(got).toHaveLength(9);
    expect(dataToJson({ type: 'array', value: got.map((r) => ({ type: 'structure', value: r })) })).toEqual(
      dataToJson({ type: 'array', value: expected.map((r) => ({ type: 'structure', value: r })) }),
    );
    const inner = rows(read(meter, 7, LOAD, 2, now, range(dateTimeBound(from + 1000), dateTimeBound(to - 1000))));
    expect(inner.map((r) => instantOf(r[0]))).toEqual(expected.slice(1, -1).map((r) => instantOf(r[0])));
    expect(rows(read(meter, 7, LOAD, 2, now, range(dateTimeBound(START + HOUR), dateTimeBound(START + 2 * HOUR))))).toEqual([]);
  });

  it('takes a range bound sent without deviation as the meter’s local time', () => {
    const got = rows(read(meter, 7, LOAD, 2, now, range(dateTimeBound(START - HOUR, true), dateTimeBound(START, true))));
    expect(got.map((r) => instantOf(r[0]))).toEqual([0, 1, 2, 3, 4].map((q) => START - HOUR + q * QUARTER));
  });

  it('returns the selected columns only, in the order asked', () => {
    const got = rows(read(meter, 7, LOAD, 2, now, range(dateTimeBound(START - HOUR), dateTimeBound(START), [IMPORT, CLOCK])));
    expect(got).toHaveLength(5);
    for (const r of got) {
      expect(r).toHaveLength(2);
      const full = buffer.find((b) => instantOf(b[0]) === instantOf(r[1]));
      expect(r[0]).toEqual(full?.[2]);
    }
  });

  it('selects by entry and column numbers counted from 1, 0 meaning the last', () => {
    const got = rows(read(meter, 7, LOAD, 2, now, entries(2, 4, 3, 4)));
    expect(got.map((r) => r.map(num))).toEqual(buffer.slice(1, 4).map((r) => [num(r[2]), num(r[3])]));
    const tail = rows(read(meter, 7, LOAD, 2, now, entries(buffer.length - 1, 0)));
    expect(tail.map((r) => instantOf(r[0]))).toEqual(buffer.slice(-2).map((r) => instantOf(r[0])));
    expect(rows(read(meter, 7, LOAD, 2, now, entries(buffer.length + 1, 0)))).toEqual([]);
    expect(rows(read(meter, 7, LOAD, 2, now, entries(1, buffer.length + 50)))).toHaveLength(buffer.length);
  });

  it('answers selective accesses it cannot serve with a result code', () => {
    const get = (access: Parameters<typeof meter.get>[1]) => meter.get({ classId: 7, instanceId: parseObis(LOAD), attributeId: 2 }, access, management(now));
    expect(get(range(dateTimeBound(START - HOUR), dateTimeBound(START), [], IMPORT))).toEqual({ ok: false, result: 'other-reason' });
    expect(get(range({ type: 'double-long-unsigned', value: 1 }, dateTimeBound(START)))).toEqual({ ok: false, result: 'type-unmatched' });
    const unknownColumn = { ...IMPORT, logicalName: parseObis('1.0.9.8.0.255') };
    expect(get(range(dateTimeBound(START - HOUR), dateTimeBound(START), [unknownColumn]))).toEqual({ ok: false, result: 'other-reason' });
    expect(get(entries(0, 3))).toEqual({ ok: false, result: 'other-reason' });
    expect(get(entries(1, 3, 2, 99))).toEqual({ ok: false, result: 'other-reason' });
    expect(get({ selector: 3, parameters: { type: 'null-data' } })).toEqual({ ok: false, result: 'other-reason' });
    expect(get({ selector: 1, parameters: { type: 'structure', value: [captureObjectData(CLOCK)] } })).toEqual({ ok: false, result: 'other-reason' });
  });

  it('captures the daily profile at local midnight with the load profile’s energy at that instant', () => {
    const daily = rows(read(meter, 7, DAILY, 2, now));
    expect(daily).toHaveLength(7);
    for (const r of daily) {
      const dt = asDateTime(r[0] ?? { type: 'null-data' });
      expect([dt.time.hour, dt.time.minute, dt.time.second, dt.deviation]).toEqual([0, 0, 0, -60]);
      const quarter = buffer.find((b) => instantOf(b[0]) === instantOf(r[0]));
      expect(num(r[1])).toBe(num(quarter?.[2]));
      // T1..T4 add up to the total (each register floors its own Wh).
      const tariffs = [2, 3, 4, 5].reduce((s, i) => s + num(r[i]), 0);
      expect(num(r[1]) - tariffs).toBeGreaterThanOrEqual(0);
      expect(num(r[1]) - tariffs).toBeLessThanOrEqual(4);
    }
    expect(num(read(meter, 7, DAILY, 4, now))).toBe(86_400);
  });

  it('captures the monthly billing profile at the month start with the month’s maximum demand, then restarts the maximum', () => {
    const m = newMeter({ historyDays: 10 });
    const monthly = rows(read(m, 7, MONTHLY, 2, START));
    expect(monthly).toHaveLength(1);
    const row = monthly[0] ?? [];
    // 2024-03-01 00:00 local at UTC+01:00.
    expect(instantOf(row[0])).toBe(Date.UTC(2024, 1, 29, 23, 0));
    const lp = rows(read(m, 7, LOAD, 2, START));
    const februaryPeak = Math.max(...lp.filter((r) => instantOf(r[0]) <= instantOf(row[0])).map((r) => num(r[6])));
    expect(num(row[9])).toBe(februaryPeak);
    expect(instantOf(row[10])).toBeLessThanOrEqual(instantOf(row[0]));
    const marchPeak = Math.max(...lp.filter((r) => instantOf(r[0]) > instantOf(row[0])).map((r) => num(r[6])));
    expect(num(read(m, 4, '1.0.1.6.0.255', 2, START))).toBe(marchPeak);
    expect(instantOf(read(m, 4, '1.0.1.6.0.255', 5, START))).toBeGreaterThan(instantOf(row[0]));
    expect(num(read(m, 7, MONTHLY, 4, START))).toBe(0);
  });

  it('keeps at most profile_entries rows, dropping the oldest', () => {
    const m = newMeter({ historyDays: 12 });
    const lp = rows(read(m, 7, LOAD, 2, START));
    expect(num(read(m, 7, LOAD, 8, START))).toBe(960);
    expect(lp).toHaveLength(960);
    expect(instantOf(lp[0]?.[0])).toBe(START - 959 * QUARTER);
  });

  it('captures a row on the capture method and empties on reset', () => {
    const m = newMeter();
    const t = START + 5 * 60_000;
    expect(m.action(method(7, LOAD, 2), { type: 'integer', value: 0 }, management(t))).toEqual({ result: 'success' });
    const lp = rows(read(m, 7, LOAD, 2, t));
    expect(lp).toHaveLength(7 * 96 + 1);
    expect(instantOf(lp.at(-1)?.[0])).toBe(t);
    expect(m.action(method(7, LOAD, 1), { type: 'integer', value: 0 }, management(t))).toEqual({ result: 'success' });
    expect(num(read(m, 7, LOAD, 7, t))).toBe(0);
    expect(m.action(method(7, LOAD, 1), { type: 'long', value: 0 }, management(t))).toEqual({ result: 'type-unmatched' });
  });
});
