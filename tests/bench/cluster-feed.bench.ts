/**
 * What the cluster feed costs per reading (src/cluster/feed/).
 *
 * 1. The codec alone: encoding and decoding 500-reading messages (`cluster.feed.maxReadingsPerMessage`
 *    default), CPU per reading.
 * 2. End to end through a real broker: node A publishes committed batches of 5,000 readings
 *    (the pipeline's default drain batch) spread over 200 transformer areas, so 25 readings
 *    per area and message, node B applies them to live state; both feeds in this one process,
 *    Debian's mosquitto in its own (aedes in this one when mosquitto is not installed, then
 *    its CPU is counted too). Throughput and this process's CPU per reading; a node pays its
 *    publishing half for what it stores and its applying half for every other node's readings.
 */
import { it } from 'vitest';
import { ClusterFeed } from '../../src/cluster/feed/clusterFeed.js';
import { decodeFeed, encodeFeed } from '../../src/cluster/feed/codec.js';
import { meterId, terminalId, type Quantity, type Reading } from '../../src/domain/index.js';
import { LatestValues } from '../../src/live/latest.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';

const TERMINALS = 10_000;
const AREAS = 200;
const QUANTITIES: readonly Quantity[] = ['power.active', 'voltage.l1', 'current.l1', 'energy.active.import'];
const BATCH = 5_000;
const PER_MESSAGE = 500;

function batchAt(k: number): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; out.length < BATCH; i++) {
    const t = (k * BATCH + i) % TERMINALS;
    for (const q of QUANTITIES) {
      out.push({
        meterId: meterId(`tx-${t % AREAS}-m-${t}`), quantity: q, value: 230.1 + (i % 97) / 10, unit: '', ts: 1_700_000_000_000 + k * 1_000,
        quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId(`tx-${t % AREAS}-t-${t}`), mode: 'push' },
      });
    }
  }
  return out;
}

it('cluster feed codec', () => {
  const readings = batchAt(0).slice(0, PER_MESSAGE);
  const rounds = 2_000;
  for (let i = 0; i < 200; i++) decodeFeed(encodeFeed('node-a', readings), { maxReadings: PER_MESSAGE });
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const payload = encodeFeed('node-a', readings);
    bytes += payload.length;
    if (!decodeFeed(payload, { maxReadings: PER_MESSAGE }).ok) throw new Error('the feed codec refused its own message');
  }
  const cpu = process.cpuUsage(cpu0);
  const n = rounds * PER_MESSAGE;
  console.log(`bench: cluster-feed codec encode+decode CPU per reading = ${((cpu.user + cpu.system) / n).toFixed(3)} µs`);
  console.log(`bench: cluster-feed payload per reading = ${(bytes / n).toFixed(1)} bytes`);
});

it('cluster feed end to end over a broker', async () => {
  const onMosquitto = mosquittoPath() !== null;
  const broker: TestBroker = onMosquitto ? await startMosquitto({ extraConfig: ['max_queued_messages 0', 'max_inflight_messages 1000'] }) : await startAedes();
  const via = onMosquitto ? 'mosquitto' : 'aedes in process';
  const live = new LatestValues();
  let applied = 0;
  const common = { connection: { url: broker.url }, topicPrefix: 'gridhead/v1', maxReadingsPerMessage: PER_MESSAGE, maxPendingMessages: 1_000, onProblem: () => undefined };
  const areaOf = (t: string): string => t.slice(0, t.indexOf('-t-'));
  const b = new ClusterFeed({ ...common, clientId: 'bench-b-feed', node: 'node-b', areaOf, apply: (r) => { live.write(r); applied += r.length; } });
  const a = new ClusterFeed({ ...common, clientId: 'bench-a-feed', node: 'node-a', areaOf, apply: () => undefined });
  try {
    await b.start(AbortSignal.timeout(5_000));
    await a.start(AbortSignal.timeout(5_000));
    const batches = Array.from({ length: 40 }, (_, k) => batchAt(k));
    const total = batches.length * BATCH;
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    for (const batch of batches) {
      // The pipeline hands the feed one committed batch per store transaction; wait for room as the pipeline would for its next.
      while (a.stats().pending > 500) await new Promise((r) => setImmediate(r));
      a.publish(batch);
    }
    while (applied < total) await new Promise((r) => setTimeout(r, 5));
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - started) / 1000;
    if (a.stats().dropped > 0) throw new Error(`the feed dropped ${a.stats().dropped} readings`);
    console.log(`bench: cluster-feed end to end (publish → ${via} → apply to live, ${(total / a.stats().publishedMessages).toFixed(0)} readings per message) = ${Math.round(total / seconds)} readings/s`);
    console.log(`bench: cluster-feed end to end CPU per reading (publishing and applying node) = ${((cpu.user + cpu.system) / total).toFixed(2)} µs`);
  } finally {
    await a.close();
    await b.close();
    await broker.close();
  }
});
