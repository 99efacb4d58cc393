/** A simulated fleet on a fake clock, for the scenario tests: nothing moves until a test moves time. */
import type { ScenarioConfig, SimulatorConfig } from '../../../simulators/config.js';
import { startFleet, type Fleet } from '../../../simulators/fleet.js';
import type { ScenarioEvent } from '../../../simulators/scenarios/runner.js';

/** Monday 2024-06-03 10:00 UTC: daytime, so every customer type draws a load. */
export const T0 = Date.UTC(2024, 5, 3, 10, 0, 0);
export const MIN = 60_000;
export const HOUR = 60 * MIN;

export interface FakeClock {
  readonly now: () => number;
  set(ts: number): void;
}

export function fakeClock(start = T0): FakeClock {
  let t = start;
  return { now: () => t, set: (ts) => { t = ts; } };
}

export function simulatorConfig(o: {
  modbus?: number; modbusMeters?: number; mqtt?: number; dlms?: number; scenarios: ScenarioConfig[];
}): SimulatorConfig {
  return {
    enabled: true, seed: 7, host: '127.0.0.1', areaIds: [],
    modbus: { count: o.modbus ?? 0, basePort: 0, metersPerTerminal: o.modbusMeters ?? 1, registerMap: 'three-phase-meter', profiles: [] },
    mqtt: { count: o.mqtt ?? 0, metersPerTerminal: 1, publishIntervalMs: 3_600_000 },
    dlms: { count: o.dlms ?? 0, framing: 'wrapper', password: '12345678', profiles: [], pushIntervalMs: 0, pushTransport: 'tcp', hls: 0 },
    status: { enabled: false, host: '127.0.0.1', port: 0 },
    scenarios: o.scenarios,
  };
}

/** A scenario with its defaults filled in, as the configuration loader would give it. */
export function scenario(s: Partial<ScenarioConfig> & Pick<ScenarioConfig, 'kind'>): ScenarioConfig {
  return { startAfterMs: 0, durationMs: 0, ...s };
}

export interface ScenarioFleet {
  readonly fleet: Fleet;
  readonly clock: FakeClock;
  readonly events: ScenarioEvent[];
  /** Moves the fake clock to `ts` and lets the scenarios act on the edges passed. */
  at(ts: number): Promise<void>;
}

export async function startScenarioFleet(config: SimulatorConfig, mqttUrl = 'mqtt://127.0.0.1:1'): Promise<ScenarioFleet> {
  const clock = fakeClock();
  const events: ScenarioEvent[] = [];
  const fleet = await startFleet(config, {
    mqttUrl, topicPrefix: 'scn/v1', clock: clock.now, scenarioTickMs: 0, onScenario: (e) => { events.push(e); },
  });
  return {
    fleet, clock, events,
    at: async (ts) => {
      clock.set(ts);
      await fleet.scenarios.update();
    },
  };
}
