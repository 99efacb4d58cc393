/**
 * The HTTP API: Fastify with TypeBox schemas on every route, problem+json errors, one
 * plugin per resource under /api/v1, plus /health and /metrics at the root.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import Type from 'typebox';
import type { Registry } from '../registry/registry.js';
import type { RuleService } from '../rules/service.js';
import { alarmRoutes, type AlarmRoutesOptions } from './alarmRoutes.js';
import { eventRoutes, type EventRoutesOptions } from './eventRoutes.js';
import { Problem, frameworkProblem, installProblemHandlers } from './problem.js';
import { loadControlRoutes, type LoadControlService } from './loadControlRoutes.js';
import { readingRoutes, type ReadingQueries } from './readingRoutes.js';
import { RuleOut, ruleRoutes } from './ruleRoutes.js';
import { AreaOut, MeterOut, TerminalOut } from './schemas.js';
import { statsRoutes, type CollectionStatsQueries } from './statsRoutes.js';
import { registryImportRoutes } from './registryImportRoutes.js';
import { areaRoutes, meterRoutes, terminalRoutes, type TerminalStateView } from './topologyRoutes.js';
import type { AuditLog } from '../control/audit.js';
import { auditRoutes, installAuditHook } from './auditRoutes.js';
import { securityRoutes, type SecurityRoutesOptions } from './securityRoutes.js';
import { dlmsPushRoutes, type DlmsPushRoutesOptions } from './dlmsPushRoutes.js';
import { commandRoutes, type CommandRoutesOptions } from './commandRoutes.js';
import { meterReadRoutes } from './meterReadRoutes.js';
import type { MeterReader } from '../live/meterRead.js';
import type { AuthService } from '../auth/service.js';
import { installAccessControl } from './access.js';
import { authRoutes } from './authRoutes.js';
import { userRoutes } from './userRoutes.js';
import { liveRoutes, type LiveRoutesOptions } from './liveRoutes.js';
import { analysisRoutes, type AnalysisRoutesOptions } from './analysisRoutes.js';
import { installSecurityHeaders } from './securityHeaders.js';
import { webRoutes } from './webRoutes.js';
import { billingRoutes } from './billingRoutes.js';
import { feeAccountRoutes } from './feeAccountRoutes.js';
import { feeControlRoutes } from './feeControlRoutes.js';
import { workflowInstanceRoutes, type WorkflowInstanceRoutesOptions } from './workflowInstanceRoutes.js';
import type { FeeControl } from '../fees/run/feeControl.js';
import { feePaymentRoutes } from './feePaymentRoutes.js';
import type { FeeAccountService } from '../fees/accounts/service.js';
import type { BillingService } from '../billing/service.js';
import { feeTariffRoutes } from './feeTariffRoutes.js';
import type { TariffBook } from '../fees/tariffs/index.js';
import { feeReportRoutes } from './feeReportRoutes.js';
import { workflowDefinitionRoutes, type WorkflowDefinitionRoutesOptions } from './workflowDefinitionRoutes.js';
import type { FeeReports } from '../fees/reports/service.js';
import type { WorkOrderService } from '../workOrders/service.js';
import { workOrderRoutes } from './workOrderRoutes.js';
import { firmwareRoutes, type FirmwareRoutesOptions } from './firmwareRoutes.js';
import { firmwareOtaRoutes, type FirmwareOtaRoutesOptions } from './firmwareOtaRoutes.js';
import type { HealthReport } from '../observe/health.js';

export interface ApiDeps {
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** `http.registryImportLimitBytes`: the largest CSV body of a registry import. */
  readonly registryImportLimitBytes: number;
  /** Whose X-Forwarded-For gives the client address (`http.trustProxy`); default none. */
  readonly trustProxy?: boolean | readonly string[];
  readonly registry: Registry;
  readonly readings: ReadingQueries;
  readonly stats: CollectionStatsQueries;
  readonly terminalState: (id: string) => TerminalStateView | undefined;
  readonly health: () => HealthReport | Promise<HealthReport>;
  readonly metrics: MetricsRegistry;
  /** The audit log: changes made through the API are recorded in it, GET /audit reads it. */
  readonly audit?: AuditLog;
  /** DLMS key store and security events (keys and security-events routes). */
  readonly security?: Omit<SecurityRoutesOptions, 'registry'>;
  /** DLMS push dead letters; absent: no route. */
  readonly dlmsPush?: DlmsPushRoutesOptions;
  /** Rule management; absent when the rule engine is off. */
  readonly rules?: RuleService;
  /** Alarm list, acknowledgement, comments and the SSE stream; absent: no alarm routes. */
  readonly alarms?: AlarmRoutesOptions;
  /** Device events; absent: no event routes. */
  readonly events?: EventRoutesOptions;
  /** Load-control programs; their routes are served when given. */
  readonly loadControl?: LoadControlService;
  /** Commands (and who may override a protected meter); absent: no command routes. */
  readonly commands?: CommandRoutesOptions;
  /** On-demand meter reads; absent: no read route. */
  readonly meterReader?: Pick<MeterReader, 'read'>;
  /** Access control: tokens, users, sessions. Every route declares its access (src/api/access.ts). */
  readonly auth: { readonly service: AuthService; readonly sessionMaxMs: number };
  /** Live overview, meter state and the live SSE stream (dashboard); absent: no live routes. */
  readonly live?: LiveRoutesOptions;
  /** Load analysis (area curves, profiles, comparisons, line loss); absent: no analysis routes. */
  readonly analysis?: AnalysisRoutesOptions;
  /** The dashboard bundle (Vite output) served at `/`; absent: no dashboard. */
  readonly webRoot?: string;
  /** Billing reads (role billing); absent: no billing routes. */
  readonly billing?: BillingService;
  /** Tariffs and quotes (fee control); absent: no tariff routes. */
  readonly tariffs?: TariffBook;
  /** Fee accounts, ledger and payments; absent (fees disabled): no fee routes. */
  readonly fees?: FeeAccountService;
  /** The emergency flag and the dry run; absent (fees disabled): no fee-control routes. */
  readonly feeControl?: FeeControl;
  /** Fee recovery reports (role billing); absent: no report routes. */
  readonly feeReports?: FeeReports;
  /** Process definitions and the modeler's catalogue; absent (workflows disabled): no definition routes. */
  readonly workflowDefinitions?: WorkflowDefinitionRoutesOptions;
  /** Work orders (工单); absent: no work-order routes. */
  readonly workOrders?: WorkOrderService;
  readonly firmware?: FirmwareRoutesOptions;
  /** Workflow instances; absent (workflows off): no instance routes. */
  readonly workflows?: WorkflowInstanceRoutesOptions['runtime'];
  /** MQTT OTA image downloads by offer token (public route); absent: no route. */
  readonly firmwareOta?: FirmwareOtaRoutesOptions;
}

