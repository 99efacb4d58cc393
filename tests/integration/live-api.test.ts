/**
 * The dashboard's live API against a whole head-end with simulated Modbus and MQTT meters:
 * the overview, the SSE stream over a real HTTP connection, and a meter's state after a
 * verified disconnect of a simulated Modbus meter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchApi } from '../helpers/api.js';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let he: TestHeadEnd;

beforeAll(async () => {
  he = await startTestHeadEnd({
    ...FAST_FLEET,
    control: { confirmAbove: 5, perTerminalRatePerMinute: 600, commandTimeoutMs: 4_000 },
    simulators: { ...FAST_FLEET.simulators, mqtt: { count: 1, metersPerTerminal: 2, publishIntervalMs: 300 }, dlms: { count: 0 } },
    analysis: { streamOverviewMs: 200 },
  });
}, 60_000);

afterAll(async () => {
  await he.stop();
});

interface OverviewArea { id: string; loadKw: number | null; limitKw: number | null; meters: number; metersReporting: number; state: string; parentId: string | null }

describe('live overview', () => {
  it('sums each area\'s subtree, gives transformer limits, and counts reporting meters', async () => {
    const body = await eventually(async () => {
      const res = await fetchApi(he, '/api/v1/live/overview');
      const b = await res.json() as { totalKw: number; areas: OverviewArea[] };
      return b.areas.every((a) => a.metersReporting === a.meters && a.meters > 0) ? b : undefined;
    }, 20_000, 'every meter reporting');
    const by = new Map(body.areas.map((a) => [a.id, a]));
    const tx1 = by.get('tx1');
    const tx2 = by.get('tx2');
    const r1 = by.get('r1');
    expect(tx1).toMatchObject({ limitKw: 360, parentId: 'r1', state: 'normal' });
    expect(tx2?.limitKw).toBeCloseTo(567);
    expect(r1).toMatchObject({ limitKw: null, meters: (tx1?.meters ?? 0) + (tx2?.meters ?? 0) });
    expect(r1?.loadKw).toBeCloseTo((tx1?.loadKw ?? NaN) + (tx2?.loadKw ?? NaN), 6);
    expect(body.totalKw).toBeCloseTo(r1?.loadKw ?? NaN, 6);
  });
});

describe('live stream', () => {
  it('delivers an overview and the chosen meter\'s readings over server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetchApi(he, '/api/v1/live/stream?meter=sim-mb-01-1', { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const decoder = new TextDecoder();
    let text = '';
    const seen = new Set<string>();
    let meterEvent: { meterId: string; values: { quantity: string; value: number; unit: string; ts: string }[] } | undefined;
    try {
      while (!(seen.has('overview') && seen.has('meter'))) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value as Uint8Array, { stream: true });
        let end;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const frame = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (\w+)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event === undefined || data === undefined) continue;
          seen.add(event);
          if (event === 'meter') meterEvent = JSON.parse(data) as typeof meterEvent;
        }
      }
    } finally {
      controller.abort();
    }
    expect(seen).toEqual(new Set(['overview', 'meter']));
    expect(meterEvent?.meterId).toBe('sim-mb-01-1');
    expect(meterEvent?.values.map((v) => v.quantity)).toContain('power.active');
  });

  it('answers 404 for a stream of an unknown meter', async () => {
    const res = await fetchApi(he, '/api/v1/live/stream?meter=nope');
    expect(res.status).toBe(404);
  });
});

describe('meter state', () => {
  it('shows the relay open after a verified disconnect of a simulated Modbus meter', async () => {
    const post = await fetchApi(he, '/api/v1/commands', {
      method: 'POST', body: JSON.stringify({ type: 'disconnect', meterIds: ['sim-mb-01-1'], reason: 'test' }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'live-state-1' },
    });
    expect(post.status).toBe(201);
    const { id } = await post.json() as { id: string };
    const done = await eventually(async () => {
      const c = await (await fetchApi(he, `/api/v1/commands/${id}`)).json() as { status: string };
      return c.status === 'open' ? undefined : c;
    }, 20_000, 'the command to finish');
    expect(done.status).toBe('verified');
    const res = await fetchApi(he, '/api/v1/meters/sim-mb-01-1/state');
    expect(res.status).toBe(200);
    const state = await res.json() as Record<string, unknown>;
    expect(state).toMatchObject({ meterId: 'sim-mb-01-1', online: true, relay: { connected: false, source: 'command' }, openAlarms: 0, protected: false });
    expect(typeof state.lastSeen).toBe('string');
    expect(await fetchApi(he, '/api/v1/meters/nope/state')).toMatchObject({ status: 404 });
  });
});
