/**
 * MQTT OTA end to end over real sockets, on aedes in process and on Debian's mosquitto: the
 * station's channel offers, the simulated terminal downloads from the real download route
 * (public, behind the access control every route passes), checks the hash, reports and
 * activates; bad reports are counted and logged once, and never break the channel.
 */
import { createHash } from 'node:crypto';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { otaReportTopic } from '../../../../protocols/mqtt/ota.js';
import type { SimulatedOtaOptions } from '../../../../simulators/mqtt/ota.js';
import { MqttOtaChannel } from '../../../../src/firmware/ota/mqttOtaChannel.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { startAedes, type TestBroker } from '../../../helpers/aedes.js';
import { mosquittoPath, startMosquitto } from '../../../helpers/mosquitto.js';
import { IMAGE, PREFIX, SHA256, TERMINAL, startOtaRig } from '../../../helpers/otaRig.js';

const noMosquitto = mosquittoPath() === null;
if (noMosquitto) console.log('MQTT OTA on mosquitto: skipped, mosquitto is not installed (apt-get install mosquitto)');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const brokers: [string, boolean, () => Promise<TestBroker>][] = [
  ['aedes', false, () => startAedes()],
  ['mosquitto', noMosquitto, () => startMosquitto()],
];

const rig = (startBroker: () => Promise<TestBroker>, ota: SimulatedOtaOptions = {}) => startOtaRig(startBroker, cleanups, { ota });

