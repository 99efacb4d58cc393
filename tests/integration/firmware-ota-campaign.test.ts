/**
 * A firmware campaign end to end over real sockets for MQTT terminals: the whole station
 * (startHeadEnd) with its embedded broker and simulated MQTT terminals; an image uploaded over
 * HTTP, a campaign on the MQTT group started; the runner on the leader offers the image over
 * the broker, each simulated terminal downloads it over HTTP from the station, checks the
 * SHA-256, reports and activates; the campaign completes with every device done, and the
 * terminals run the new version; /metrics counts the offers, the reports and the downloads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let he: TestHeadEnd;

/** GET /api/v1/devices/terminal/:id; no `device` while the register does not have it (404). */
interface Detail {
  readonly device?: { readonly firmwareVersion: string | null };
  readonly firmwareHistory: readonly { readonly to: string; readonly source: string }[];
}

beforeAll(async () => {
  he = await startTestHeadEnd({
    ...FAST_FLEET,
    simulators: { ...FAST_FLEET.simulators, modbus: { ...FAST_FLEET.simulators.modbus, count: 1 }, dlms: { ...FAST_FLEET.simulators.dlms, count: 1 }, mqtt: { count: 3, metersPerTerminal: 1, publishIntervalMs: 1_000 } },
    firmware: { tickMs: 100 },
  });
}, 60_000);
afterAll(async () => { await he.stop(); });

describe('an MQTT OTA campaign through the station', () => {
  it('offers, the terminals download and activate, and the campaign completes', async () => {
    const terminals = he.fleet?.mqtt ?? [];
    expect(terminals).toHaveLength(3);
    // Before any campaign, the device register knows each terminal's version from its birth message.
    const detailOf = async (id: string) => (await he.get(`/api/v1/devices/terminal/${id}`)).body as Detail;
    for (const t of terminals) {
      const before = t.firmwareVersion;
      await eventually(async () => ((await detailOf(t.terminalId)).device?.firmwareVersion === before ? true : undefined), 15_000, `${t.terminalId}'s birth version in the register`);
    }
    const image = Buffer.alloc(40_000, 0x5a);
    const uploaded = await fetchApi(he, '/api/v1/firmware/images?identifier=MQ-FW-2.0', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: image });
    expect(uploaded.status).toBe(201);
    const { id: imageId } = await uploaded.json() as { id: string };
    const created = await he.send('POST', '/api/v1/firmware/campaigns', { name: 'mqtt ota', imageId, group: { protocol: 'mqtt' }, rate: { total: 2 } });
    expect(created.status).toBe(201);
    const campaign = created.body as { id: string; counts: { total: number } };
    expect(campaign.counts.total).toBe(3);
    expect((await he.send('POST', `/api/v1/firmware/campaigns/${campaign.id}/start`)).status).toBe(200);
    const done = await eventually(async () => {
      const c = (await he.get(`/api/v1/firmware/campaigns/${campaign.id}`)).body as { state: string; counts: Record<string, number> };
      return c.state === 'running' ? undefined : c;
    }, 45_000, 'the campaign to end');
    expect(done).toMatchObject({ state: 'completed', counts: { done: 3, failed: 0, total: 3 } });
    const devices = (await he.get(`/api/v1/firmware/campaigns/${campaign.id}/devices`)).body as { items: { toVersion: string }[] };
    expect(devices.items.map((d) => d.toVersion)).toEqual(['MQ-FW-2.0', 'MQ-FW-2.0', 'MQ-FW-2.0']);
    expect(he.fleet?.mqtt.map((t) => t.firmwareVersion)).toEqual(['MQ-FW-2.0', 'MQ-FW-2.0', 'MQ-FW-2.0']);
    for (const t of terminals) {
      const after = await eventually(async () => {
        const d = await detailOf(t.terminalId);
        return d.device?.firmwareVersion === 'MQ-FW-2.0' ? d : undefined;
      }, 15_000, `${t.terminalId}'s new version in the register`);
      expect(after.firmwareHistory[0]).toMatchObject({ to: 'MQ-FW-2.0' });
    }
    // A lost report makes the campaign offer again, which the terminal answers without downloading again: at least, not exactly.
    // A download counts once the station closed its response, which may come a moment after the terminal read the last byte.
    const metrics = await eventually(async () => {
      const text = await (await fetchApi(he, '/metrics')).text();
      return metricValue(text, 'gridhead_firmware_ota_downloads_active') === 0 ? text : undefined;
    }, 5_000, 'the OTA downloads to close');
    expect(metricValue(metrics, 'gridhead_firmware_ota_offers_total')).toBeGreaterThanOrEqual(3);
    expect(metricValue(metrics, 'gridhead_firmware_ota_reports_total{state="activated"}')).toBeGreaterThanOrEqual(3);
    expect(metricValue(metrics, 'gridhead_firmware_ota_reports_total{state="failed"}')).toBe(0);
    expect(metricValue(metrics, 'gridhead_firmware_ota_reports_malformed_total')).toBe(0);
    expect(metricValue(metrics, 'gridhead_firmware_ota_downloads_started_total{response="whole"}')).toBe(3);
    expect(metricValue(metrics, 'gridhead_firmware_ota_downloads_completed_total{response="whole"}')).toBe(3);
    expect(metricValue(metrics, 'gridhead_firmware_ota_downloads_refused_total{reason="unknown_token"}')).toBe(0);
    expect(metricValue(metrics, 'gridhead_firmware_ota_served_bytes_total')).toBe(3 * image.byteLength);
  }, 90_000);
});

/** The value of one series of a Prometheus text exposition, `name` with its labels as exposed. */
function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}
