/**
 * The simulated meter's firmware objects through its COSEM object model: Image transfer IC 18
 * 0.0.44.0.0.255 as the Blue Book encodes it, the image activation Single action schedule IC 22
 * 0.0.15.0.2.255 running on the meter's own clock, the active firmware and nameplate objects;
 * then the same over a real socket with the head-end's DLMS client, and the connection the
 * meter drops when a chosen block arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { encodeCosemDate, encodeCosemTime, epochMsToCosemDateTime } from '../../../protocols/dlms/axdr/dateTime.js';
import { DlmsClient } from '../../../protocols/dlms/client/client.js';
import { openDlmsTransport } from '../../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../../simulators/dlms/server.js';
import { DEVIATION, HOUR, MIN, START, management, method, newMeter, num, publicClient, read, ref } from './meterFixture.js';

const IT = '0.0.44.0.0.255';
const SAS = '0.0.15.0.2.255';
const octets = (value: Uint8Array): DlmsData => ({ type: 'octet-string', value });
const u32 = (value: number): DlmsData => ({ type: 'double-long-unsigned', value });
const zero: DlmsData = { type: 'integer', value: 0 };
const ascii = (s: string) => new TextEncoder().encode(s);
const image = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 13 + 5) & 0xff);
const initiate = (identifier: string, size: number): DlmsData => ({ type: 'structure', value: [octets(ascii(identifier)), u32(size)] });
const block = (n: number, value: Uint8Array): DlmsData => ({ type: 'structure', value: [u32(n), octets(value)] });
const textOf = (d: DlmsData) => (d.type === 'octet-string' ? new TextDecoder().decode(d.value) : d.type === 'visible-string' ? d.value : `(${d.type})`);

type Meter = ReturnType<typeof newMeter>;
const act = (m: Meter, methodId: number, p: DlmsData, t: number) => m.action(method(18, IT, methodId), p, management(t)).result;

/** Initiates and sends the whole image at `t`; returns its block size. */
function transfer(m: Meter, identifier: string, img: Uint8Array, t: number): number {
  const bs = num(read(m, 18, IT, 2, t));
  expect(act(m, 1, initiate(identifier, img.length), t)).toBe('success');
  for (let n = 0; n * bs < img.length; n++) expect(act(m, 2, block(n, img.subarray(n * bs, (n + 1) * bs)), t)).toBe('success');
  return bs;
}

/** execution_time for local time `ms` of a meter at DEVIATION: {time octet-string(4), date octet-string(5)}. */
function executionTime(ms: number): DlmsData {
  const dt = epochMsToCosemDateTime(ms, DEVIATION);
  return { type: 'array', value: [{ type: 'structure', value: [octets(encodeCosemTime(dt.time)), octets(encodeCosemDate(dt.date))] }] };
}