const NO_QUERY = Type.Object({}, { additionalProperties: false });

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>> {
  const apiLogger: FastifyBaseLogger = deps.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: apiLogger,
    bodyLimit: deps.bodyLimitBytes,
    frameworkErrors: frameworkProblem,
    trustProxy: typeof deps.trustProxy === 'object' ? [...deps.trustProxy] : deps.trustProxy ?? false,
    // Fastify's two info lines per request would bury the station's own log (the dashboard
    // polls); one line per request at debug instead, and at warn when the server failed.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onResponse', async (req, reply) => {
    const line = { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 500) req.log.warn(line, 'request failed');
    else req.log.debug(line, 'request');
    await Promise.resolve();
  });
  for (const s of [Problem, AreaOut, TerminalOut, MeterOut, RuleOut]) app.addSchema(s);
  installProblemHandlers(app);
  installSecurityHeaders(app);
  // Before any route, so every route passes the check that it declares its access.
  const routes = installAccessControl(app, { auth: deps.auth.service, publicPrefixes: ['/docs'] });
  await app.register(swagger, {
    openapi: {
      info: { title: 'gridhead', version: '1', description: 'AMI head-end and load-management master station API.' },
      tags: [
        { name: 'topology', description: 'Areas, terminals and meters' },
        { name: 'readings', description: 'Latest values and history' },
        { name: 'statistics', description: 'Collection statistics' },
        { name: 'operations', description: 'Health and metrics' },
        { name: 'security', description: 'DLMS keys (write-only) and security events' },
        { name: 'audit', description: 'Who changed what, when, from where' },
        { name: 'rules', description: 'Alarm rules run by the real-time engine' },
        { name: 'alarms', description: 'Alarms: list, acknowledge, comment, live stream' },
        { name: 'events', description: 'Events reported by meters and terminals' },
        { name: 'load control', description: 'Load-control programs and their shedding rounds' },
        { name: 'commands', description: 'Remote control: disconnect, reconnect, limits, clock sync, with lifecycle and guard rails' },
        { name: 'access', description: 'Login, users and API tokens' },
        { name: 'live', description: 'Live overview, meter state and the live stream for the dashboard' },
        { name: 'analysis', description: 'Load curves, profiles, comparisons, line loss, collection ranking' },
        { name: 'workflows', description: 'BPMN workflows: definitions and running instances' },
        { name: 'billing', description: 'Frozen reads, interval data with VEE, TOU consumption; JSON pages or streamed CSV' },
        { name: 'fees', description: 'Fee control: tariffs and quotes, accounts, balances, the ledger, payments, reversals and adjustments, recovery reports (money in integer minor units)' },
        { name: 'workflows', description: 'BPMN processes: definitions (versioned, checked at deploy), instances, the modeler\'s catalogue' },
        { name: 'firmware', description: 'Firmware images and campaigns; MQTT terminals download offered images by their offer URL' },
        { name: 'work orders', description: 'Work orders (工单): jobs for field crews and dispatchers, with result forms, comments, history and CSV export' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'gridhead_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const componentStatus = Type.Object({
    status: Type.String(), detail: Type.Optional(Type.String()),
    info: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
  });
  // `node`: which node answered, its roles, whether it leads, runs the duties and the leader's duties, and which areas it collects (src/cluster/).
  const dutyState = Type.Union([Type.Literal('active'), Type.Literal('standby')]);
  const nodeStatus = Type.Object({ id: Type.String(), roles: Type.Array(Type.String()), leader: Type.Boolean(), duties: dutyState, leaderDuties: dutyState, shards: Type.Array(Type.String()), shardCount: Type.Optional(Type.Integer({ minimum: 0 })) });
  const healthReport = Type.Object({ status: Type.String(), node: nodeStatus, components: Type.Record(Type.String(), componentStatus) });
  app.get('/health', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      description: '200 while the station serves (ok or degraded), 503 when it cannot.',
      response: { 200: healthReport, 503: healthReport },
    },
  }, async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.status === 'down' ? 503 : 200).send(h);
  });

  app.get('/metrics', { config: { access: 'viewer' }, schema: { tags: ['operations'], description: 'Prometheus text exposition; scrape with a viewer token (`authorization` in the scrape config).' } }, async (_req, reply) => {
    const body = await deps.metrics.metrics();
    return reply.type(deps.metrics.contentType).send(body);
  });

  await app.register(async (v1) => {
    // A route that declares no query parameters refuses any (400), so `tokens?limit=-1`
    // cannot look accepted while it is ignored.
    v1.addHook('onRoute', (route) => {
      if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY };
    });
    const audit = deps.audit;
    if (audit !== undefined) {
      // Before the route plugins, so the hook covers them.
      installAuditHook(v1, { audit, onError: (err) => { apiLogger.error({ err }, 'audit entry could not be written'); } });
      await v1.register(auditRoutes, { audit });
    }
    await v1.register(authRoutes, {
      auth: deps.auth.service, sessionMaxMs: deps.auth.sessionMaxMs, routes,
      ...(audit === undefined ? {} : { audit, onAuditError: (err: unknown) => { apiLogger.error({ err }, 'audit entry could not be written'); } }),
    });
    await v1.register(userRoutes, { auth: deps.auth.service });
    if (deps.security !== undefined) await v1.register(securityRoutes, { registry: deps.registry, ...deps.security });
    if (deps.dlmsPush !== undefined) await v1.register(dlmsPushRoutes, deps.dlmsPush);
    const topo = { registry: deps.registry, terminalState: deps.terminalState };
    await v1.register(areaRoutes, topo);
    await v1.register(terminalRoutes, topo);
    await v1.register(meterRoutes, topo);
    await v1.register(registryImportRoutes, { registry: deps.registry, limitBytes: deps.registryImportLimitBytes });
    await v1.register(readingRoutes, { registry: deps.registry, readings: deps.readings, maxPoints: 50_000 });
    await v1.register(statsRoutes, { registry: deps.registry, stats: deps.stats });
    if (deps.rules !== undefined) await v1.register(ruleRoutes, { rules: deps.rules });
    if (deps.alarms !== undefined) await v1.register(alarmRoutes, deps.alarms);
    if (deps.events !== undefined) await v1.register(eventRoutes, deps.events);
    if (deps.loadControl !== undefined) await v1.register(loadControlRoutes, { programs: deps.loadControl });
    if (deps.commands !== undefined) await v1.register(commandRoutes, deps.commands);
    if (deps.meterReader !== undefined) await v1.register(meterReadRoutes, { reader: deps.meterReader });
    if (deps.live !== undefined) await v1.register(liveRoutes, deps.live);
    if (deps.analysis !== undefined) await v1.register(analysisRoutes, deps.analysis);
    if (deps.billing !== undefined) await v1.register(billingRoutes, { billing: deps.billing });
    if (deps.tariffs !== undefined) await v1.register(feeTariffRoutes, { tariffs: deps.tariffs });
    if (deps.fees !== undefined) {
      const { feeControl } = deps;
      await v1.register(feeAccountRoutes, { accounts: deps.fees, ...(feeControl === undefined ? {} : { meterCredit: (id: string) => feeControl.meterCredit(id) }) });
      await v1.register(feePaymentRoutes, { accounts: deps.fees });
    }
    if (deps.feeControl !== undefined) await v1.register(feeControlRoutes, { control: deps.feeControl });
    if (deps.feeReports !== undefined) await v1.register(feeReportRoutes, { reports: deps.feeReports });
    if (deps.workflowDefinitions !== undefined) await v1.register(workflowDefinitionRoutes, deps.workflowDefinitions);
    if (deps.workOrders !== undefined) await v1.register(workOrderRoutes, { workOrders: deps.workOrders });
    if (deps.firmware !== undefined) await v1.register(firmwareRoutes, deps.firmware);
    if (deps.workflows !== undefined) await v1.register(workflowInstanceRoutes, { runtime: deps.workflows });
    if (deps.firmwareOta !== undefined) await v1.register(firmwareOtaRoutes, deps.firmwareOta);
  }, { prefix: '/api/v1' });
  if (deps.webRoot !== undefined) await webRoutes(app, { root: deps.webRoot });
  return app;
}
