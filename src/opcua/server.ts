/**
 * The OPC UA server for SCADA (node-opcua): the topology with live values, alarms as events,
 * control methods through the command service, users from the AuthService. `createOpcua`
 * (index.ts) starts it after the command service and feeds it through the producers' hooks:
 * readings and terminal state changes from collection, relay read-backs from control.
 * Nothing here talks to a device.
 */
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { format } from 'node:util';
import {
  MessageSecurityMode, OPCUACertificateManager, OPCUAServer, RegisterServerMethod, SecurityPolicy,
  setDebugLogger, setErrorLogger, setWarningLogger,
} from 'node-opcua';
import type { AlarmChange } from '../alarms/service.js';
import type { OpcUaConfig } from '../config/schema.js';
import { DEFAULT_AREA_LOAD, type AreaLoadSettings, type Reading } from '../domain/index.js';
import type { ReadingSink } from '../ingest/pipeline.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { RegistryChange } from '../registry/registry.js';
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { ComponentStatus } from '../observe/health.js';
import { AlarmEvents } from './alarmEvents.js';
import { AddressSpaceBuild } from './build.js';
import { SessionRoles, userManager, type IdentitySource } from './identity.js';
import { LiveValues, type LiveSource } from './liveValues.js';
import { addMeterMethods, MeterMethodHandler, type MethodDeps } from './meterMethods.js';
import { TopologyNodes, type TopologySource } from './topologyNodes.js';

export interface OpcUaServerOptions {
  readonly config: OpcUaConfig;
  /** Where the server's certificate and the trusted/rejected client certificates live (created on first start). */
  readonly pkiDir: string;
  readonly topology: TopologySource & { onChange(listener: (c: RegistryChange) => void): () => void };
  readonly live: LiveSource;
  readonly alarms: { onChange(listener: (c: AlarmChange) => void): () => void };
  readonly commands: MethodDeps['commands'];
  readonly auth: IdentitySource;
  readonly terminalOnline: (terminalId: string) => boolean | undefined;
  /** The station's one definition of area load, for AggregateLoad; default DEFAULT_AREA_LOAD. */
  readonly areaLoad?: AreaLoadSettings;
  readonly logger: Logger;
}

export interface OpcUaServer extends ReadingSink {
  /** opc.tcp://host:port/path */
  readonly endpointUrl: string;
  /** Never throws and never waits: a fault in the address space must not hold the pipeline. */
  write(batch: readonly Reading[]): void;
  terminalChanged(terminalId: string, online: boolean, at: number): void;
  /** A command read a meter's relay or limit back. */
  controlState(meterId: string, state: DeviceControlState, at: number): void;
  /** `starting` while the topology's nodes are still being added (build.ts), then `ok`. */
  health(): ComponentStatus;
  close(): Promise<void>;
}

/** Typed start failure (port in use, PKI unreadable). */
export class OpcUaStartError extends Error {
  readonly code = 'OPCUA_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpcUaStartError';
  }
}