describe('simulated meter firmware objects', () => {
  it('serves IC 18 with the defaults: block size 192, enabled, not initiated, nothing to activate', () => {
    const m = newMeter();
    const t = START + MIN;
    expect(read(m, 18, IT, 2, t)).toEqual(u32(192));
    expect(read(m, 18, IT, 3, t)).toEqual({ type: 'bit-string', value: { bits: 0, bytes: new Uint8Array(0) } });
    expect(read(m, 18, IT, 4, t)).toEqual(u32(0));
    expect(read(m, 18, IT, 5, t)).toEqual({ type: 'boolean', value: true });
    expect(read(m, 18, IT, 6, t)).toEqual({ type: 'enum', value: 0 });
    expect(read(m, 18, IT, 7, t)).toEqual({ type: 'array', value: [] });
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, t))).toBe('GRD-FW-1.0.0');
    expect(read(m, 1, '1.0.0.2.8.255', 2, t)).toMatchObject({ type: 'octet-string' });
    expect(read(m, 1, '0.0.96.1.1.255', 2, t)).toEqual({ type: 'visible-string', value: 'GRD-SIM-3P' });
    expect(read(m, 1, '0.0.96.1.2.255', 2, t)).toEqual({ type: 'visible-string', value: 'HW-1.0' });
  });

  it('takes the nameplate and firmware version from the options, and leaves IC 18 and IC 22 out with imageTransfer: false', () => {
    const m = newMeter({ model: 'X-9', hardwareVersion: 'HW-7', firmware: { imageTransfer: false } });
    const t = START + MIN;
    expect(read(m, 1, '0.0.96.1.1.255', 2, t)).toEqual({ type: 'visible-string', value: 'X-9' });
    expect(read(m, 1, '0.0.96.1.2.255', 2, t)).toEqual({ type: 'visible-string', value: 'HW-7' });
    expect(m.get(ref(18, IT, 2), undefined, management(t))).toEqual({ ok: false, result: 'object-undefined' });
    expect(m.get(ref(22, SAS, 4), undefined, management(t))).toEqual({ ok: false, result: 'object-undefined' });
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, t))).toBe('GRD-FW-1.0.0');
    expect(textOf(read(newMeter({ firmware: { version: 'V-3' } }), 1, '1.0.0.2.0.255', 2, t))).toBe('V-3');
  });

  it('transfers, verifies and activates through the methods, polled by image_transfer_status', () => {
    const m = newMeter({ firmware: { verifyMs: 1_000, activateMs: 2_000 } });
    const img = image(1000);
    const t = START + MIN;
    expect(transfer(m, 'GRD-FW-2.0.0', img, t)).toBe(192);
    expect(read(m, 18, IT, 4, t)).toEqual(u32(6));
    expect(read(m, 18, IT, 3, t)).toEqual({ type: 'bit-string', value: { bits: 6, bytes: Uint8Array.of(0b1111_1100) } });
    expect(act(m, 3, zero, t)).toBe('temporary-failure');
    expect(read(m, 18, IT, 6, t + 999)).toEqual({ type: 'enum', value: 2 });
    expect(read(m, 18, IT, 6, t + 1_000)).toEqual({ type: 'enum', value: 3 });
    const info = read(m, 18, IT, 7, t + 1_000);
    expect(info).toMatchObject({ type: 'array', value: [{ type: 'structure', value: [u32(1000), octets(ascii('GRD-FW-2.0.0')), { type: 'octet-string' }] }] });
    expect(act(m, 4, zero, t + 1_000)).toBe('temporary-failure');
    expect(read(m, 18, IT, 6, t + 2_999)).toEqual({ type: 'enum', value: 5 });
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, t + 2_999))).toBe('GRD-FW-1.0.0');
    expect(read(m, 18, IT, 6, t + 3_000)).toEqual({ type: 'enum', value: 6 });
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, t + 3_000))).toBe('GRD-FW-2.0.0');
    expect(m.firmware.transfer.holdsImage).toBe(false);
  });

  it('answers type-unmatched to malformed parameters and read-write-denied to a public client', () => {
    const m = newMeter();
    const t = START + MIN;
    expect(act(m, 1, u32(5), t)).toBe('type-unmatched');
    expect(act(m, 2, initiate('X', 1), t)).toBe('type-unmatched');
    expect(m.action(method(18, IT, 1), initiate('X', 10), publicClient(t)).result).toBe('read-write-denied');
    expect(m.set(ref(18, IT, 5), { type: 'boolean', value: false }, management(t))).toBe('success');
    expect(act(m, 1, initiate('X', 10), t)).toBe('other-reason');
  });

  it('activates at the execution_time written to IC 22, when the meter’s own clock passes it', () => {
    // The meter's clock runs 10 min ahead: the schedule follows it, not true time.
    const m = newMeter({ firmware: { verifyMs: 0, activateMs: 0 }, clockOffsetSeconds: 600 });
    const t = START + MIN;
    expect(read(m, 22, SAS, 2, t)).toEqual({ type: 'structure', value: [octets(Uint8Array.of(0, 0, 10, 0, 107, 255)), { type: 'long-unsigned', value: 1 }] });
    expect(read(m, 22, SAS, 3, t)).toEqual({ type: 'enum', value: 1 });
    transfer(m, 'GRD-FW-2.0.0', image(300), t);
    expect(act(m, 3, zero, t)).toBe('success');
    const at = START + 60 * MIN; // as the meter's clock shows it
    expect(m.set(ref(22, SAS, 4), executionTime(at), management(t))).toBe('success');
    expect(read(m, 22, SAS, 4, t)).toEqual(executionTime(at));
    m.tick(at - 10 * MIN - 1_000);
    expect(read(m, 18, IT, 6, at - 10 * MIN - 1_000)).toEqual({ type: 'enum', value: 3 });
    m.tick(at - 10 * MIN);
    expect(read(m, 18, IT, 6, at - 10 * MIN)).toEqual({ type: 'enum', value: 6 });
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, at - 10 * MIN))).toBe('GRD-FW-2.0.0');
  });

  it('finishes a scheduled activation by itself: the active identifier changes with nobody polling image_transfer_status', () => {
    const m = newMeter({ firmware: { verifyMs: 0, activateMs: 300 } });
    const t = START + MIN;
    transfer(m, 'GRD-FW-2.0.0', image(300), t);
    expect(act(m, 3, zero, t)).toBe('success');
    const at = START + 30 * MIN;
    expect(m.set(ref(22, SAS, 4), executionTime(at), management(t))).toBe('success');
    m.tick(at);
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, at + 299))).toBe('GRD-FW-1.0.0');
    m.tick(at + 300);
    expect(textOf(read(m, 1, '1.0.0.2.0.255', 2, at + 300))).toBe('GRD-FW-2.0.0');
  });

  it('refuses an execution_time with wildcards or several entries, and clears the schedule with an empty array', () => {
    const m = newMeter({ firmware: { verifyMs: 0, activateMs: 0 } });
    const t = START + MIN;
    const wild = executionTime(START + HOUR);
    if (wild.type !== 'array' || wild.value[0]?.type !== 'structure') throw new Error('bad fixture');
    const [time] = wild.value[0].value;
    const anyDay: DlmsData = { type: 'array', value: [{ type: 'structure', value: [time ?? zero, octets(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff))] }] };
    expect(m.set(ref(22, SAS, 4), anyDay, management(t))).toBe('other-reason');
    expect(m.set(ref(22, SAS, 4), { type: 'array', value: [...wild.value, ...wild.value] }, management(t))).toBe('other-reason');
    expect(m.set(ref(22, SAS, 4), u32(1), management(t))).toBe('type-unmatched');
    transfer(m, 'GRD-FW-2.0.0', image(10), t);
    act(m, 3, zero, t);
    expect(m.set(ref(22, SAS, 4), wild, management(t))).toBe('success');
    expect(m.set(ref(22, SAS, 4), { type: 'array', value: [] }, management(t))).toBe('success');
    m.tick(START + 2 * HOUR);
    expect(read(m, 18, IT, 6, START + 2 * HOUR)).toEqual({ type: 'enum', value: 3 });
  });
});

