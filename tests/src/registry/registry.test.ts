import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError, meterId } from '../../../src/domain/index.js';
import { Registry } from '../../../src/registry/registry.js';
import { openDatabase } from '../../../src/storage/db.js';

const options = { registerMapExists: (n: string) => n === 'map', profileExists: (n: string) => n === 'fast' };
const meter = (id: string, terminalId: string, address: string, extra: Record<string, unknown> = {}) => ({
  id, terminalId, address, ctRatio: 1, ptRatio: 1, protected: false, ...extra,
});
const modbusTerminal = (id: string) => ({ id, protocol: 'modbus' as const, enabled: true, profiles: ['fast'], modbus: { host: '127.0.0.1', port: 502, framing: 'tcp' as const, registerMap: 'map' } });

function seeded(): Registry {
  const r = new Registry(openDatabase(':memory:'), options);
  r.seed({
    areas: [
      { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'f1', transformerKva: 400 },
      { id: 'region', name: 'Region', kind: 'region' },
      { id: 'sub', name: 'Substation', kind: 'substation', parentId: 'region' },
      { id: 'f1', name: 'Feeder 1', kind: 'feeder', parentId: 'sub' },
    ],
    terminals: [modbusTerminal('t1'), { id: 'q1', protocol: 'mqtt', enabled: true, profiles: [] }],
    meters: [meter('m1', 't1', '1', { areaId: 'tx1' }), meter('m2', 'q1', 'a', { areaId: 'f1' })],
  });
  return r;
}

