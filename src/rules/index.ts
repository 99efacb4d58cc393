/**
 * Builds the rule engine and its stored rules: stored rules loaded, the configured rule set
 * seeded, the engine told of topology changes and ticked each second. The engine judges
 * readings as a pipeline sink (after the store) and stored device events; its signals go
 * to `signal` (the alarm service's intake). The tick, which judges silences and time-driven
 * rules, is an active-only duty: a standby, which receives no readings, would otherwise find
 * every meter silent. On a shared store the rules other nodes change reach this node's engine
 * as they commit (service.ts `follow`). In a cluster the engine judges only what the placement
 * puts on this node (engine.ts). Undefined when `rules.enabled` is off.
 */
import { areaLoadSettings } from '../config/areaLoad.js';
import { dirname, resolve } from 'node:path';
import type { GridheadConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { Alarm, AlarmSignal, AlarmSubject, DeviceEvent, Meter } from '../domain/index.js';
import type { PipelineStall } from '../ingest/pipeline.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import { RuleEngine } from './engine.js';
import { RuleValidationError } from './model.js';
import { READING_PATH_RULE_ID, READING_PATH_SUBJECT } from './readingPathStall.js';
import { loadRuleSet } from './ruleSet.js';
import { RuleService } from './service.js';
import type { RulePlacement, RuleTopology } from './scope.js';
import type { RuleStore } from './store.js';

export interface Rules {
  readonly engine: RuleEngine;
  readonly service: RuleService;
  /** The reading path ahead of the engine, once it exists: its stall suspends silence judgement and raises the station alarm. */
  watchReadingPath(stall: () => PipelineStall | undefined): void;
}

export interface RulesAssembly {
  readonly config: GridheadConfig;
  /** The configuration file, whose folder a relative `rules.file` is resolved against. */
  readonly configFile: string | undefined;
  readonly store: RuleStore;
  readonly registry: Registry;
  readonly expectedIntervalMs: (meter: Meter) => number | undefined;
  readonly signal: (s: AlarmSignal) => void;
  /** The open alarm of a rule and subject, so an alarm about the station an earlier run left open is cleared. */
  readonly openAlarm: (ruleId: string, subject: AlarmSubject) => Alarm | undefined;
  /** Where stored device events are heard (the alarm side's recorder). */
  readonly deviceEvents: { onDeviceEvent(listener: (e: DeviceEvent) => void): () => void };
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** Where the tick registers as an active-only part. */
  readonly duties: Duties;
  /** Which meters and areas this node judges (src/cluster/placement.ts). */
  readonly placement: RulePlacement & { on(event: 'changed', listener: () => void): () => void };
}

export async function createRules({ config, configFile, store, registry, expectedIntervalMs, signal, openAlarm, deviceEvents, logger, throttle, closers, duties, placement }: RulesAssembly): Promise<Rules | undefined> {
  if (!config.rules.enabled) return undefined;
  const areaLoad = areaLoadSettings(config);
  const engine = new RuleEngine({
    topology: registryTopology(registry, expectedIntervalMs),
    onSignal: signal,
    onDetectorError: (rule, err, suppressed) => { logger.error({ rule, err, suppressed }, 'rule evaluation failed'); },
    continueAfterMs: 5,
    areaLoad,
    placement,
  });
  const areaExists = (id: string) => registry.hasArea(id);
  const service = new RuleService({ store, engine, areaLoad, refs: { meterExists: (id) => registry.findMeter(id) !== undefined, areaExists } });
  const { loaded, invalid } = await service.load();
  for (const bad of invalid) logger.error({ rule: bad.id, err: bad.error.message }, 'stored rule no longer valid; not run');
  if (config.rules.file !== undefined) {
    const file = resolve(configFile === undefined ? '.' : dirname(configFile), config.rules.file);
    try {
      const { added, kept } = await service.seed(loadRuleSet(file));
      logger.info({ file, stored: loaded, added: added.length, kept: kept.length }, 'rule set loaded');
    } catch (err) {
      if (err instanceof RuleValidationError) throw new ConfigError(file, err.issues);
      throw err;
    }
  }
  await service.follow((p) => {
    // Once a minute at most per kind and rule: a database down for an hour is one line a minute, not one per retry.
    const suppressed = throttle.pass(`rule-follow:${p.code}:${p.code === 'INVALID_STORED_RULE' ? p.id : ''}`);
    if (suppressed < 0) return;
    if (p.code === 'CATCH_UP_FAILED') logger.warn({ err: p.err, suppressed }, 'catching up with rules other nodes changed failed; retried');
    else if (p.code === 'INVALID_STORED_RULE') logger.error({ rule: p.id, err: p.error.message, suppressed }, 'rule another node stored is not valid here; not run');
    else logger.warn({ payload: p.payload.slice(0, 200), suppressed }, 'notification on the rule channel that is not a rule change; ignored');
  });
  closers.add('rule changes of other nodes', () => service.close());
  registry.onChange((c) => { engine.topologyChanged(c); });
  placement.on('changed', () => { engine.placementChanged(); });
  let tick: NodeJS.Timeout | undefined;
  duties.add('rule timers', {
    start: async () => {
      // Reloaded from the shared store: a standby that takes over runs the rules as the station
      // last changed them, and watches silence from now rather than from its own start, when it
      // heard no reading it could have judged (silenceWatch.ts: never heard → since the rule started).
      // (A rule that no longer validates was logged at the first load.)
      await service.load();
      tick = setInterval(() => { engine.tick(); }, 1000);
      tick.unref();
    },
    stop: () => { clearInterval(tick); },
  });
  closers.add('rules', () => { clearInterval(tick); engine.close(); });
  deviceEvents.onDeviceEvent((e) => { engine.onDeviceEvent(e); });
  return {
    engine, service,
    watchReadingPath: (stall) => { engine.watchReadingPath(stall, openAlarm(READING_PATH_RULE_ID, READING_PATH_SUBJECT)?.since); },
  };
}

/**
 * The registry as the engine sees it: single meters and an area's meters from the registry's
 * indexes, the fleet walked a keyset page at a time in id order, so a watch walking it in
 * slices holds one page of Meter objects, never a million (the registry makes a fresh object
 * per meter listed).
 */
export function registryTopology(registry: Registry, expectedIntervalMs: (meter: Meter) => number | undefined): RuleTopology {
  return {
    meter: (id) => registry.findMeter(id),
    meters: () => metersByPage(registry),
    metersOfArea: (id) => registry.metersOfArea(id) ?? [],
    areas: () => registry.listAreas(),
    expectedIntervalMs,
  };
}

/** Meters listed per page of the fleet walk. */
const FLEET_PAGE = 1000;

function* metersByPage(registry: Registry): Generator<Meter> {
  let after: string | undefined;
  for (;;) {
    const page = registry.pageMeters({}, after, FLEET_PAGE);
    yield* page.items;
    if (page.next === null) return;
    after = page.next;
  }
}
