import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observe/logger.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { SqliteCounterStore } from '../../../src/security/counterStore.js';
import { HeadEndSecurity, MissingKeysError, MissingPasswordError, parseSystemTitle } from '../../../src/security/headEndSecurity.js';
import { SqliteKeyStore } from '../../../src/security/keyStore.js';
import { MasterKey } from '../../../src/security/masterKey.js';
import { SecurityEventLog, SqliteSecurityEventStore } from '../../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const EK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const AK = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedf', 'hex');
const METER_TITLE = '4752440000000001';
const dlms = (extra: object) => ({ host: '127.0.0.1', port: 4059, framing: 'wrapper' as const, clientSap: 48, auth: 'high-gmac' as const, security: 'auth-enc' as const, ...extra });

let db: Db;
let registry: Registry;
let keys: SqliteKeyStore;
let events: SecurityEventLog;
let security: HeadEndSecurity;

beforeEach(async () => {
  db = openDatabase(':memory:');
  registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: [],
    terminals: [
      { id: 'hls', protocol: 'dlms', enabled: true, profiles: [], dlms: dlms({ systemTitle: METER_TITLE, keyGroup: 'east' }) },
      { id: 'lls', protocol: 'dlms', enabled: true, profiles: [], dlms: { ...dlms({}), clientSap: 1, auth: 'low', security: 'none', keyGroup: 'west' } },
      { id: 'ciphered-only', protocol: 'dlms', enabled: true, profiles: [], dlms: dlms({ auth: 'none', security: 'enc' }) },
    ],
    meters: ['hls', 'lls', 'ciphered-only'].map((t) => ({ id: `${t}-1`, terminalId: t, address: '1', ctRatio: 1, ptRatio: 1, protected: false })),
  });
  keys = new SqliteKeyStore(db, new MasterKey(Buffer.alloc(32, 3), 'environment'));
  events = new SecurityEventLog(new SqliteSecurityEventStore(db), { logger: createLogger('silent') });
  security = new HeadEndSecurity({ topology: registry, keys, counters: new SqliteCounterStore(db), events, systemTitle: parseSystemTitle('4752440000000000') });
  registry.onChange(() => { security.invalidate(); });
});
afterEach(() => { db.close(); });

describe('head-end DLMS security', () => {
  it('asks nothing of a terminal with neither HLS nor ciphering', async () => {
    expect(await security.securityFor('lls')).toBeUndefined();
    expect(await security.securityFor('unknown')).toBeUndefined();
  });

  it('refuses with a typed error when keys are needed and none are stored', async () => {
    await expect(security.securityFor('hls')).rejects.toThrow(MissingKeysError);
    await expect(security.securityFor('ciphered-only')).rejects.toThrow(MissingKeysError);
  });

  it("builds ClientSecurity from the station title, the endpoint and the meter's group keys", async () => {
    await keys.set({ kind: 'group', name: 'east' }, { ek: EK, ak: AK });
    const s = await security.securityFor('hls');
    expect(s?.protection).toBe('auth-enc');
    expect(Buffer.from(s?.systemTitle ?? []).toString('hex')).toBe('4752440000000000');
    expect(Buffer.from(s?.expectedServerSystemTitle ?? []).toString('hex')).toBe(METER_TITLE);
    expect(Buffer.compare(s?.keys.ek ?? Buffer.alloc(0), EK)).toBe(0);
    expect(Buffer.compare(s?.keys.ak ?? Buffer.alloc(0), AK)).toBe(0);
    const first = s?.counters.nextOutgoing() ?? 0;
    expect((await security.securityFor('hls'))?.counters.nextOutgoing()).toBeGreaterThan(first);
  });

  it('records the events an association reports against its meter and terminal', async () => {
    await keys.set({ kind: 'meter', id: 'hls-1' }, { ek: EK, ak: AK });
    (await security.securityFor('hls'))?.onEvent?.({ kind: 'system-title-mismatch', detail: 'AARE carries 4752440000000099', systemTitle: '4752440000000099' });
    expect(await events.query({ limit: 10 })).toMatchObject([{ meterId: 'hls-1', terminalId: 'hls', kind: 'system-title-mismatch', systemTitle: '4752440000000099' }]);
  });

  it('finds the meter, keys and counters of a push by its system title, following registry changes', async () => {
    await keys.set({ kind: 'meter', id: 'hls-1' }, { ek: EK, ak: AK });
    const push = await security.forSystemTitle(parseSystemTitle(METER_TITLE));
    expect(push?.meterId).toBe('hls-1');
    push?.counters.acceptIncoming(5);
    expect((await security.forSystemTitle(parseSystemTitle(METER_TITLE)))?.counters.lastIncoming()).toBe(5);
    expect(await security.forSystemTitle(parseSystemTitle('4752440000000777'))).toBeUndefined();

    await registry.updateTerminal('hls', { protocol: 'dlms', enabled: true, profiles: [], dlms: dlms({ systemTitle: '4752440000000777' }) });
    expect(await security.forSystemTitle(parseSystemTitle(METER_TITLE))).toBeUndefined();
    expect((await security.forSystemTitle(parseSystemTitle('4752440000000777')))?.meterId).toBe('hls-1');
  });

  it("gives the LLS password of the meter at the address, else of its key group, else a typed error naming the keys route", async () => {
    await registry.createMeter({ id: 'lls-17', terminalId: 'lls', address: '17', ctRatio: 1, ptRatio: 1, protected: false });
    const missing = await security.passwordFor('lls', '1').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(MissingPasswordError);
    expect((missing as MissingPasswordError).code).toBe('DLMS_PASSWORD_MISSING');
    expect((missing as Error).message).toMatch(/meter lls-1 or key group west.*\/api\/v1\/meters\/:id\/keys/);

    await keys.set({ kind: 'group', name: 'west' }, { password: 'group-pw' });
    await keys.set({ kind: 'meter', id: 'lls-17' }, { password: 'own-pw-17' });
    expect(await security.passwordFor('lls', '1')).toBe('group-pw');
    expect(await security.passwordFor('lls', '17')).toBe('own-pw-17');
    // A logical device without a meter of its own (a gateway's management device) uses the terminal's meter.
    expect(await security.passwordFor('lls', '99')).toBe('group-pw');
  });

  it('restarts the counters when the keys change (IV uniqueness is per key)', async () => {
    await keys.set({ kind: 'meter', id: 'hls-1' }, { ek: EK, ak: AK });
    const old = await security.securityFor('hls');
    old?.counters.nextOutgoing();
    old?.counters.acceptIncoming(40);
    await keys.set({ kind: 'meter', id: 'hls-1' }, { ek: AK, ak: EK });
    const fresh = await security.securityFor('hls');
    expect(fresh?.counters.nextOutgoing()).toBe(1);
    expect(fresh?.counters.lastIncoming()).toBeUndefined();
  });
});