describe.each(['wrapper', 'hdlc'] as const)('simulated meter firmware over TCP (%s) with the DLMS client', (framing) => {
  const sim = new DlmsMeterSimulator({ framing, seed: 18, serialNumber: '00000018', historyDays: 0, firmware: { blockSize: 64 } });
  beforeAll(async () => { await sim.start(); });
  afterAll(async () => { await sim.stop(); });

  const connect = async () => {
    const transport = await openDlmsTransport({ host: '127.0.0.1', port: sim.port, framing, clientSap: MANAGEMENT_CLIENT, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
    const client = new DlmsClient(transport, { clientSap: MANAGEMENT_CLIENT, timeoutMs: 2_000, auth: { mechanism: 'low', password: '12345678' } });
    await client.associate();
    return client;
  };
  const attr = (attribute: number) => ({ classId: 18, obis: IT, attribute });
  const m = (methodId: number) => ({ classId: 18, obis: IT, method: methodId });

  it('reads the IC 18 attributes, initiates and sends blocks; the meter holds them', async () => {
    const client = await connect();
    try {
      const items = await client.getList([2, 4, 5, 6].map(attr));
      expect(items).toEqual([{ ok: true, value: u32(64) }, { ok: true, value: u32(0) }, { ok: true, value: { type: 'boolean', value: true } }, { ok: true, value: { type: 'enum', value: 0 } }]);
      const img = image(200);
      expect(await client.action(m(1), initiate('GRD-FW-2.0.0', 200))).toEqual({ ok: true });
      expect(await client.action(m(2), block(0, img.subarray(0, 64)))).toEqual({ ok: true });
      expect(await client.action(m(2), block(3, img.subarray(192)))).toEqual({ ok: true });
      expect(await client.action(m(2), block(1, img.subarray(0, 10)))).toEqual({ ok: false, error: 'other-reason' });
      expect(await client.get(attr(3))).toEqual({ ok: true, value: { type: 'bit-string', value: { bits: 4, bytes: Uint8Array.of(0b1001_0000) } } });
      expect(await client.get(attr(4))).toEqual({ ok: true, value: u32(1) });
      expect(await client.get(attr(6))).toEqual({ ok: true, value: { type: 'enum', value: 1 } });
      expect(await client.get({ classId: 1, obis: '1.0.0.2.0.255', attribute: 2 })).toEqual({ ok: true, value: octets(ascii('GRD-FW-1.0.0')) });
      expect(await client.get({ classId: 22, obis: SAS, attribute: 3 })).toEqual({ ok: true, value: { type: 'enum', value: 1 } });
      expect(await client.release()).toEqual({ ok: true });
    } finally {
      await client.close();
    }
  });

  it('drops the connection when the armed block arrives, once, without taking that block', async () => {
    sim.meter.firmware.dropAtBlock = 2;
    const img = image(200);
    const first = await connect();
    try {
      expect(await first.action(m(1), initiate('GRD-FW-2.0.0', 200))).toEqual({ ok: true });
      expect(await first.action(m(2), block(1, img.subarray(64, 128)))).toEqual({ ok: true });
      await expect(first.action(m(2), block(2, img.subarray(128, 192)))).rejects.toThrow();
    } finally {
      await first.close();
    }
    const second = await connect();
    try {
      expect(await second.get(attr(3))).toEqual({ ok: true, value: { type: 'bit-string', value: { bits: 4, bytes: Uint8Array.of(0b1101_0000) } } });
      expect(await second.get(attr(4))).toEqual({ ok: true, value: u32(2) });
      expect(await second.action(m(2), block(2, img.subarray(128, 192)))).toEqual({ ok: true });
      expect(await second.get(attr(4))).toEqual({ ok: true, value: u32(4) });
      expect(sim.meter.firmware.dropAtBlock).toBeUndefined();
    } finally {
      await second.close();
    }
  });
});
