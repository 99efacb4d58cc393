/**
 * Builds the load-control programs: they tick from live values and act through the control
 * port, whose commands queue in the collector's terminal lanes; every request is in the
 * action log, and each alarm stage is raised like a rule's. The tick is one of the leader's
 * singleton duties, in `sharded` mode too (a program spans areas owned by several nodes);
 * stopping it lets a round in progress finish.
 */
import { registerRulesOf } from '../../billing/index.js';
import type { ReplacementStore } from '../../billing/replacements.js';
import type { Leadership } from '../../cluster/fencing.js';
import { areaLoadSettings } from '../../config/areaLoad.js';
import type { GridheadConfig } from '../../config/schema.js';
import type { ControlActionStore } from '../../control/actions.js';
import type { ControlPort } from '../../control/port.js';
import type { AlarmSignal } from '../../domain/index.js';
import type { Closers } from '../../observe/closers.js';
import type { Duties } from '../../observe/duties.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { Registry } from '../../registry/registry.js';
import { LoadControlEvaluator, type LoadControlOptions } from './evaluator.js';
import type { ProgramStateStore } from './stateStore.js';

export interface LoadControlAssembly {
  readonly config: GridheadConfig;
  readonly store: ProgramStateStore;
  /** The meter replacements recorded through the billing API: the energy programs count across them. */
  readonly replacements: ReplacementStore;
  readonly registry: Registry;
  readonly live: LoadControlOptions['live'];
  readonly port: ControlPort;
  readonly actions: ControlActionStore;
  readonly signal: (s: AlarmSignal) => void;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** The leader lease, when the node runs under one: then only the leader's rounds are recorded and acted on. */
  readonly leadership?: Leadership | undefined;
  /** Where the tick registers: the leader's roster. */
  readonly duties: Duties;
}

export async function createLoadControl({ config, store, replacements, registry, live, port, actions, signal, logger, throttle, closers, leadership, duties }: LoadControlAssembly): Promise<LoadControlEvaluator> {
  const loadControl = new LoadControlEvaluator({
    programs: config.loadControl.programs,
    port,
    live,
    meters: {
      meter: (id) => registry.findMeter(id),
      // A program whose area was deleted keeps running on no meters instead of failing every tick.
      metersOfArea: (a) => registry.metersOfArea(a) ?? [],
    },
    store,
    areaLoad: areaLoadSettings(config),
    // Energy programs read register deltas as billing does: its rollover and meter replacements.
    registers: registerRulesOf(config.billing, replacements),
    maxPurchaseKwh: config.loadControl.maxPurchaseKwh,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    onSignal: signal,
    onError: (program, err) => {
      if (throttle.pass(`load-control:${program}`) >= 0) logger.error({ program, err }, 'load-control program fault');
    },
    history: (id, limit) => actions.list({ programId: id, limit }),
    ...(leadership === undefined ? {} : {
      leadership,
      // Once per stop: the program stays stopped on this node until it leads again.
      onFenced: (program, refusal) => {
        logger.warn({ program, ...(refusal === undefined ? {} : { token: refusal.token, current: refusal.current }) },
          refusal === undefined ? 'load-control program stopped here: this node no longer leads' : 'load-control program stopped here: its fencing token is stale, a newer leader runs it');
      },
    }),
  });
  // Where each program stood before the restart, loaded before the first tick or request.
  await loadControl.ready();
  let timer: NodeJS.Timeout | undefined;
  duties.add('load-control timers', {
    start: () => {
      timer = setInterval(() => { void loadControl.tick(); }, config.loadControl.tickMs);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      await loadControl.idle();
    },
  });
  closers.add('load-control', async () => { clearInterval(timer); await loadControl.idle(); });
  return loadControl;
}
