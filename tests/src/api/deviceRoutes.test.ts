/**
 * The device register routes through the station's own API (buildApi) on a real socket: the
 * list under each filter and by keyset pages, the CSV (format=csv and Accept: text/csv), one
 * device with its firmware history and billing's replacements, 404 for a device the register
 * lacks, 400 problem+json for a bad query, and viewer access.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { DeviceRegisterService } from '../../../src/deviceRegister/service.js';
import { SqliteDeviceRegisterStore } from '../../../src/deviceRegister/sqliteStore.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { listenRouteApi } from '../../helpers/routeApi.js';

const T0 = Date.UTC(2026, 2, 1, 8);
let db: Db;
let url: string;
let close: () => Promise<void>;
let viewer: string;

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true, now: () => T0 });
  await registry.seed({
    areas: [{ id: 'tx1', name: 'TX 1', kind: 'transformer' }, { id: 'tx2', name: 'TX 2', kind: 'transformer' }],
    terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }, { id: 't2', name: 't2', protocol: 'mqtt', enabled: true, profiles: [] }],
    meters: [['m1', 't1', 'tx1'], ['m2', 't1', 'tx1'], ['m3', 't2', 'tx2']].map(([id = '', terminalId = '', areaId = '']) => (
      { id, name: id, terminalId, address: id, areaId, ctRatio: 1, ptRatio: 1, protected: false })),
  });
  const auth = new AuthService(new SqliteAuthStore(db), { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 } });
  viewer = (await auth.createToken({ name: 'wall', role: 'viewer' }, 'test')).token;
  const store = new SqliteDeviceRegisterStore(db, 50);
  await store.reconcile('meter', T0);
  await store.reconcile('terminal', T0);
  const devices = new DeviceRegisterService({
    store, refreshMs: 86_400_000, exportBatch: 2, areaSubtree: (id) => registry.areaSubtree(id),
    replacementsOf: (id) => (id === 'm1' ? [{ meterId: 'm1', at: T0 + 5_000, oldFinal: 1234.5, newInitial: 0.2 }] : []),
  });
  await devices.noteNameplate('meter', 'm1', { manufacturer: 'GRD', model: 'GX-1', serial: 'S1', firmwareVersion: '1.0', hardwareVersion: 'H1' }, T0 + 1_000);
  await devices.noteNameplate('meter', 'm2', { manufacturer: 'GRD', model: 'GX-2', serial: 'S2, "b"', firmwareVersion: '1.0' }, T0 + 1_000);
  await devices.noteNameplate('meter', 'm3', { manufacturer: 'ABB', model: 'GX-1', firmwareVersion: '2.0' }, T0 + 1_000);
  await devices.recordFirmware('meter', 'm1', { version: '1.1', at: T0 + 2_000, source: 'campaign', campaignId: 'c-7', actor: 'user:li' });
  const { app, origin } = await listenRouteApi({ registry, audit: new SqliteAuditLog(db), auth: { service: auth, sessionMaxMs: 3_600_000 }, deviceRegister: devices });
  url = origin;
  close = async () => { await app.close(); await auth.close(); db.close(); };
});

afterAll(async () => {
  await close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${viewer}`, ...headers } });
const idsOf = async (res: Response) => ((await res.json()) as { items: { kind: string; id: string }[] }).items.map((d) => `${d.kind}:${d.id}`);

describe('/devices', () => {
  it('lists devices under each filter', async () => {
    expect(await idsOf(await get('/devices'))).toEqual(['meter:m1', 'meter:m2', 'meter:m3', 'terminal:t1', 'terminal:t2']);
    expect(await idsOf(await get('/devices?firmwareVersion=1.0'))).toEqual(['meter:m2']);
    expect(await idsOf(await get('/devices?model=GX-1&manufacturer=GRD'))).toEqual(['meter:m1']);
    expect(await idsOf(await get('/devices?kind=terminal'))).toEqual(['terminal:t1', 'terminal:t2']);
    expect(await idsOf(await get('/devices?areaId=tx2'))).toEqual(['meter:m3', 'terminal:t2']);
  });

  it('pages by keyset with the previous page\'s next', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const res = await get(`/devices?limit=2${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
      const body = await res.json() as { items: { kind: string; id: string }[]; next: string | null };
      seen.push(...body.items.map((d) => `${d.kind}:${d.id}`));
      next = body.next;
    } while (next !== null);
    expect(seen).toEqual(['meter:m1', 'meter:m2', 'meter:m3', 'terminal:t1', 'terminal:t2']);
  });

  it('answers CSV for format=csv and for Accept: text/csv, every match across export batches', async () => {
    const csv = await get('/devices?format=csv&kind=meter');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('kind,id,manufacturer,model,serial,firmware_version,firmware_signature,hardware_version,nameplate_read_at,installed_at,removed_at');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(':'))).toEqual(['meter:m1', 'meter:m2', 'meter:m3']);
    expect(lines[2]).toContain('"S2, ""b"""');
    const accepted = await get('/devices?manufacturer=ABB', { accept: 'text/csv' });
    expect((await accepted.text()).trimEnd().split('\r\n')).toEqual([lines[0], `meter,m3,ABB,GX-1,,2.0,,,${new Date(T0 + 1_000).toISOString()},${new Date(T0).toISOString()},`]);
  });

  it('answers one device with its firmware history, newest first, and billing\'s replacements', async () => {
    const res = await get('/devices/meter/m1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      device: {
        kind: 'meter', id: 'm1', manufacturer: 'GRD', model: 'GX-1', serial: 'S1', firmwareVersion: '1.1', firmwareSignature: null, hardwareVersion: 'H1',
        nameplateReadAt: new Date(T0 + 1_000).toISOString(), installedAt: new Date(T0).toISOString(), removedAt: null,
      },
      firmwareHistory: [{ at: new Date(T0 + 2_000).toISOString(), from: '1.0', to: '1.1', source: 'campaign', campaignId: 'c-7', actor: 'user:li' }],
      replacements: [{ at: new Date(T0 + 5_000).toISOString(), oldFinal: 1234.5, newInitial: 0.2 }],
    });
  });

  it('answers 404 for a device the register lacks and 400 problem+json for a bad query', async () => {
    const missing = await get('/devices/meter/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    for (const bad of ['/devices?kind=transformer', '/devices?limit=0', '/devices?after=nonsense', '/devices?colour=red', '/devices/gateway/x']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('content-type'), bad).toContain('application/problem+json');
    }
    expect((await get('/devices?areaId=nowhere')).status).toBe(404);
  });

  it('refuses a caller without credentials', async () => {
    expect((await fetch(`${url}/api/v1/devices`)).status).toBe(401);
  });
});