describe.each(brokers)('MQTT OTA over %s', (_name, skip, startBroker) => {
  it.skipIf(skip)('offers an image that the terminal downloads from the station, verifies and activates; its birth then carries the new version', async () => {
    const r = await rig(startBroker);
    await r.offer('o-1', 'TRM-2.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'activated'));
    const reports = r.reportsOf('o-1');
    expect(reports[0]).toEqual({ offerId: 'o-1', state: 'downloading', progress: 0 });
    const progress = reports.filter((rep) => rep.state === 'downloading').map((rep) => rep.progress);
    expect(progress).toEqual([...progress].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(reports.filter((rep) => rep.state !== 'downloading')).toEqual([
      { offerId: 'o-1', state: 'downloaded' }, { offerId: 'o-1', state: 'verified' }, { offerId: 'o-1', state: 'activated', version: 'TRM-2.0.0' },
    ]);
    expect(r.got.every(([terminalId]) => terminalId === TERMINAL)).toBe(true);
    expect(r.terminal.firmwareVersion).toBe('TRM-2.0.0');
    expect(r.terminal.stats().ota).toMatchObject({ downloads: 1, refused: 0 });
    expect(await r.birthVersion('TRM-2.0.0')).toBe('TRM-2.0.0');
    await r.until(() => r.downloads.active === 0);
    expect(r.channel.stats()).toEqual({
      offered: 1, reports: reports.length, malformed: 0, listenerErrors: 0,
      reportsByState: { downloading: reports.length - 3, downloaded: 1, verified: 1, failed: 0, activated: 1 },
    });
    expect(r.downloads.stats()).toMatchObject({ started: { whole: 1, range: 0 }, completed: { whole: 1, range: 0 }, bytesServed: IMAGE.byteLength });
  });

  it.skipIf(skip)('reports a corrupted image as failed with hash-mismatch and keeps the old version', async () => {
    const r = await rig(startBroker, { corruptHash: true });
    await r.offer('o-2', 'TRM-2.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'failed'));
    expect(r.reportsOf('o-2').filter((rep) => rep.state !== 'downloading')).toEqual([
      { offerId: 'o-2', state: 'downloaded' }, { offerId: 'o-2', state: 'failed', reason: 'hash-mismatch' },
    ]);
    expect(r.terminal.firmwareVersion).toBe('SIM-MQTT-1.0.0');
  });

  it.skipIf(skip)('reports a failed download with its reason', async () => {
    const r = await rig(startBroker, { failDownload: true });
    await r.offer('o-3', 'TRM-2.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'failed'));
    expect(r.reportsOf('o-3')).toEqual([
      { offerId: 'o-3', state: 'downloading', progress: 0 }, { offerId: 'o-3', state: 'failed', reason: 'download-failed: simulated network failure' },
    ]);
  });

  it.skipIf(skip)('holds a verified image offered for later, answers a repeated offer with its state, and activates on the same offer saying now', async () => {
    const r = await rig(startBroker);
    await r.offer('o-4', 'TRM-3.0.0', 'later');
    await r.until((got) => got.some(([, rep]) => rep.state === 'verified'));
    expect(r.terminal.firmwareVersion).toBe('SIM-MQTT-1.0.0');
    const before = r.got.length;
    await r.offer('o-4', 'TRM-3.0.0', 'later');
    await r.until((got) => got.length > before);
    expect(r.got[before]?.[1]).toEqual({ offerId: 'o-4', state: 'verified' });
    await r.offer('o-4', 'TRM-3.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'activated'));
    expect(r.reportsOf('o-4').at(-1)).toEqual({ offerId: 'o-4', state: 'activated', version: 'TRM-3.0.0' });
    expect(r.terminal.stats().ota.downloads).toBe(1);
    expect(r.terminal.firmwareVersion).toBe('TRM-3.0.0');
  });

  it.skipIf(skip)('answers 404 for an expired token, and the terminal reports the failed download', async () => {
    const r = await rig(startBroker);
    const grant = r.downloads.grant('o-5', 'img-1');
    r.advance(60_001);
    const res = await fetch(grant.url);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404, code: 'OTA_TOKEN_UNKNOWN' });
    await r.channel.offer(TERMINAL, { offerId: 'o-5', url: grant.url, sha256: SHA256, size: IMAGE.byteLength, version: 'TRM-2.0.0', activate: 'now' });
    await r.until((got) => got.some(([, rep]) => rep.state === 'failed'));
    expect(r.reportsOf('o-5').at(-1)).toEqual({ offerId: 'o-5', state: 'failed', reason: 'download-failed: HTTP 404' });
  });

  it.skipIf(skip)('answers 503 with Retry-After while every download slot is taken', async () => {
    const r = await rig(startBroker);
    const held = await Promise.all(['h-1', 'h-2'].map(async (id) => r.downloads.open(r.downloads.grant(id, 'img-1').token)));
    const res = await fetch(r.downloads.grant('o-6', 'img-1').url);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '30']);
    expect(await res.json()).toMatchObject({ code: 'OTA_DOWNLOADS_BUSY' });
    for (const h of held) h.release(0);
    const ok = await fetch(r.downloads.grant('o-7', 'img-1').url);
    expect([ok.status, ok.headers.get('content-length'), ok.headers.get('etag'), ok.headers.get('accept-ranges')]).toEqual([200, String(IMAGE.byteLength), `"${SHA256}"`, 'bytes']);
    expect(createHash('sha256').update(new Uint8Array(await ok.arrayBuffer())).digest('hex')).toBe(SHA256);
  });

  it.skipIf(skip)('counts malformed reports and logs each problem code once, keeps serving listeners, and survives a listener that throws', async () => {
    const r = await rig(startBroker);
    r.channel.onReport(() => { throw new Error('listener bug'); });
    const raw = await mqtt.connectAsync(r.broker.url, { clientId: 'ota-raw-publisher', protocolVersion: 4 });
    cleanups.push(() => raw.endAsync());
    const topic = otaReportTopic(PREFIX, TERMINAL);
    await raw.publishAsync(topic, 'not json', { qos: 1 });
    await raw.publishAsync(topic, JSON.stringify({ offerId: 'o-8', state: 'installing' }), { qos: 1 });
    await raw.publishAsync(topic, JSON.stringify({ offerId: 'o-8', state: 'failed' }), { qos: 1 });
    await raw.publishAsync(topic, Buffer.alloc(5000, 0x20), { qos: 1 });
    await raw.publishAsync(`${PREFIX}/bad id/ota/report`, JSON.stringify({ offerId: 'o-8', state: 'verified' }), { qos: 1 });
    await raw.publishAsync(topic, JSON.stringify({ offerId: 'o-8', state: 'verified' }), { qos: 1 });
    await r.until((got) => got.length > 0);
    expect(r.got).toEqual([[TERMINAL, { offerId: 'o-8', state: 'verified' }]]);
    expect(r.channel.stats()).toEqual({
      offered: 0, reports: 1, malformed: 5, listenerErrors: 1, reportsByState: { downloading: 0, downloaded: 0, verified: 1, failed: 0, activated: 0 },
    });
    // Two INVALID_SHAPE refusals, one line; the other codes one line each.
    expect(r.logLines.map((l) => l.code).sort()).toEqual(['INVALID_JSON', 'INVALID_SHAPE', 'INVALID_TERMINAL_ID', 'LISTENER', 'TOO_LARGE']);
  });
});

describe('MQTT OTA channel refusals', () => {
  const offer = { offerId: 'o-9', url: 'http://127.0.0.1:1/api/v1/firmware/ota/x', sha256: SHA256, size: 10, version: 'TRM-2.0.0', activate: 'now' as const };

  it('refuses a bad terminal id or offer before publishing, times out on an unreachable broker, and refuses offers once closed', async () => {
    const channel = new MqttOtaChannel({
      connection: { url: 'mqtt://127.0.0.1:1', reconnectPeriodMs: 50 }, clientId: 'gridhead-ota-nobroker', topicPrefix: PREFIX,
      logger: createLogger('silent'), publishTimeoutMs: 200, maxPendingOffers: 1,
    });
    cleanups.push(() => channel.close());
    await expect(channel.offer('bad/id', offer)).rejects.toMatchObject({ code: 'INVALID_TERMINAL_ID' });
    await expect(channel.offer(TERMINAL, { ...offer, sha256: 'nope' })).rejects.toMatchObject({ code: 'INVALID_SHAPE', path: '$.sha256' });
    await expect(channel.offer(TERMINAL, offer)).rejects.toMatchObject({ code: 'TIMEOUT' });
    // The timed-out offer stays queued in the client until the broker is back: it still takes the one slot.
    await expect(channel.offer(TERMINAL, offer)).rejects.toMatchObject({ code: 'OTA_OFFERS_BUSY' });
    await channel.close();
    await expect(channel.offer(TERMINAL, offer)).rejects.toMatchObject({ code: 'ADAPTER_STATE' });
  });
});
