/**
 * Plays the configured scenarios on a simulated fleet. Value effects (overload, sags, …) are
 * attached to the meters' load models once, as functions of time (effects.ts), so every
 * protocol serves them at its own request instant. The runner itself only acts at window
 * edges: it takes terminals off the air for an outage, moves a DLMS clock for a drift, makes
 * a DLMS meter push "meter cover removed" and "closed" for a tamper, arms a DLMS meter to drop
 * its connection when image block `atBlock` arrives for a firmware drop (disarmed at the end if
 * it has not happened), and reports each start and end through `onScenario`.
 *
 * Time comes from the injected clock. `update()` handles every edge up to the clock's now;
 * with `tickMs` > 0 a timer calls it, with 0 the caller does (tests moving a fake clock).
 */
import { ConfigError, type ConfigIssue } from '../../protocols/config.js';
import type { ScenarioConfig, ScenarioKind } from '../config.js';
import { checkScenarios } from './check.js';
import type { MeterModel } from '../loadShape.js';
import { effectOf, MeterEffects } from './effects.js';
import { ScenarioSchedule, type ScenarioWindow } from './schedule.js';

export type SimulatedProtocol = 'modbus' | 'mqtt' | 'dlms';

/** A simulated meter a scenario can act on. */
export interface MeterTarget {
  readonly id: string;
  readonly protocol: SimulatedProtocol;
  readonly model: MeterModel;
  /** Moves the meter's clock by `ms` at true instant `now` (DLMS meters only: the others show no clock). */
  readonly shiftClock?: (ms: number, now: number) => void;
  /** Pushes a cover removed (true) or closed (false) event now (DLMS meters only: the others push no events). */
  readonly coverOpened?: (open: boolean) => void;
  /** Arms (a block number) or disarms (undefined) the drop of the connection when that image block arrives, once (DLMS meters only). */
  readonly dropConnectionAtBlock?: (block: number | undefined) => void;
}

/** A simulated terminal an outage can take off the air. */
export interface TerminalTarget {
  readonly id: string;
  readonly protocol: SimulatedProtocol;
  /** The meters behind the terminal (a DLMS meter is its own terminal). */
  readonly meterIds: readonly string[];
  setReachable(reachable: boolean): Promise<void>;
}

export interface ScenarioTargets {
  readonly meters: ReadonlyMap<string, MeterTarget>;
  readonly terminals: ReadonlyMap<string, TerminalTarget>;
}

interface ScenarioEventBase {
  /** The scenario's `name`, or `<kind>#<index>`. */
  readonly scenario: string;
  readonly kind: ScenarioKind;
  /** Meter ids, or terminal ids for an outage. */
  readonly targets: readonly string[];
  /** 0 for the first window, 1 for the first repetition, … */
  readonly window: number;
}

export type ScenarioEvent =
  /** `at`: the window's scheduled start; `until`: its end (undefined: until the fleet stops). */
  | (ScenarioEventBase & { readonly type: 'start'; readonly at: number; readonly until: number | undefined })
  | (ScenarioEventBase & { readonly type: 'end'; readonly at: number })
  /** An edge action failed on one target (e.g. an MQTT terminal could not reconnect after its outage). */
  | (ScenarioEventBase & { readonly type: 'error'; readonly at: number; readonly target: string; readonly error: Error });

export interface ScenarioRunnerOptions {
  readonly clock: () => number;
  readonly onScenario?: (event: ScenarioEvent) => void;
  /** How often edges are looked for, ms; 0: only when `update()` is called. Default 250. */
  readonly tickMs?: number;
}

interface Played {
  readonly config: ScenarioConfig;
  readonly name: string;
  readonly targets: readonly string[];
  readonly schedule: ScenarioSchedule;
  current: ScenarioWindow | undefined;
}

export class ScenarioRunner {
  /** Edge actions that failed (each also reported as an `error` event), and listener calls that threw. */
  errors = 0;
  private readonly played: Played[];
  private readonly targets: ScenarioTargets;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  /**
   * Checks the scenarios against the fleet (every id must exist, a clock drift needs a DLMS
   * meter) and attaches their effects, timed from the clock's now. Throws a ConfigError
   * naming each bad key and id.
   */
  constructor(configs: readonly ScenarioConfig[], targets: ScenarioTargets, private readonly options: ScenarioRunnerOptions) {
    const issues = [...checkScenarios(configs), ...configs.flatMap((c, i) => targetIssues(c, `simulators.scenarios[${i}]`, targets))];
    if (issues.length > 0) throw new ConfigError('simulators.scenarios', issues);
    const t0 = options.clock();
    const effects = new Map<string, MeterEffects>();
    this.played = configs.map((config, i) => {
      const schedule = new ScenarioSchedule(t0, config);
      const meterIds = config.kind === 'outage' ? [] : affectedMeters(config, targets);
      const effect = effectOf(config);
      for (const id of meterIds) {
        let e = effects.get(id);
        if (e === undefined) effects.set(id, (e = new MeterEffects()));
        e.add(schedule, effect);
      }
      const targetIds = config.kind === 'outage' ? [...(config.terminals ?? [])] : meterIds;
      return { config, name: config.name ?? `${config.kind}#${i}`, targets: targetIds, schedule, current: undefined };
    });
    for (const [id, e] of effects) {
      const model = targets.meters.get(id)?.model;
      if (model !== undefined && !e.empty) model.effects = e;
    }
    this.targets = targets;
    const tickMs = options.tickMs ?? 250;
    if (tickMs > 0 && this.played.length > 0) {
      this.timer = setInterval(() => { void this.update(); }, tickMs);
      this.timer.unref();
    }
  }

