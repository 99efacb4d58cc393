/**
 * The cluster feed over a real broker (aedes in process): what one node publishes reaches
 * the others by area, its own messages come back to it and are skipped, a message that does
 * not decode is counted and passed over, the outgoing queue is bounded while the broker is
 * away, and the assembly offers the rules every reading it applies (the engine judges by placement).
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterFeed, type ClusterFeedOptions } from '../../../../src/cluster/feed/clusterFeed.js';
import { feedTopic } from '../../../../src/cluster/feed/codec.js';
import { createClusterFeed } from '../../../../src/cluster/feed/index.js';
import { buildConfig } from '../../../../src/config/load.js';
import { meterId, terminalId, type Reading } from '../../../../src/domain/index.js';
import { ShutdownOrder } from '../../../../src/observe/closers.js';
import { LogThrottle, createLogger } from '../../../../src/observe/logger.js';
import { startAedes, type TestBroker } from '../../../helpers/aedes.js';
import { eventually } from '../../../helpers/headend.js';

const PREFIX = 'gridhead/v1';
/** Terminal T-<n> is in area A-<n>; T-0 is in none. */
const areaOf = (terminal: string): string | null => (terminal === 'T-0' ? null : `A-${terminal.slice(2)}`);

function reading(terminal: string, value: number): Reading {
  return {
    meterId: meterId(`${terminal}-m1`), quantity: 'power.active', value, unit: 'kW', ts: 1_700_000_000_000 + value, quality: 'good',
    source: { protocol: 'mqtt', terminalId: terminalId(terminal), mode: 'push' },
  };
}

interface Node {
  readonly feed: ClusterFeed;
  /** What `apply` received, message by message, with the topic's publisher. */
  readonly applied: { readonly from: string; readonly readings: readonly Reading[] }[];
}

