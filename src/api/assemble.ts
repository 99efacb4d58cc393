/**
 * Builds the HTTP API over the station's services and starts listening: the REST and SSE
 * routes, the live overview and meter state views, area analysis, billing, and the
 * dashboard. Returns the URL it listens on.
 */
import { areaLoadSettings } from '../config/areaLoad.js';
import type { Alarms } from '../alarms/index.js';
import type { AuthService } from '../auth/service.js';
import type { Collection } from '../collect/assemble.js';
import type { GridheadConfig } from '../config/schema.js';
import { listening } from '../config/ports.js';
import type { AuditLog } from '../control/audit.js';
import type { Control } from '../control/index.js';
import type { Meter, MeterId } from '../domain/index.js';
import type { Live } from '../live/index.js';
import { meterState } from '../live/meterState.js';
import { LiveOverview } from '../live/overview.js';
import type { HealthReport } from '../observe/health.js';
import type { Closers } from '../observe/closers.js';
import type { Logger } from '../observe/logger.js';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/registry.js';
import { missedIntervalsOf } from '../rules/freshness.js';
import type { LoadControlEvaluator } from '../rules/loadControl/evaluator.js';
import type { RuleService } from '../rules/service.js';
import type { KeyStore } from '../security/keyStore.js';
import type { SecurityEventLog } from '../security/securityEvents.js';
import type { FeeAccountService } from '../fees/accounts/service.js';
import type { FeeControl } from '../fees/run/feeControl.js';
import type { WorkflowRuntime } from '../workflows/runtime/runtime.js';
import type { AsyncReadingStore } from '../storage/readingStore.js';
import type { TariffBook } from '../fees/tariffs/index.js';
import { FeeReports } from '../fees/reports/service.js';
import type { FeeReportStore } from '../fees/reports/store.js';
import type { WorkOrderService } from '../workOrders/service.js';
import type { FirmwareService } from '../firmware/service.js';
import type { MeterReader } from '../live/meterRead.js';
import type { BillingService } from '../billing/service.js';
import type { DlmsPushRoutesOptions } from './dlmsPushRoutes.js';
import type { WorkflowDefinitionRoutesOptions } from './workflowDefinitionRoutes.js';
import type { FirmwareOtaRoutesOptions } from './firmwareOtaRoutes.js';
import { buildApi } from './server.js';

export interface ApiAssembly {
  readonly config: GridheadConfig;
  readonly registry: Registry;
  readonly readings: AsyncReadingStore;
  /** Billing's validated reads and replacements, built once in the composition root (workflows record replacements through it too). */
  readonly billing: BillingService;
  /** On-demand meter reads, shared with the workflows' read-meter action. */
  readonly meterReader: MeterReader;
  readonly feeReports: FeeReportStore;
  readonly audit: AuditLog;
  readonly auth: AuthService;
  readonly security: { readonly keys: KeyStore; readonly events: SecurityEventLog };
  readonly collection: Pick<Collection, 'stats' | 'scheduler'>;
  readonly live: Live;
  readonly alarms: Alarms;
  readonly rules: RuleService | undefined;
  readonly control: Control;
  readonly loadControl: LoadControlEvaluator;
  readonly tariffs: TariffBook;
  /** Fee accounts and payments; undefined while fee control is off. */
  readonly fees: FeeAccountService | undefined;
  /** The emergency flag and the dry run; undefined while fee control is off. */
  readonly feeControl?: FeeControl | undefined;
  /** Process definitions with the modeler's catalogue; undefined while workflows are off. */
  readonly workflowDefinitions?: WorkflowDefinitionRoutesOptions | undefined;
  /** Work orders (工单); absent: no work-order routes. */
  readonly workOrders?: WorkOrderService | undefined;
  /** Firmware images and campaigns; absent: no firmware routes. */
  readonly firmware?: FirmwareService | undefined;
  /** Workflow instances (src/workflows); undefined while workflows are off. */
  readonly workflows?: WorkflowRuntime | undefined;
  readonly dlmsPush: DlmsPushRoutesOptions;
  /** MQTT OTA image downloads (src/firmware/ota/downloads.ts); absent: no download route. */
  readonly firmwareOta?: FirmwareOtaRoutesOptions | undefined;
  readonly expectedIntervalMs: (meter: Pick<Meter, 'terminalId'>) => number | undefined;
  readonly health: () => Promise<HealthReport>;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly closers: Closers;
}

