/**
 * Scenarios on simulated MQTT terminals, seen by a subscriber on an in-process aedes broker:
 * a voltage sag changes the published telemetry in its window only; an outage makes the
 * broker publish the terminal's last will, telemetry stops, and the terminal comes back with
 * a birth message and telemetry when the outage ends.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioConfig } from '../../../simulators/config.js';
import { MeterModel } from '../../../simulators/loadShape.js';
import { startAedes, type TestBroker } from '../../helpers/aedes.js';
import { HOUR, T0, scenario, simulatorConfig, startScenarioFleet, type ScenarioFleet } from './fleetFixture.js';

const WINDOW = { startAfterMs: 60_000, durationMs: 3 * HOUR, repeatEveryMs: 6 * HOUR };
const BEFORE = T0 + 30_000;
const DURING = T0 + HOUR;
const AFTER = T0 + 4 * HOUR;

interface Seen { readonly topic: string; readonly body: { online?: boolean; ts?: number; meters?: { address: string; values: Record<string, number> }[] } }

let broker: TestBroker;
let subscriber: MqttClient;
let s: ScenarioFleet | undefined;
const seen: Seen[] = [];
const waiters: { match: (m: Seen) => boolean; resolve: (m: Seen) => void }[] = [];

beforeAll(async () => {
  broker = await startAedes();
  subscriber = await mqtt.connectAsync(broker.url, { clientId: 'scenario-test-sub', reconnectPeriod: 0 });
  subscriber.on('message', (topic, payload) => {
    const m: Seen = { topic, body: JSON.parse(payload.toString('utf8')) as Seen['body'] };
    seen.push(m);
    for (const w of waiters.filter((x) => x.match(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  await subscriber.subscribeAsync('scn/v1/#', { qos: 1 });
});

afterEach(async () => {
  await s?.fleet.stop();
  s = undefined;
});

afterAll(async () => {
  await subscriber.endAsync();
  await broker.close();
});

/** The next message (from now on) matching `match`; the test's own timeout bounds the wait. */
function next(match: (m: Seen) => boolean): Promise<Seen> {
  return new Promise((resolve) => { waiters.push({ match, resolve }); });
}

const status = (terminal: string, online: boolean) => (m: Seen) => m.topic === `scn/v1/${terminal}/status` && m.body.online === online;
const telemetry = (terminal: string, ts?: number) => (m: Seen) => m.topic === `scn/v1/${terminal}/telemetry` && (ts === undefined || m.body.ts === ts);

async function fleetWith(...scenarios: ScenarioConfig[]): Promise<ScenarioFleet> {
  const f = await startScenarioFleet(simulatorConfig({ mqtt: 2, scenarios }), broker.url);
  s = f;
  return f;
}

/** Publishes terminal `i`'s telemetry at the fake clock's now and returns its first meter's values as received. */
async function publishAndReceive(f: ScenarioFleet, i: number): Promise<Record<string, number>> {
  const terminal = `sim-mq-0${i}`;
  const received = next(telemetry(terminal, f.clock.now()));
  await f.fleet.mqtt[i - 1]?.publishNow();
  return (await received).body.meters?.[0]?.values ?? {};
}

/** Fleet seed 7, terminal 1, first meter: the seed simulators/mqtt/terminal.ts gives it. */
const base = (ts: number) => new MeterModel({ seed: Math.imul(7 * 20_000 + 1, 1_000_003) | 0, startTs: T0 }).baseInstant(ts);

describe('scenarios on simulated MQTT terminals', () => {
  it('voltage sag lowers the published phase voltage in its window only', async () => {
    const f = await fleetWith(scenario({ kind: 'voltage-sag', meters: ['sim-mq-01-1'], phase: 'l1', percentOfNominal: 80, ...WINDOW }));
    await f.fleet.startPublishing();
    for (const [ts, k] of [[BEFORE, 1], [DURING, 0.8], [AFTER, 1]] as const) {
      await f.at(ts);
      const v = await publishAndReceive(f, 1);
      expect(v['voltage.l1']).toBeCloseTo(base(ts).voltage[0] * k, 1);
      expect(v['voltage.l2']).toBeCloseTo(base(ts).voltage[1], 1);
    }
  });

  it('outage fires the last will, stops the telemetry, and brings the terminal back with a birth and telemetry', async () => {
    const f = await fleetWith(scenario({ kind: 'outage', terminals: ['sim-mq-02'], ...WINDOW }));
    const birth = next(status('sim-mq-02', true));
    await f.fleet.startPublishing();
    await birth;
    const will = next(status('sim-mq-02', false));
    await f.at(DURING);
    expect((await will).body.ts).toBeUndefined(); // the will, not a clean goodbye (which carries ts)
    await expect(f.fleet.mqtt[1]?.publishNow()).rejects.toThrow(/not started/);
    expect((await publishAndReceive(f, 1))['voltage.l1']).toBeGreaterThan(200); // the other terminal publishes on
    const back = next(status('sim-mq-02', true));
    const firstTelemetry = next(telemetry('sim-mq-02', AFTER));
    await f.at(AFTER);
    expect((await back).body.ts).toBe(AFTER);
    expect((await firstTelemetry).body.meters).toHaveLength(1);
  });

  it('a terminal whose outage is on at startPublishing stays silent until the outage ends', async () => {
    const f = await fleetWith(scenario({ kind: 'outage', terminals: ['sim-mq-02'], startAfterMs: 0, durationMs: HOUR }));
    await f.at(T0);
    const birth1 = next(status('sim-mq-01', true));
    await f.fleet.startPublishing();
    await birth1;
    expect(f.fleet.mqtt[1]?.running).toBe(false);
    const birth2 = next(status('sim-mq-02', true));
    await f.at(T0 + HOUR);
    expect((await birth2).body.ts).toBe(T0 + HOUR);
  });
});