  /** Starts and ends every window whose edge the clock has passed; never rejects (failures become `error` events). */
  update(): Promise<void> {
    this.running = this.running.then(() => this.step());
    return this.running;
  }

  /** The scenarios in force now, by name. */
  active(): string[] {
    return this.played.filter((p) => p.current !== undefined).map((p) => p.name);
  }

  /** Stops looking for edges; terminals in an outage stay as they are (the fleet is stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    const now = this.options.clock();
    for (const p of this.played) {
      const w = p.schedule.windowAt(now);
      const prev = p.current;
      if (prev !== undefined && w?.index !== prev.index) {
        p.current = undefined;
        await this.act(p, prev, 'end', now);
        this.emit({ ...base(p, prev), type: 'end', at: prev.end });
      }
      if (w !== undefined && w.index !== prev?.index) {
        p.current = w;
        this.emit({ ...base(p, w), type: 'start', at: w.start, until: Number.isFinite(w.end) ? w.end : undefined });
        await this.act(p, w, 'start', now);
      }
    }
  }

  /** The edge action of the kinds that have one. */
  private async act(p: Played, w: ScenarioWindow, edge: 'start' | 'end', now: number): Promise<void> {
    const { kind } = p.config;
    if (kind !== 'outage' && kind !== 'clock-drift' && kind !== 'tamper' && kind !== 'firmware-drop') return;
    for (const id of p.targets) {
      try {
        if (kind === 'outage') await this.targets.terminals.get(id)?.setReachable(edge === 'end');
        else if (kind === 'tamper') this.targets.meters.get(id)?.coverOpened?.(edge === 'start');
        else if (kind === 'firmware-drop') this.targets.meters.get(id)?.dropConnectionAtBlock?.(edge === 'start' ? p.config.atBlock : undefined);
        else this.targets.meters.get(id)?.shiftClock?.((edge === 'start' ? 1 : -1) * (p.config.driftSeconds ?? 0) * 1000, now);
      } catch (err) {
        this.errors++;
        this.emit({ ...base(p, w), type: 'error', at: now, target: id, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  }

  private emit(event: ScenarioEvent): void {
    try {
      this.options.onScenario?.(event);
    } catch {
      // The listener is the one place failures are reported to; all that is left is to count it.
      this.errors++;
    }
  }
}

/** One log line for an event: the level, the structured fields and the message. */
export function scenarioLogLine(e: ScenarioEvent): { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string } {
  const fields: Record<string, unknown> = { scenario: e.scenario, kind: e.kind, targets: e.targets, window: e.window };
  if (e.type === 'error') return { level: 'warn', fields: { ...fields, target: e.target, err: e.error.message }, message: 'simulated scenario action failed' };
  if (e.type === 'end') return { level: 'info', fields, message: 'simulated scenario ended' };
  return { level: 'info', fields: { ...fields, until: e.until === undefined ? 'stop' : new Date(e.until).toISOString() }, message: 'simulated scenario started' };
}

function base(p: Played, w: ScenarioWindow): ScenarioEventBase {
  return { scenario: p.name, kind: p.config.kind, targets: p.targets, window: w.index };
}

/** The meters a value scenario acts on: those named, and every meter behind the terminals named. */
function affectedMeters(c: ScenarioConfig, targets: ScenarioTargets): string[] {
  const ids = new Set(c.meters ?? []);
  for (const t of c.terminals ?? []) for (const m of targets.terminals.get(t)?.meterIds ?? []) ids.add(m);
  return [...ids];
}

function targetIssues(c: ScenarioConfig, at: string, targets: ScenarioTargets): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  (c.meters ?? []).forEach((id, j) => {
    const m = targets.meters.get(id);
    if (m === undefined) issues.push({ path: `${at}.meters[${j}]`, message: `no simulated meter ${JSON.stringify(id)}` });
    else if (c.kind === 'clock-drift' && m.shiftClock === undefined) {
      issues.push({ path: `${at}.meters[${j}]`, message: `clock-drift needs a DLMS meter; ${JSON.stringify(id)} is ${m.protocol}` });
    } else if (c.kind === 'tamper' && m.coverOpened === undefined) {
      issues.push({ path: `${at}.meters[${j}]`, message: `tamper needs a DLMS meter (the others push no events); ${JSON.stringify(id)} is ${m.protocol}` });
    } else if (c.kind === 'firmware-drop' && m.dropConnectionAtBlock === undefined) {
      issues.push({ path: `${at}.meters[${j}]`, message: `firmware-drop needs a DLMS meter with image transfer; ${JSON.stringify(id)} is ${m.protocol}` });
    }
  });
  (c.terminals ?? []).forEach((id, j) => {
    const t = targets.terminals.get(id);
    if (t === undefined) issues.push({ path: `${at}.terminals[${j}]`, message: `no simulated terminal ${JSON.stringify(id)}` });
    else if ((c.kind === 'clock-drift' || c.kind === 'tamper' || c.kind === 'firmware-drop') && t.protocol !== 'dlms') {
      issues.push({ path: `${at}.terminals[${j}]`, message: `${c.kind} needs DLMS meters; ${JSON.stringify(id)} is ${t.protocol}` });
    }
  });
  return issues;
}
