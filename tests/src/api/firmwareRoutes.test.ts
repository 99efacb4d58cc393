/**
 * The firmware routes through the station's own API (buildApi) on a real socket, with the real
 * access service: reads for viewers, uploads and campaign definition for admins, pause and
 * cancel for operators too; an upload past firmware.maxImageBytes is a 413; an unknown image a
 * 400, a group of none a 422 CAMPAIGN_GROUP_EMPTY, an illegal step a 409, all problem+json; the
 * device list pages by keyset and exports CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { FirmwareFleet } from '../firmware/fleetFixture.js';
import { listenRouteApi } from '../../helpers/routeApi.js';

const MAX_IMAGE = 4_096;
let fleet: FirmwareFleet;
let url: string;
let close: () => Promise<void>;
const tokens: Record<'admin' | 'operator' | 'viewer', string> = { admin: '', operator: '', viewer: '' };

beforeAll(async () => {
  const terminals = Object.fromEntries(Array.from({ length: 5 }, (_, t) => [`t${t}`, [`m${t}`]]));
  fleet = new FirmwareFleet({ terminals });
  const registry = await Registry.open(new SqliteRegistryStore(fleet.db), { registerMapExists: () => true, profileExists: () => true });
  const auth = new AuthService(new SqliteAuthStore(fleet.db), { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 } });
  for (const role of ['admin', 'operator', 'viewer'] as const) tokens[role] = (await auth.createToken({ name: role, role }, 'test')).token;
  const { app, origin } = await listenRouteApi({ registry, audit: fleet.audit, auth: { service: auth, sessionMaxMs: 3_600_000 }, firmware: { service: fleet.service, maxImageBytes: MAX_IMAGE } });
  url = `${origin}/api/v1`;
  close = async () => { await app.close(); await auth.close(); fleet.close(); };
});
afterAll(async () => { await close(); });

type Who = keyof typeof tokens | 'nobody';
interface Answer { status: number; type: string | null; text: string; json: Record<string, unknown> }

async function call(who: Who, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
  if (who !== 'nobody') headers.authorization = `Bearer ${tokens[who]}`;
  const payload = body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(`${url}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: res.headers.get('content-type')?.includes('json') === true ? JSON.parse(text) as Record<string, unknown> : {} };
}

let imageId = '';

describe('firmware images over HTTP', () => {
  it('takes an octet-stream upload from an admin only, and refuses one past firmware.maxImageBytes with a 413', async () => {
    const image = new Uint8Array(2_000).fill(7);
    expect((await call('operator', 'POST', '/firmware/images?identifier=GRD-FW-2.0', image, 'application/octet-stream')).status).toBe(403);
    expect((await call('nobody', 'POST', '/firmware/images?identifier=GRD-FW-2.0', image, 'application/octet-stream')).status).toBe(401);
    const created = await call('admin', 'POST', '/firmware/images?identifier=GRD-FW-2.0&version=2.0.0&signature=ABCD', image, 'application/octet-stream');
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ identifier: 'GRD-FW-2.0', version: '2.0.0', size: 2_000, signature: 'abcd', uploadedBy: 'token:admin' });
    imageId = created.json.id as string;
    const tooLarge = await call('admin', 'POST', '/firmware/images?identifier=big', new Uint8Array(MAX_IMAGE + 1), 'application/octet-stream');
    expect([tooLarge.status, tooLarge.type]).toEqual([413, 'application/problem+json; charset=utf-8']);
    expect((await call('admin', 'POST', '/firmware/images', image, 'application/octet-stream')).status).toBe(400);
    expect((await call('viewer', 'GET', '/firmware/images')).json.items).toHaveLength(1);
    expect((await call('viewer', 'GET', `/firmware/images/${imageId}`)).json).toMatchObject({ id: imageId, size: 2_000 });
    expect((await call('viewer', 'GET', '/firmware/images/nope')).status).toBe(404);
  });
});

describe('firmware campaigns over HTTP', () => {
  let campaignId = '';

  it('refuses an unknown image (400) and a group of none (422 CAMPAIGN_GROUP_EMPTY), and creates a draft', async () => {
    const unknown = await call('admin', 'POST', '/firmware/campaigns', { name: 'x', imageId: 'nope', group: { meterType: 'GRD-3P' } });
    expect([unknown.status, unknown.json.code]).toEqual([400, 'VALIDATION']);
    const empty = await call('admin', 'POST', '/firmware/campaigns', { name: 'x', imageId, group: { meterType: 'NONE' } });
    expect([empty.status, empty.json.code, empty.type]).toEqual([422, 'CAMPAIGN_GROUP_EMPTY', 'application/problem+json; charset=utf-8']);
    expect((await call('operator', 'POST', '/firmware/campaigns', { name: 'x', imageId, group: { meterType: 'GRD-3P' } })).status).toBe(403);
    const created = await call('admin', 'POST', '/firmware/campaigns', {
      name: 'GRD 2.0', imageId, group: { meterType: 'GRD-3P' }, window: { daily: { from: '22:00', to: '05:00' } }, rate: { total: 4 }, failureBudget: { percent: 5 },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      state: 'draft', image: { id: imageId }, rate: { perTerminal: 1, total: 4 }, failureBudget: { percent: 5, minFailed: 3 }, activation: { at: 'now' },
      window: { daily: { from: '22:00', to: '05:00' } }, counts: { pending: 5, total: 5 },
    });
    campaignId = created.json.id as string;
  });

  it('lets admins start and resume, operators pause and cancel, and answers an illegal step with a 409', async () => {
    expect((await call('operator', 'POST', `/firmware/campaigns/${campaignId}/start`)).status).toBe(403);
    expect((await call('viewer', 'POST', `/firmware/campaigns/${campaignId}/pause`)).status).toBe(403);
    const conflict = await call('operator', 'POST', `/firmware/campaigns/${campaignId}/pause`);
    expect([conflict.status, conflict.json.code]).toEqual([409, 'CAMPAIGN_STATE']);
    expect((await call('admin', 'POST', `/firmware/campaigns/${campaignId}/start`)).json).toMatchObject({ state: 'running' });
    expect((await call('operator', 'POST', `/firmware/campaigns/${campaignId}/pause`)).json).toMatchObject({ state: 'paused', pauseReason: 'operator' });
    expect((await call('admin', 'POST', `/firmware/campaigns/${campaignId}/resume`)).json).toMatchObject({ state: 'running' });
    expect((await call('admin', 'POST', `/firmware/campaigns/${campaignId}/start`)).status).toBe(409);
    expect((await call('viewer', 'GET', '/firmware/campaigns')).json.items).toHaveLength(1);
    expect((await call('viewer', 'GET', `/firmware/campaigns/${campaignId}`)).json).toMatchObject({ id: campaignId, state: 'running' });
    expect((await call('viewer', 'POST', '/firmware/campaigns/nope/start')).status).toBe(403);
    expect((await call('admin', 'POST', '/firmware/campaigns/nope/start')).status).toBe(404);
  });

  it('pages the devices by keyset and exports them as CSV', async () => {
    const first = await call('viewer', 'GET', `/firmware/campaigns/${campaignId}/devices?limit=2`);
    expect((first.json.items as { meterId: string }[]).map((d) => d.meterId)).toEqual(['m0', 'm1']);
    expect(first.json.next).toBe('m1');
    const rest = await call('viewer', 'GET', `/firmware/campaigns/${campaignId}/devices?limit=10&after=m1`);
    expect((rest.json.items as { meterId: string }[]).map((d) => d.meterId)).toEqual(['m2', 'm3', 'm4']);
    expect(rest.json.next).toBeUndefined();
    expect((await call('viewer', 'GET', `/firmware/campaigns/${campaignId}/devices?state=failed`)).json.items).toEqual([]);
    const csv = await call('viewer', 'GET', `/firmware/campaigns/${campaignId}/devices?format=csv`);
    expect(csv.type).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('meter_id,terminal_id,state,blocks_held,blocks_total,attempts,code,reason,from_version,to_version,updated_at');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['m0,t0,pending', 'm1,t1,pending', 'm2,t2,pending', 'm3,t3,pending', 'm4,t4,pending']);
    expect((await call('operator', 'POST', `/firmware/campaigns/${campaignId}/cancel`)).json).toMatchObject({ state: 'cancelled' });
  });
});