describe('registry', () => {
  it('seeds areas in parent order whatever the order in the file, and resolves meters by terminal address', () => {
    const r = seeded();
    expect(r.listAreas().map((a) => a.id).sort()).toEqual(['f1', 'region', 'sub', 'tx1']);
    expect(r.meterAt('t1', '1')?.id).toBe('m1');
    expect(r.meterAt('t1', '2')).toBeUndefined();
    expect(r.meterKey(meterId('m1'))).toBeTypeOf('number');
  });

  it('lists the meters of an area subtree', () => {
    const r = seeded();
    expect(r.listMeters({ areaId: 'sub' }).map((m) => m.id).sort()).toEqual(['m1', 'm2']);
    expect(r.listMeters({ areaId: 'tx1' }).map((m) => m.id)).toEqual(['m1']);
  });

  it('persists: a second registry on the same database sees everything', () => {
    const db = openDatabase(':memory:');
    const a = new Registry(db, options);
    a.createArea({ id: 'r', name: 'R', kind: 'region' });
    a.createTerminal(modbusTerminal('t1'));
    a.createMeter(meter('m1', 't1', '7', { areaId: 'r', protected: true, customerRef: 'C-1' }));
    const b = new Registry(db, options);
    expect(b.getMeter('m1')).toMatchObject({ address: '7', protected: true, customerRef: 'C-1', areaId: 'r' });
    expect(b.getTerminal('t1')).toMatchObject({ protocol: 'modbus', modbus: { registerMap: 'map' } });
    expect(b.meterAt('t1', '7')?.id).toBe('m1');
  });

  it('rejects an area under a parent of the same or lower level, and cycles', () => {
    const r = seeded();
    expect(() => r.createArea({ id: 'x', name: 'X', kind: 'feeder', parentId: 'tx1' })).toThrow(ValidationError);
    expect(() => r.updateArea('sub', { name: 'S', kind: 'substation', parentId: 'f1' })).toThrow(ValidationError);
    expect(() => r.createArea({ id: 'y', name: 'Y', kind: 'feeder', parentId: 'sub', transformerKva: 100 })).toThrow(/transformer areas/);
  });

  it('refuses to delete what is still referenced', () => {
    const r = seeded();
    expect(() => { r.deleteArea('f1'); }).toThrow(ConflictError);
    expect(() => { r.deleteTerminal('t1'); }).toThrow(ConflictError);
    r.deleteMeter('m1');
    r.deleteTerminal('t1');
    expect(() => r.getTerminal('t1')).toThrow(NotFoundError);
  });

  it('refuses a second meter at a taken address, and frees the address when a meter moves', () => {
    const r = seeded();
    expect(() => r.createMeter(meter('m3', 't1', '1'))).toThrow(ConflictError);
    r.updateMeter('m1', { terminalId: 't1', address: '2', ctRatio: 1, ptRatio: 1, protected: false });
    expect(r.meterAt('t1', '1')).toBeUndefined();
    expect(r.meterAt('t1', '2')?.id).toBe('m1');
    r.createMeter(meter('m3', 't1', '1'));
  });

  it('checks register maps and profiles of terminals against the configuration', () => {
    const r = seeded();
    expect(() => r.createTerminal({ ...modbusTerminal('t2'), modbus: { ...modbusTerminal('t2').modbus, registerMap: 'nope' } })).toThrow(/register map/);
    expect(() => r.createTerminal({ ...modbusTerminal('t3'), profiles: ['slow'] })).toThrow(/profile/);
    expect(() => r.createTerminal({ id: 't4', protocol: 'modbus', enabled: true, profiles: [] })).toThrow(ValidationError);
  });

  it('refuses an LLS password in a DLMS endpoint, and keeps one an older station stored out of the loaded terminal until it is dropped', () => {
    const db = openDatabase(':memory:');
    const r = new Registry(db, options);
    const dlms = { host: '127.0.0.1', port: 4059, framing: 'wrapper' as const, clientSap: 1, auth: 'low' as const, security: 'none' as const };
    const refused = (() => { try { r.createTerminal({ id: 'd1', protocol: 'dlms', enabled: true, profiles: [], dlms: { ...dlms, password: 'pw-in-body' } }); } catch (err) { return err; } })();
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).field).toBe('dlms.password');
    expect((refused as Error).message).toContain('/api/v1/meters/:id/keys');
    expect((refused as Error).message).not.toContain('pw-in-body');
    expect(r.findTerminal('d1')).toBeUndefined();

    r.createTerminal({ id: 'd1', protocol: 'dlms', enabled: true, profiles: [], dlms });
    db.prepare("UPDATE terminals SET endpoint = json_set(endpoint, '$.dlms.password', 'old-pw') WHERE id = 'd1'").run();
    const reloaded = new Registry(db, options);
    expect(reloaded.getTerminal('d1')).toMatchObject({ protocol: 'dlms', dlms });
    expect(JSON.stringify(reloaded.getTerminal('d1'))).not.toContain('old-pw');
    expect(reloaded.storedEndpointPasswords()).toEqual([{ terminalId: 'd1', password: 'old-pw' }]);
    reloaded.dropStoredEndpointPassword('d1');
    expect(reloaded.storedEndpointPasswords()).toEqual([]);
    expect(new Registry(db, options).getTerminal('d1')).toMatchObject({ dlms });
  });

  it('tells listeners about every change', () => {
    const r = seeded();
    const seen: string[] = [];
    r.onChange((c) => seen.push(`${c.kind}:${c.id}:${c.op}`));
    r.createMeter(meter('m9', 'q1', 'z'));
    r.deleteMeter('m9');
    expect(seen).toEqual(['meter:m9:upsert', 'meter:m9:delete']);
  });

  it('refuses CT/PT ratios and ratings outside their sane ranges, naming the field', () => {
    const r = seeded();
    const field = (extra: Record<string, unknown>) => {
      try {
        r.createMeter(meter('m9', 'q1', 'z', extra));
        return 'accepted';
      } catch (err) {
        return err instanceof ValidationError ? err.field : String(err);
      }
    };
    expect(field({ ctRatio: 1e308 })).toBe('ctRatio');
    expect(field({ ctRatio: 0.5 })).toBe('ctRatio');
    expect(field({ ptRatio: Number.NaN })).toBe('ptRatio');
    expect(field({ ptRatio: 100_001 })).toBe('ptRatio');
    expect(field({ nominalVoltage: 0 })).toBe('nominalVoltage');
    expect(field({ maxCurrent: Number.POSITIVE_INFINITY })).toBe('maxCurrent');
    expect(r.findMeter('m9')).toBeUndefined();
    expect(field({ ctRatio: 100_000, ptRatio: 1 })).toBe('accepted');
  });

  it('keeps a meter\'s rating across a restart, and leaves it absent when none was given', () => {
    const db = openDatabase(':memory:');
    const a = new Registry(db, options);
    a.createTerminal(modbusTerminal('t1'));
    a.createMeter(meter('m1', 't1', '1', { ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 }));
    a.createMeter(meter('m2', 't1', '2'));
    const b = new Registry(db, options);
    expect(b.getMeter('m1')).toMatchObject({ ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 });
    expect(b.getMeter('m2')).not.toHaveProperty('nominalVoltage');
    expect(b.getMeter('m2')).not.toHaveProperty('maxCurrent');
    a.updateMeter('m1', { terminalId: 't1', address: '1', ctRatio: 40, ptRatio: 100, protected: false });
    expect(new Registry(db, options).getMeter('m1')).not.toHaveProperty('maxCurrent');
  });
});
