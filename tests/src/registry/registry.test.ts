/**
 * The registry's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, see tests/helpers/storeDrivers.ts): the topology's rules, persistence across a
 * restart (meter keys included), and a memory image that never shows what the store refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError, meterId } from '../../../src/domain/index.js';
import { REGISTRY_BATCH_ROWS } from '../../../src/registry/postgresStore.js';
import { Registry, type RegistrySeed } from '../../../src/registry/registry.js';
import { STORE_DRIVERS, connectEachTest, disconnect, disposeStoreDrivers, execute, registryStoreOf } from '../../helpers/storeDrivers.js';

const options = { registerMapExists: (n: string) => n === 'map', profileExists: (n: string) => n === 'fast' };
const meter = (id: string, terminalId: string, address: string, extra: Record<string, unknown> = {}) => ({
  id, terminalId, address, ctRatio: 1, ptRatio: 1, protected: false, ...extra,
});
const modbusTerminal = (id: string) => ({ id, protocol: 'modbus' as const, enabled: true, profiles: ['fast'], modbus: { host: '127.0.0.1', port: 502, framing: 'tcp' as const, registerMap: 'map' } });
const SEED: RegistrySeed = {
  areas: [
    { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'f1', transformerKva: 400 },
    { id: 'region', name: 'Region', kind: 'region' },
    { id: 'sub', name: 'Substation', kind: 'substation', parentId: 'region' },
    { id: 'f1', name: 'Feeder 1', kind: 'feeder', parentId: 'sub' },
  ],
  terminals: [modbusTerminal('t1'), { id: 'q1', protocol: 'mqtt', enabled: true, profiles: [] }],
  meters: [meter('m1', 't1', '1', { areaId: 'tx1' }), meter('m2', 'q1', 'a', { areaId: 'f1' })],
};

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('registry on $name', (driver) => {
  const db = connectEachTest(driver);

  const open = (): Promise<Registry> => Registry.open(registryStoreOf(db().connection), options);
  const seeded = async (): Promise<Registry> => {
    const r = await open();
    await r.seed(SEED);
    return r;
  };
  /** Closes the connection and opens the registry on a new one, as a restarted station does. */
  const restart = async (): Promise<Registry> => {
    await db().reconnect();
    return open();
  };

  it('seeds areas in parent order whatever the order in the file, and resolves meters by terminal address', async () => {
    const r = await seeded();
    expect(r.listAreas().map((a) => a.id).sort()).toEqual(['f1', 'region', 'sub', 'tx1']);
    expect(r.meterAt('t1', '1')?.id).toBe('m1');
    expect(r.meterAt('t1', '2')).toBeUndefined();
    expect(r.meterKey(meterId('m1'))).toBeTypeOf('number');
  });

  it('lists the meters of an area subtree', async () => {
    const r = await seeded();
    expect(r.listMeters({ areaId: 'sub' }).map((m) => m.id).sort()).toEqual(['m1', 'm2']);
    expect(r.listMeters({ areaId: 'tx1' }).map((m) => m.id)).toEqual(['m1']);
  });

  it('persists: a second registry on the same database sees everything', async () => {
    const a = await open();
    await a.createArea({ id: 'r', name: 'R', kind: 'region' });
    await a.createTerminal(modbusTerminal('t1'));
    await a.createMeter(meter('m1', 't1', '7', { areaId: 'r', protected: true, customerRef: 'C-1' }));
    const b = await restart();
    expect(b.getMeter('m1')).toMatchObject({ address: '7', protected: true, customerRef: 'C-1', areaId: 'r' });
    expect(b.getTerminal('t1')).toMatchObject({ protocol: 'modbus', modbus: { registerMap: 'map' } });
    expect(b.meterAt('t1', '7')?.id).toBe('m1');
  });

  it('keeps every meter\'s key across a restart, and a seed run again at the next start uses up no key', async () => {
    const a = await seeded();
    await a.createMeter(meter('m3', 't1', '3'));
    const keys = ['m1', 'm2', 'm3'].map((id) => a.meterKey(meterId(id)));
    expect(new Set(keys).size).toBe(3);

    const b = await restart();
    expect(['m1', 'm2', 'm3'].map((id) => b.meterKey(meterId(id)))).toEqual(keys);
    await b.seed(SEED);
    expect(['m1', 'm2', 'm3'].map((id) => b.meterKey(meterId(id)))).toEqual(keys);
    await b.createMeter(meter('m4', 't1', '4'));
    expect(b.meterKey(meterId('m4'))).toBe(Math.max(...keys.map(Number)) + 1);
    expect((await restart()).meterKey(meterId('m4'))).toBe(b.meterKey(meterId('m4')));
  });

  it('never gives a deleted meter\'s key to another meter, so the readings it left stay its own', async () => {
    const r = await seeded();
    await r.createMeter(meter('m3', 't1', '3'));
    const last = r.meterKey(meterId('m3'));
    await r.deleteMeter('m3');
    await r.createMeter(meter('m4', 't1', '3'));
    expect(r.meterKey(meterId('m4'))).not.toBe(last);
    await r.deleteMeter('m4');
    const b = await restart();
    await b.createMeter(meter('m5', 't1', '3'));
    expect(b.meterKey(meterId('m5'))).toBeGreaterThan(Number(last) + 1);
  });

  it('rejects an area under a parent of the same or lower level, and cycles', async () => {
    const r = await seeded();
    await expect(r.createArea({ id: 'x', name: 'X', kind: 'feeder', parentId: 'tx1' })).rejects.toThrow(ValidationError);
    await expect(r.updateArea('sub', { name: 'S', kind: 'substation', parentId: 'f1' })).rejects.toThrow(ValidationError);
    await expect(r.createArea({ id: 'y', name: 'Y', kind: 'feeder', parentId: 'sub', transformerKva: 100 })).rejects.toThrow(/transformer areas/);
  });

  it('refuses to delete what is still referenced', async () => {
    const r = await seeded();
    await expect(r.deleteArea('f1')).rejects.toThrow(ConflictError);
    await expect(r.deleteTerminal('t1')).rejects.toThrow(ConflictError);
    await r.deleteMeter('m1');
    await r.deleteTerminal('t1');
    expect(() => r.getTerminal('t1')).toThrow(NotFoundError);
    await expect(restart().then((b) => b.findTerminal('t1'))).resolves.toBeUndefined();
  });

  it('refuses a second meter at a taken address, and frees the address when a meter moves', async () => {
    const r = await seeded();
    await expect(r.createMeter(meter('m3', 't1', '1'))).rejects.toThrow(ConflictError);
    await r.updateMeter('m1', { terminalId: 't1', address: '2', ctRatio: 1, ptRatio: 1, protected: false });
    expect(r.meterAt('t1', '1')).toBeUndefined();
    expect(r.meterAt('t1', '2')?.id).toBe('m1');
    await r.createMeter(meter('m3', 't1', '1'));
  });

  it('checks register maps and profiles of terminals against the configuration', async () => {
    const r = await seeded();
    await expect(r.createTerminal({ ...modbusTerminal('t2'), modbus: { ...modbusTerminal('t2').modbus, registerMap: 'nope' } })).rejects.toThrow(/register map/);
    await expect(r.createTerminal({ ...modbusTerminal('t3'), profiles: ['slow'] })).rejects.toThrow(/profile/);
    await expect(r.createTerminal({ id: 't4', protocol: 'modbus', enabled: true, profiles: [] })).rejects.toThrow(ValidationError);
  });

  it('refuses an LLS password in a DLMS endpoint, and keeps one an older station stored out of the loaded terminal until it is dropped', async () => {
    const r = await open();
    const dlms = { host: '127.0.0.1', port: 4059, framing: 'wrapper' as const, clientSap: 1, auth: 'low' as const, security: 'none' as const };
    const refused: unknown = await r.createTerminal({ id: 'd1', protocol: 'dlms', enabled: true, profiles: [], dlms: { ...dlms, password: 'pw-in-body' } }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).field).toBe('dlms.password');
    expect((refused as Error).message).toContain('/api/v1/meters/:id/keys');
    expect((refused as Error).message).not.toContain('pw-in-body');
    expect(r.findTerminal('d1')).toBeUndefined();

    await r.createTerminal({ id: 'd1', protocol: 'dlms', enabled: true, profiles: [], dlms });
    const conn = db().connection;
    await execute(conn, conn.sqlite !== undefined
      ? "UPDATE terminals SET endpoint = json_set(endpoint, '$.dlms.password', 'old-pw') WHERE id = 'd1'"
      : `UPDATE terminals SET endpoint = jsonb_set(endpoint, '{dlms,password}', '"old-pw"') WHERE id = 'd1'`);
    const reloaded = await restart();
    expect(reloaded.getTerminal('d1')).toMatchObject({ protocol: 'dlms', dlms });
    expect(JSON.stringify(reloaded.getTerminal('d1'))).not.toContain('old-pw');
    expect(await reloaded.storedEndpointPasswords()).toEqual([{ terminalId: 'd1', password: 'old-pw' }]);
    await reloaded.dropStoredEndpointPassword('d1');
    expect(await reloaded.storedEndpointPasswords()).toEqual([]);
    expect((await restart()).getTerminal('d1')).toMatchObject({ dlms });
  });

  it('tells listeners about every change', async () => {
    const r = await seeded();
    const seen: string[] = [];
    r.onChange((c) => seen.push(`${c.kind}:${c.id}:${c.op}`));
    await r.createMeter(meter('m9', 'q1', 'z'));
    await r.deleteMeter('m9');
    expect(seen).toEqual(['meter:m9:upsert', 'meter:m9:delete']);
  });

  it('refuses CT/PT ratios and ratings outside their sane ranges, naming the field', async () => {
    const r = await seeded();
    const field = async (extra: Record<string, unknown>) => {
      try {
        await r.createMeter(meter('m9', 'q1', 'z', extra));
        return 'accepted';
      } catch (err) {
        return err instanceof ValidationError ? err.field : String(err);
      }
    };
    expect(await field({ ctRatio: 1e308 })).toBe('ctRatio');
    expect(await field({ ctRatio: 0.5 })).toBe('ctRatio');
    expect(await field({ ptRatio: Number.NaN })).toBe('ptRatio');
    expect(await field({ ptRatio: 100_001 })).toBe('ptRatio');
    expect(await field({ nominalVoltage: 0 })).toBe('nominalVoltage');
    expect(await field({ maxCurrent: Number.POSITIVE_INFINITY })).toBe('maxCurrent');
    expect(r.findMeter('m9')).toBeUndefined();
    expect(await field({ ctRatio: 100_000, ptRatio: 1 })).toBe('accepted');
  });

  it('keeps a meter\'s rating across a restart, and leaves it absent when none was given', async () => {
    const a = await open();
    await a.createTerminal(modbusTerminal('t1'));
    await a.createMeter(meter('m1', 't1', '1', { ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 }));
    await a.createMeter(meter('m2', 't1', '2'));
    const b = await open();
    expect(b.getMeter('m1')).toMatchObject({ ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 });
    expect(b.getMeter('m2')).not.toHaveProperty('nominalVoltage');
    expect(b.getMeter('m2')).not.toHaveProperty('maxCurrent');
    await a.updateMeter('m1', { terminalId: 't1', address: '1', ctRatio: 40, ptRatio: 100, protected: false });
    expect((await restart()).getMeter('m1')).not.toHaveProperty('maxCurrent');
  });

  it('seeds all or nothing: an entry that fails its check leaves memory and store as they were', async () => {
    const r = await open();
    const seen: string[] = [];
    r.onChange((c) => seen.push(c.id));
    const bad = { ...SEED, meters: [...SEED.meters, meter('m3', 'nowhere', '1')] };
    await expect(r.seed(bad)).rejects.toThrow(ValidationError);
    expect(r.listAreas()).toEqual([]);
    expect(r.listTerminals()).toEqual([]);
    expect(r.findMeter('m1')).toBeUndefined();
    expect(seen).toEqual([]);
    expect((await restart()).listAreas()).toEqual([]);
  });

  it('stores a seed as it was checked, entry after entry: a meter named twice takes the address another one left', async () => {
    const r = await seeded();
    await r.seed({ areas: [], terminals: [], meters: [meter('m9', 't1', '7'), meter('m1', 't1', '2', { areaId: 'tx1' }), meter('m9', 't1', '1')] });
    const expectMoved = (x: Registry) => {
      expect(x.meterAt('t1', '1')?.id).toBe('m9');
      expect(x.meterAt('t1', '2')?.id).toBe('m1');
      expect(x.meterAt('t1', '7')).toBeUndefined();
    };
    expectMoved(r);
    expectMoved(await restart());
  });

  it('stages a seed over the stored topology: a stored meter it moves leaves its address to another, and a stored terminal a seeded meter moved to keeps its protocol', async () => {
    const r = await seeded();
    await r.seed({
      areas: [{ id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'f1' }],
      terminals: [modbusTerminal('t2')],
      meters: [meter('m1', 't2', '1', { areaId: 'tx2' }), meter('m9', 't1', '1', { areaId: 'tx2' })],
    });
    expect(r.meterAt('t1', '1')?.id).toBe('m9');
    expect(r.meterAt('t2', '1')?.id).toBe('m1');
    expect(r.listMeters({ areaId: 'tx2' }).map((m) => m.id).sort()).toEqual(['m1', 'm9']);
    expect(r.listMeters({ areaId: 'tx1' })).toEqual([]);
    await expect(r.seed({ areas: [], terminals: [{ id: 't2', protocol: 'mqtt', enabled: true, profiles: [] }], meters: [] })).rejects.toThrow(ConflictError);
    expect(r.getTerminal('t2').protocol).toBe('modbus');
  });

  it('opens from the store to the image it had, past one read batch: every meter with its key, and the same pages', async () => {
    const r = await seeded();
    const fleet = Array.from({ length: REGISTRY_BATCH_ROWS + 50 }, (_, i) => meter(`f${String((i * 7919) % (REGISTRY_BATCH_ROWS + 50)).padStart(5, '0')}`, 'q1', `f${i}`, {
      areaId: i % 2 === 0 ? 'tx1' : null, customerRef: i % 3 === 0 ? `C-${i}` : null, ...(i % 5 === 0 ? { maxCurrent: 60 } : {}),
    }));
    await r.seed({ areas: [], terminals: [], meters: fleet });
    await r.deleteMeter('f00003');
    await r.updateMeter('f00004', { terminalId: 't1', address: '9', ctRatio: 20, ptRatio: 1, protected: true, areaId: 'f1' });
    const image = (x: Registry) => x.listMeters().map((m) => ({ m, key: x.meterKey(m.id) })).sort((a, b) => (a.m.id < b.m.id ? -1 : 1));
    const pages = (x: Registry) => [x.pageMeters({}, undefined, 3), x.pageMeters({}, 'f05000', 3), x.pageMeters({ areaId: 'sub' }, 'f00100', 4), x.pageMeters({ terminalId: 't1' }, undefined, 5)];
    const before = { image: image(r), pages: pages(r), terminals: r.pageTerminals(undefined, 10), areas: r.pageAreas('f1', 10) };

    const b = await restart();
    expect(image(b)).toEqual(before.image);
    expect(pages(b)).toEqual(before.pages);
    expect(b.pageTerminals(undefined, 10)).toEqual(before.terminals);
    expect(b.pageAreas('f1', 10)).toEqual(before.areas);
    expect(b.meterAt('t1', '9')?.id).toBe('f00004');
    expect(b.findMeter('f00003')).toBeUndefined();
  }, 60_000);

  it('shows a change only once the store has it', async () => {
    const r = await seeded();
    const pending = r.createMeter(meter('m9', 'q1', 'z'));
    expect(r.findMeter('m9')).toBeUndefined();
    await pending;
    expect(r.findMeter('m9')).toMatchObject({ address: 'z' });
  });

  it('checks a change issued before the previous one settled against that one\'s outcome', async () => {
    const r = await open();
    const terminal = r.createTerminal(modbusTerminal('t9'));
    const first = r.createMeter(meter('m9', 't9', '1'));
    const second = r.createMeter(meter('m10', 't9', '1'));
    await terminal;
    await expect(first).resolves.toMatchObject({ id: 'm9' });
    await expect(second).rejects.toThrow(ConflictError);
    expect(r.metersOfTerminal('t9').map((m) => m.id)).toEqual(['m9']);
  });

  it('turns a write the store refuses (another node took the address) into a conflict that leaves memory as it was', async () => {
    const r = await seeded();
    const seen: string[] = [];
    r.onChange((c) => seen.push(c.id));
    // Another node adds a meter at t1/5 after this one loaded: this node's image does not show it.
    const conn = db().connection;
    await execute(conn, `INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at)
                         VALUES ('elsewhere', 'elsewhere', 't1', '5', 1, 1, ${conn.sqlite !== undefined ? 0 : 'false'}, 0, 0)`);
    const before = r.meterKey(meterId('m1'));

    const refused: unknown = await r.createMeter(meter('m9', 't1', '5')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/store refused meter "m9"/);
    expect(r.findMeter('m9')).toBeUndefined();
    expect(r.meterAt('t1', '5')).toBeUndefined();
    expect(r.meterKey(meterId('m9'))).toBeUndefined();
    expect(seen).toEqual([]);

    // A move into the taken address is refused too, and the meter stays where it was.
    await expect(r.updateMeter('m1', { terminalId: 't1', address: '5', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx1' })).rejects.toThrow(ConflictError);
    expect(r.getMeter('m1')).toMatchObject({ address: '1' });
    expect(r.meterAt('t1', '1')?.id).toBe('m1');
    expect(r.meterKey(meterId('m1'))).toBe(before);

    const b = await restart();
    expect(b.meterAt('t1', '5')?.id).toBe('elsewhere');
    expect(b.findMeter('m9')).toBeUndefined();
  });

  it('leaves memory as it was when the store cannot be written at all', async () => {
    const r = await seeded();
    const seen: string[] = [];
    r.onChange((c) => seen.push(c.id));
    await disconnect(db().connection);
    await expect(r.createArea({ id: 'r2', name: 'R2', kind: 'region' })).rejects.toThrow();
    await expect(r.deleteMeter('m1')).rejects.toThrow();
    await expect(r.seed({ areas: [], terminals: [{ id: 'q2', protocol: 'mqtt', enabled: true, profiles: [] }], meters: [] })).rejects.toThrow();
    expect(r.hasArea('r2')).toBe(false);
    expect(r.findMeter('m1')).toMatchObject({ id: 'm1' });
    expect(r.findTerminal('q2')).toBeUndefined();
    expect(seen).toEqual([]);
  });
});