const POLICIES: Readonly<Record<OpcUaConfig['securityPolicies'][number], SecurityPolicy>> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};
const MODES: Readonly<Record<OpcUaConfig['securityModes'][number], MessageSecurityMode>> = {
  None: MessageSecurityMode.None, Sign: MessageSecurityMode.Sign, SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

export async function startOpcUaServer(o: OpcUaServerOptions): Promise<OpcUaServer> {
  const { config, logger } = o;
  const throttle = new LogThrottle(60_000);
  const problem = (key: string, fields: Record<string, unknown>, message: string): void => {
    const suppressed = throttle.pass(key);
    if (suppressed >= 0) logger.warn({ ...fields, suppressed }, message);
  };
  routeStackLogs(logger, throttle);

  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const roles = new SessionRoles(o.auth);
  const certificates = new OPCUACertificateManager({ rootFolder: o.pkiDir, automaticallyAcceptUnknownCertificate: config.acceptUnknownCertificates });
  const server = new OPCUAServer({
    // `host` is where it listens; `hostname` is what the endpoint URLs advertise to clients.
    host: config.host,
    hostname: advertisedHost(config),
    port,
    resourcePath: config.resourcePath,
    securityPolicies: tokenPolicies(config),
    securityModes: config.securityModes.map((m) => MODES[m]),
    allowAnonymous: config.allowAnonymous,
    serverCertificateManager: certificates,
    maxConnectionsPerEndpoint: config.maxConnectionsPerEndpoint,
    serverCapabilities: { maxSessions: config.maxSessions },
    // A head-end is not announced to a discovery server; SCADA is configured with the endpoint.
    registerServerMethod: RegisterServerMethod.HIDDEN,
    buildInfo: { productName: 'gridhead', manufacturerName: 'gridhead', productUri: 'urn:gridhead' },
    userManager: userManager(o.auth, roles, (user, reason, err) => {
      problem(`session:${reason}`, { user, reason, err }, 'OPC UA session refused');
    }),
  });
  try {
    await server.initialize();
  } catch (err) {
    await certificates.dispose().catch(() => undefined);
    throw new OpcUaStartError(`OPC UA server could not initialise (PKI at ${o.pkiDir})`, { cause: err });
  }
  const addressSpace = server.engine.addressSpace;
  if (addressSpace === null) throw new OpcUaStartError('OPC UA server has no address space after initialise');
  const ns = addressSpace.getOwnNamespace();

  const methods = new MeterMethodHandler({
    commands: o.commands,
    roleOf: (user) => roles.roleOf(user),
    onProblem: (method, meterId, err) => { problem(`method:${method}`, { method, meter: meterId, err }, 'OPC UA method call failed'); },
  });
  // Once per server: an area change builds the tree again, and would say the same again.
  let leftOutLogged = false;
  const nodes = new TopologyNodes(ns, o.topology, {
    meterAdded: (node) => {
      addMeterMethods(ns, node, (method, meterId, args, context) => methods.call(method, meterId, args, context));
      values.seed(node);
    },
    metersLeftOut: (leftOut, max) => {
      if (leftOutLogged) return;
      leftOutLogged = true;
      logger.warn({ meters: leftOut + max, meterNodes: max, leftOut }, 'OPC UA mirrors the first opcua.maxMeterNodes meters only; every area and its AggregateLoad is served');
    },
  }, config.maxMeterNodes);
  const values = new LiveValues({
    nodes, live: o.live, staleAfterMs: config.staleAfterSeconds * 1000, areaLoad: o.areaLoad ?? DEFAULT_AREA_LOAD, terminalOnline: o.terminalOnline,
  });
  const build = new AddressSpaceBuild({
    nodes, values, sliceAreas: config.buildSliceAreas,
    onProblem: (err) => { problem('fault:build', { err }, 'OPC UA address space build failed'); },
  });
  const events = new AlarmEvents(ns, nodes);

  /** Every input from the station is guarded: a fault here is logged, never thrown back at the pipeline or a service. */
  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      problem(`fault:${what}`, { what, err }, 'OPC UA address space update failed');
    }
  };
  const unsubscribe = [
    o.topology.onChange((c) => {
      guard('topology', () => {
        if (c.kind === 'area') build.areasChanged();
        if (c.kind !== 'meter') return;
        const before = nodes.areaOfMeter(c.id);
        nodes.applyMeter(c);
        values.areasChanged([before, nodes.areaOfMeter(c.id)]);
      });
    }),
    o.alarms.onChange((c) => { guard('alarm-event', () => { events.emit(c); }); }),
  ];
  const areaTimer = setInterval(() => { guard('area-load', () => { values.refreshAreas(); }); }, config.areaRefreshMs);
  const sweepMs = Math.max(1_000, Math.min(30_000, Math.floor((config.staleAfterSeconds * 1000) / 4)));
  const sweepTimer = setInterval(() => { guard('stale-sweep', () => { values.sweep(); }); }, sweepMs);
  areaTimer.unref();
  sweepTimer.unref();

  const stop = async (): Promise<void> => {
    build.close();
    clearInterval(areaTimer);
    clearInterval(sweepTimer);
    for (const u of unsubscribe) u();
    await server.shutdown(0);
    await certificates.dispose();
  };
  try {
    await server.start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw new OpcUaStartError(`OPC UA server could not listen on ${config.host}:${port}`, { cause: err });
  }
  const endpointUrl = `opc.tcp://${advertisedHost(config)}:${port}${config.resourcePath}`;
  logger.info({ endpoint: endpointUrl, securityPolicies: config.securityPolicies, securityModes: config.securityModes, anonymous: config.allowAnonymous }, 'OPC UA server listening');
  // After listening, so the station's start does not wait for the tree; SCADA sees it grow.
  build.start();

  return {
    name: 'opcua',
    endpointUrl,
    write: (batch: readonly Reading[]) => { guard('readings', () => { values.write(batch); }); },
    terminalChanged: (terminalId, online, at) => { guard('terminal', () => { values.terminalChanged(terminalId, online, at); }); },
    controlState: (meterId, state, at) => { guard('relay', () => { values.controlState(meterId, state, at); }); },
    health: () => build.health(),
    close: stop,
  };
}

/**
 * The channel policies, plus what encrypts passwords on a None channel. OPC UA Part 4 §7.41:
 * a UserNameIdentityToken on an unsecured channel is encrypted with its token policy's own
 * SecurityPolicy; node-opcua offers one only for policies in this list. With securityModes
 * ['None'] no endpoint is created for the added policy, so the demo still has one endpoint
 * and its passwords never cross the wire in clear.
 */
function tokenPolicies(config: OpcUaConfig): SecurityPolicy[] {
  const policies = config.securityPolicies.map((p) => POLICIES[p]);
  const securedChannels = config.securityModes.some((m) => m !== 'None') && policies.some((p) => p !== SecurityPolicy.None);
  return securedChannels ? policies : [...new Set([...policies, SecurityPolicy.Basic256Sha256])];
}

/** The host name in endpoint URLs: configured, or the listening address unless that is a wildcard. */
function advertisedHost(config: OpcUaConfig): string {
  if (config.advertisedHostname !== undefined) return config.advertisedHostname;
  return config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host;
}

/** node-opcua logs through its own global printers: send them to our logger, rate-limited per first word. */
function routeStackLogs(logger: Logger, throttle: LogThrottle): void {
  const child = logger.child({ component: 'node-opcua' });
  const route = (level: 'warn' | 'error') => (...args: unknown[]): void => {
    const message = format(...args).replace(/\s+/g, ' ').trim();
    const suppressed = throttle.pass(`node-opcua:${level}:${message.slice(0, 40)}`);
    if (suppressed >= 0) child[level]({ suppressed }, message.slice(0, 500));
  };
  setWarningLogger(route('warn'));
  setErrorLogger(route('error'));
  setDebugLogger(() => undefined);
}

/** A port the OS says is free now (node-opcua needs the number before it listens). */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => { resolve(port); });
    });
  });
}