export async function createApi(o: ApiAssembly): Promise<{ readonly url: string }> {
  const { config, registry, live, alarms, logger } = o;
  const { stats, scheduler } = o.collection;
  const areaLoad = areaLoadSettings(config);
  const overview = new LiveOverview({
    topology: registry,
    live: live.values,
    alarms: live.openAlarms,
    areaLoad,
    expectedIntervalMs: o.expectedIntervalMs,
    missedIntervals: () => missedIntervalsOf(o.rules?.list({ detector: 'communication-loss', enabled: true }) ?? []),
  });
  overview.start();
  o.closers.add('live overview', () => { overview.close(); });
  const api = await buildApi({
    logger,
    bodyLimitBytes: config.http.bodyLimitBytes,
    registryImportLimitBytes: config.http.registryImportLimitBytes,
    trustProxy: config.http.trustProxy,
    registry,
    readings: {
      latest: (id) => live.latest(id),
      series: (meterId, quantity, from, to, stepMs, agg) => o.readings.series({ meterId, quantity, from, to, ...(stepMs === undefined ? {} : { stepMs }), agg, maxPoints: 50_000 }),
    },
    stats: {
      perTerminal: async (day, terminalIds) => (await stats.successRate({ day, ...(terminalIds === undefined ? {} : { terminalIds }) })).terminals,
      areaDays: (q) => stats.areaDays(q),
      today: () => stats.dayOf(Date.now()),
    },
    terminalState: (id) => {
      const s = scheduler.terminalState(id);
      return s === undefined ? undefined : { online: s.online, lastSuccessTs: s.lastSuccessTs, lastError: s.lastError ?? null };
    },
    health: o.health,
    metrics: o.metrics,
    audit: o.audit,
    security: o.security,
    dlmsPush: o.dlmsPush,
    ...(o.rules === undefined ? {} : { rules: o.rules }),
    alarms: { alarms: alarms.service, feed: alarms.feed, counters: alarms.streams },
    events: { events: alarms.events },
    loadControl: o.loadControl,
    commands: { commands: o.control.commands },
    meterReader: o.meterReader,
    auth: { service: o.auth, sessionMaxMs: config.auth.sessionMaxMs },
    live: {
      overview: async () => overview.overview((await stats.successRate({ day: stats.dayOf(Date.now()) })).total.rate),
      meterState: (id: string) => meterState({
        meter: (m) => registry.getMeter(m),
        latest: (m) => live.latest(m),
        terminalOnline: (t) => scheduler.terminalState(t)?.online,
        readBacks: live.readBacks,
        lastEvent: async (m, code) => (await alarms.events.list({ meterId: m, code, limit: 1 })).items[0],
        openAlarms: (m) => live.openAlarms.countForMeter(m),
      }, id),
      meterExists: (id: string) => registry.getMeter(id).id,
      subscribeMeter: (id: MeterId, listener) => live.feed.subscribe(id, listener),
      overviewMs: config.analysis.streamOverviewMs,
      maxStreams: config.analysis.maxStreams,
    },
    analysis: {
      analysis: live.analysis,
      areas: () => registry.listAreas(),
      metersOf: (a: string) => registry.metersOfArea(a) ?? [],
      collection: async (day: string) => (await stats.successRate({ day })).terminals,
    },
    webRoot: config.http.webRoot ?? 'dist/web',
    billing: o.billing,
    tariffs: o.tariffs,
    ...(o.fees === undefined ? {} : { fees: o.fees, feeReports: new FeeReports({ store: o.feeReports, utcOffsetMinutes: config.station.utcOffsetMinutes }) }),
    ...(o.feeControl === undefined ? {} : { feeControl: o.feeControl }),
    ...(o.workflowDefinitions === undefined ? {} : { workflowDefinitions: o.workflowDefinitions }),
    ...(o.workOrders === undefined ? {} : { workOrders: o.workOrders }),
    ...(o.firmware === undefined ? {} : { firmware: { service: o.firmware, maxImageBytes: config.firmware.maxImageBytes } }),
    ...(o.workflows === undefined ? {} : { workflows: o.workflows }),
    ...(o.firmwareOta === undefined ? {} : { firmwareOta: o.firmwareOta }),
  });
  o.closers.add('api', () => api.close());
  await listening('http', config.http.host, config.http.port, () => api.listen({ host: config.http.host, port: config.http.port }));
  const address = api.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  const url = `http://${config.http.host}:${port}`;
  logger.info({ url, docs: `${url}/docs` }, 'gridhead head-end running');
  return { url };
}