describe('cluster feed', () => {
  let broker: TestBroker;
  const toClose: { close(): Promise<void> }[] = [];

  afterEach(async () => {
    for (const c of toClose.splice(0).reverse()) await c.close();
  });

  async function node(id: string, over: Partial<ClusterFeedOptions> = {}): Promise<Node> {
    const applied: Node['applied'] = [];
    const feed = new ClusterFeed({
      connection: { url: broker.url, reconnectPeriodMs: 100 }, clientId: `gh-${id}-feed`, topicPrefix: PREFIX, node: id,
      maxReadingsPerMessage: 100, maxPendingMessages: 100, areaOf,
      apply: (readings, from) => { applied.push({ from, readings }); },
      onProblem: () => undefined,
      ...over,
    });
    toClose.push(feed);
    await feed.start(AbortSignal.timeout(5_000));
    return { feed, applied };
  }

  async function withBroker(): Promise<void> {
    broker = await startAedes();
    toClose.push(broker);
  }

  it('hands another node\'s readings to apply, one message per area, and skips its own', async () => {
    await withBroker();
    const a = await node('node-a');
    const b = await node('node-b');
    const batch = [reading('T-1', 1), reading('T-2', 2), reading('T-1', 3), reading('T-0', 4)];
    a.feed.publish(batch);
    await eventually(() => Promise.resolve(b.applied.length === 3 ? true : undefined), 5_000, 'three area messages at node-b');
    expect(b.applied.every((m) => m.from === 'node-a')).toBe(true);
    expect(b.applied.flatMap((m) => m.readings).sort((x, y) => x.value - y.value)).toEqual(batch);
    expect(b.applied.map((m) => m.readings.map((r) => r.source.terminalId)).sort()).toEqual([['T-0'], ['T-1', 'T-1'], ['T-2']]);
    await eventually(() => Promise.resolve(a.feed.stats().own === 3 ? true : undefined), 5_000, 'node-a to skip its own three');
    expect(a.applied).toEqual([]);
    expect(b.feed.stats()).toMatchObject({ applied: 4, bad: 0 });
  });

  it('splits a batch larger than maxReadingsPerMessage into several messages', async () => {
    await withBroker();
    const a = await node('node-a', { maxReadingsPerMessage: 2 });
    const b = await node('node-b', { maxReadingsPerMessage: 2 });
    a.feed.publish([1, 2, 3, 4, 5].map((v) => reading('T-1', v)));
    await eventually(() => Promise.resolve(b.feed.stats().applied === 5 ? true : undefined), 5_000, 'five readings at node-b');
    expect(b.applied.map((m) => m.readings.length)).toEqual([2, 2, 1]);
    expect(a.feed.stats()).toMatchObject({ published: 5, publishedMessages: 3, dropped: 0 });
  });

  it('counts a message that does not decode, reports it with its code and goes on with the next', async () => {
    await withBroker();
    const problems: string[] = [];
    const a = await node('node-a');
    const b = await node('node-b', { onProblem: (p) => { problems.push(p.code); } });
    const vandal = await mqtt.connectAsync(broker.url, { clientId: 'vandal', reconnectPeriod: 0 });
    await vandal.publishAsync(feedTopic(PREFIX, 'A-1'), Buffer.from('{"v":1,"node":"node-x","readings":[["T-1-m1"]]}'), { qos: 1 });
    await vandal.publishAsync(feedTopic(PREFIX, 'A-1'), Buffer.from('not json'), { qos: 1 });
    await vandal.endAsync();
    a.feed.publish([reading('T-1', 7)]);
    await eventually(() => Promise.resolve(b.applied.length === 1 ? true : undefined), 5_000, 'the good message at node-b');
    expect(b.feed.stats()).toMatchObject({ bad: 2, applied: 1 });
    expect(problems).toEqual(['INVALID_SHAPE', 'INVALID_JSON']);
  });

  it('holds at most maxPendingMessages while the broker is away and counts the readings it drops', async () => {
    await withBroker();
    const a = await node('node-a', { maxPendingMessages: 2 });
    await broker.close();
    await eventually(() => Promise.resolve(a.feed.isConnected() ? undefined : true), 5_000, 'the feed to notice the broker is gone');
    for (let i = 0; i < 5; i++) a.feed.publish([reading('T-1', i), reading('T-1', i + 10)]);
    expect(a.feed.stats()).toMatchObject({ pending: 2, publishedMessages: 2, published: 4, dropped: 6 });
  });

  it('applies other nodes\' readings to live state and offers them all to the rules, which judge by placement (an owned area counts meters placed elsewhere)', async () => {
    await withBroker();
    const logger = createLogger('silent');
    const closers = new ShutdownOrder(logger);
    toClose.push({ close: () => closers.closeAll() });
    const live: Reading[] = [];
    const rules: Reading[] = [];
    const station = await createClusterFeed({
      config: buildConfig({}, 'test'), logger, throttle: new LogThrottle(60_000), closers,
      identity: { id: 'node-b' }, clientId: 'gh-node-b-feed', connection: { url: broker.url },
      placement: { areaOf },
      readings: { onCommitted: () => () => undefined, applyRemote: (batch) => { live.push(...batch); return Promise.resolve(); } },
      rules: { name: 'rules', write: (batch) => { rules.push(...batch); } },
    });
    expect(station).toBeDefined();
    const a = await node('node-a');
    const batch = [reading('T-1', 1), reading('T-2', 2), reading('T-0', 3)];
    a.feed.publish(batch);
    await eventually(() => Promise.resolve(live.length === 3 ? true : undefined), 5_000, 'node-b to apply three readings');
    await eventually(() => Promise.resolve(rules.length === 3 ? true : undefined), 5_000, 'node-b to offer its rules three readings');
    expect(rules.map((r) => r.source.terminalId).sort()).toEqual(['T-0', 'T-1', 'T-2']);
    expect(station?.feed.stats()).toMatchObject({ applied: 3 });
  });

  it('has no feed on a node without peers', async () => {
    const logger = createLogger('silent');
    const station = await createClusterFeed({
      config: buildConfig({}, 'test'), logger, throttle: new LogThrottle(60_000), closers: new ShutdownOrder(logger),
      identity: { id: 'solo' }, clientId: undefined, connection: { url: 'mqtt://127.0.0.1:1' },
      placement: { areaOf },
      readings: { onCommitted: () => () => undefined, applyRemote: () => Promise.resolve() },
      rules: undefined,
    });
    expect(station).toBeUndefined();
  });
});
