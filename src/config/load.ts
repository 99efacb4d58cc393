/**
 * Loads the configuration: YAML file → environment overrides → defaults → schema check →
 * cross-reference checks. Every problem is reported at once, each naming its key path.
 */
import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { parseDocument } from 'yaml';
import type { TSchema } from 'typebox';
import { ConfigError, type ConfigIssue } from '../../protocols/config.js';
import { checkScenarios } from '../../simulators/scenarios/check.js';
import { checkFeePolicy } from './feePolicy.js';
import { checkLoadControl } from './loadControl.js';
import { checkTariffs } from './tariffs.js';
import { CollectProfile, ENDPOINT_PASSWORD_REFUSED, GridheadConfig, RegisterMap } from './schema.js';

// The one configuration error, shared with the parts whose configuration the station composes.
export { ConfigError, type ConfigIssue };

export interface EnvOverride {
  readonly env: string;
  readonly path: readonly string[];
  readonly type: 'string' | 'integer';
  /** A boolean key the variable also turns on: setting it says the user means to use that part. */
  readonly enables?: readonly string[];
}

/** Environment variables that override configuration keys (DESIGN.md, stable interface). */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { env: 'GRIDHEAD_HTTP_PORT', path: ['http', 'port'], type: 'integer' },
  { env: 'GRIDHEAD_DATA_DIR', path: ['dataDir'], type: 'string' },
  { env: 'GRIDHEAD_MQTT_URL', path: ['mqtt', 'url'], type: 'string' },
  { env: 'GRIDHEAD_MQTT_BROKER_PORT', path: ['mqtt', 'embeddedBroker', 'port'], type: 'integer' },
  { env: 'GRIDHEAD_DLMS_PUSH_PORT', path: ['dlms', 'push', 'listen', 'port'], type: 'integer' },
  // A URL in the environment means "stream there", whatever the file's influx.enabled says.
  { env: 'GRIDHEAD_INFLUX_URL', path: ['influx', 'url'], type: 'string', enables: ['influx', 'enabled'] },
  { env: 'GRIDHEAD_INFLUX_TOKEN', path: ['influx', 'token'], type: 'string' },
  { env: 'GRIDHEAD_INFLUX_ORG', path: ['influx', 'org'], type: 'string' },
  { env: 'GRIDHEAD_INFLUX_BUCKET', path: ['influx', 'bucket'], type: 'string' },
  { env: 'GRIDHEAD_OPCUA_PORT', path: ['opcua', 'port'], type: 'integer' },
  { env: 'GRIDHEAD_DATABASE_URL', path: ['storage', 'postgres', 'url'], type: 'string' },
  { env: 'GRIDHEAD_NODE_ID', path: ['cluster', 'nodeId'], type: 'string' },
  { env: 'GRIDHEAD_CLUSTER_MODE', path: ['cluster', 'mode'], type: 'string' },
];

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GridheadConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parseConfig(text, file, env);
}

/** Parses YAML text into a validated configuration. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = {}): GridheadConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'expected a mapping at the top level' }]);
  }
  return buildConfig(raw as Record<string, unknown>, source, env);
}

/** Applies env overrides and defaults to a plain object, then validates it. */
export function buildConfig(raw: Record<string, unknown>, source: string, env: NodeJS.ProcessEnv = {}): GridheadConfig {
  const issues: ConfigIssue[] = [];
  const value = structuredClone(raw);
  for (const o of ENV_OVERRIDES) {
    const text = env[o.env];
    if (text === undefined || text === '') continue;
    if (o.type === 'integer' && !/^\d+$/.test(text)) {
      issues.push({ path: `${o.path.join('.')} (from ${o.env})`, message: `expected an integer, got ${JSON.stringify(text)}` });
      continue;
    }
    setPath(value, o.path, o.type === 'integer' ? Number(text) : text);
    if (o.enables !== undefined) setPath(value, o.enables, true);
  }
  fillSections(value);
  fillRecordDefaults(value);
  const withDefaults = Value.Default(GridheadConfig, value);
  for (const e of Value.Errors(GridheadConfig, withDefaults)) {
    // TypeBox reports `additionalProperties: false` twice (once as a boolean schema); keep the readable one.
    if (e.keyword === 'boolean') continue;
    issues.push({ path: describeError(e.instancePath, e.params), message: explain(e.keyword, e.message, e.params) });
  }
  if (issues.length > 0) throw new ConfigError(source, dedupe(issues));
  const config = withDefaults as GridheadConfig;
  const refIssues = crossCheck(config);
  if (refIssues.length > 0) throw new ConfigError(source, refIssues);
  return config;
}

/** Creates the object-valued sections the user left out so their inner defaults apply. */
function fillSections(value: Record<string, unknown>): void {
  const sections: readonly (readonly string[])[] = [
    ['station'], ['log'], ['http'], ['mqtt'], ['mqtt', 'embeddedBroker'], ['mqtt', 'brokerDrops'], ['influx'], ['storage'], ['storage', 'postgres'], ['ingest'], ['ingest', 'plausibility'], ['collect'],
    ['modbus'], ['dlms'], ['registry'], ['simulators'], ['simulators', 'modbus'], ['simulators', 'mqtt'], ['simulators', 'dlms'], ['simulators', 'status'],
    ['dlms', 'push'], ['dlms', 'push', 'listen'], ['dlms', 'push', 'mqtt'], ['dlms', 'push', 'lists'], ['dlms', 'push', 'deadLetters'],
    ['rules'],
    ['alarms'], ['alarms', 'mqtt'], ['events'],
    ['loadControl'],
    ['control'],
    ['auth'], ['auth', 'login'],
    ['analysis'],
    ['opcua'],
    ['billing'], ['billing', 'tariff'],
    ['fees'],
    ['workflows'],
    ['cluster'], ['cluster', 'feed'],
  ];
  for (const path of sections) {
    let node: Record<string, unknown> = value;
    for (const key of path) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      const child = node[key];
      if (typeof child !== 'object' || child === null) break;
      node = child as Record<string, unknown>;
    }
  }
}

/** TypeBox does not apply defaults inside `Record` values; do it for the two records we have. */
function fillRecordDefaults(value: Record<string, unknown>): void {
  const records: readonly [string, string, TSchema][] = [['modbus', 'registerMaps', RegisterMap], ['collect', 'profiles', CollectProfile]];
  for (const [section, key, schema] of records) {
    const record = (value[section] as Record<string, unknown> | undefined)?.[key];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) continue;
    const entries = record as Record<string, unknown>;
    for (const [name, entry] of Object.entries(entries)) {
      if (typeof entry === 'object' && entry !== null) entries[name] = Value.Default(schema, entry);
    }
  }
}

function crossCheck(c: GridheadConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const areaIds = new Set<string>();
  c.registry.areas.forEach((a, i) => {
    if (areaIds.has(a.id)) issues.push({ path: `registry.areas[${i}].id`, message: `duplicate area id ${JSON.stringify(a.id)}` });
    areaIds.add(a.id);
  });
  c.registry.areas.forEach((a, i) => {
    if (a.parentId !== undefined && !areaIds.has(a.parentId)) {
      issues.push({ path: `registry.areas[${i}].parentId`, message: `no area with id ${JSON.stringify(a.parentId)}` });
    }
  });
  const terminalIds = new Set<string>();
  c.registry.terminals.forEach((t, i) => {
    const at = `registry.terminals[${i}]`;
    if (terminalIds.has(t.id)) issues.push({ path: `${at}.id`, message: `duplicate terminal id ${JSON.stringify(t.id)}` });
    terminalIds.add(t.id);
    if (t.protocol === 'modbus') {
      if (t.modbus === undefined) issues.push({ path: `${at}.modbus`, message: 'required for a modbus terminal (host, port, registerMap)' });
      else if (!Object.hasOwn(c.modbus.registerMaps, t.modbus.registerMap)) {
        issues.push({ path: `${at}.modbus.registerMap`, message: `no register map ${JSON.stringify(t.modbus.registerMap)} under modbus.registerMaps` });
      }
    } else if (t.modbus !== undefined) {
      issues.push({ path: `${at}.modbus`, message: `only allowed for protocol modbus, not ${t.protocol}` });
    }
    if (t.protocol === 'dlms') {
      if (t.dlms === undefined) issues.push({ path: `${at}.dlms`, message: 'required for a dlms terminal (host, port, framing, clientSap, auth)' });
      // Keys live in the key store: the station cannot rewrite a file under change control, so it refuses the secret rather than copy it.
      else if (t.dlms.password !== undefined) issues.push({ path: `${at}.dlms.password`, message: ENDPOINT_PASSWORD_REFUSED });
    } else if (t.dlms !== undefined) {
      issues.push({ path: `${at}.dlms`, message: `only allowed for protocol dlms, not ${t.protocol}` });
    }
    t.profiles.forEach((p, j) => {
      if (!Object.hasOwn(c.collect.profiles, p)) issues.push({ path: `${at}.profiles[${j}]`, message: `no collection profile ${JSON.stringify(p)} under collect.profiles` });
    });
  });
  const { minFrequency, maxFrequency } = c.ingest.plausibility;
  if (minFrequency >= maxFrequency) issues.push({ path: 'ingest.plausibility.minFrequency', message: `must be below maxFrequency (${maxFrequency})` });
  const meterIds = new Set<string>();
  c.registry.meters.forEach((m, i) => {
    const at = `registry.meters[${i}]`;
    if (meterIds.has(m.id)) issues.push({ path: `${at}.id`, message: `duplicate meter id ${JSON.stringify(m.id)}` });
    meterIds.add(m.id);
    if (!terminalIds.has(m.terminalId)) issues.push({ path: `${at}.terminalId`, message: `no terminal with id ${JSON.stringify(m.terminalId)}` });
    if (m.areaId !== undefined && !areaIds.has(m.areaId)) issues.push({ path: `${at}.areaId`, message: `no area with id ${JSON.stringify(m.areaId)}` });
  });
  if (c.simulators.enabled && c.simulators.modbus.count > 0 && !Object.hasOwn(c.modbus.registerMaps, c.simulators.modbus.registerMap)) {
    issues.push({ path: 'simulators.modbus.registerMap', message: `no register map ${JSON.stringify(c.simulators.modbus.registerMap)} under modbus.registerMaps` });
  }
  c.simulators.dlms.profiles.forEach((p, j) => {
    if (!Object.hasOwn(c.collect.profiles, p)) issues.push({ path: `simulators.dlms.profiles[${j}]`, message: `no collection profile ${JSON.stringify(p)} under collect.profiles` });
  });
  c.simulators.modbus.profiles.forEach((p, j) => {
    if (!Object.hasOwn(c.collect.profiles, p)) issues.push({ path: `simulators.modbus.profiles[${j}]`, message: `no collection profile ${JSON.stringify(p)} under collect.profiles` });
  });
  for (const [name, p] of Object.entries(c.collect.profiles)) {
    if (p.profile === undefined && p.quantities.length === 0) issues.push({ path: `collect.profiles.${name}.quantities`, message: 'give at least one quantity, or a stored `profile` to read' });
    if (p.profile !== undefined && p.quantities.length > 0) issues.push({ path: `collect.profiles.${name}.quantities`, message: `must be empty for a stored-profile read (profile: ${p.profile})` });
  }
  if (c.mqtt.embeddedBroker.enabled && c.mqtt.embeddedBroker.maxPacketBytes < c.mqtt.maxPayloadBytes) {
    // Payloads between the two would close the terminal's connection instead of being dead-lettered with a reason.
    issues.push({ path: 'mqtt.embeddedBroker.maxPacketBytes', message: `must be at least mqtt.maxPayloadBytes (${c.mqtt.maxPayloadBytes})` });
  }
  issues.push(...checkScenarios(c.simulators.scenarios));
  if (c.influx.retryMinMs > c.influx.retryMaxMs) issues.push({ path: 'influx.retryMinMs', message: 'must not exceed influx.retryMaxMs' });
  if (c.modbus.reconnectMinMs > c.modbus.reconnectMaxMs) issues.push({ path: 'modbus.reconnectMinMs', message: 'must not exceed modbus.reconnectMaxMs' });
  // Two heartbeats per lease at least, so one late write does not make a live node look dead.
  if (c.cluster.heartbeatMs * 2 > c.cluster.leaseMs) issues.push({ path: 'cluster.heartbeatMs', message: `must be at most half of cluster.leaseMs (${c.cluster.leaseMs})` });
  if (c.storage.postgres.reconnectMinMs > c.storage.postgres.reconnectMaxMs) issues.push({ path: 'storage.postgres.reconnectMinMs', message: 'must not exceed storage.postgres.reconnectMaxMs' });
  c.alarms.webhooks.forEach((w, i) => {
    if (w.retryMinMs > w.retryMaxMs) issues.push({ path: `alarms.webhooks[${i}].retryMinMs`, message: `must not exceed alarms.webhooks[${i}].retryMaxMs` });
  });
  issues.push(...checkLoadControl(c.loadControl.programs, c.station.areaLoadFreshMs));
  issues.push(...checkFeePolicy(c.fees.policy));
  issues.push(...checkTariffs(c.fees));
  // OPC UA Part 4 §7.14: SecurityPolicy None goes only with MessageSecurityMode None, and back.
  if (c.opcua.securityPolicies.includes('None') !== c.opcua.securityModes.includes('None')) {
    issues.push({ path: 'opcua.securityModes', message: "securityPolicies 'None' and securityModes 'None' go together: list both or neither" });
  }
  return issues;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], v: unknown): void {
  let node = obj;
  path.slice(0, -1).forEach((key) => {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = v;
}

/** `/registry/meters/3/terminalId` → `registry.meters[3].terminalId`. */
function describeError(instancePath: string, params: unknown): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  const extra = (params as { additionalProperties?: unknown } | undefined)?.additionalProperties;
  if (Array.isArray(extra) && extra.length === 1) out += out === '' ? String(extra[0]) : `.${String(extra[0])}`;
  return out;
}

function explain(keyword: string, message: string, params: unknown): string {
  const p = params as Record<string, unknown> | undefined;
  if (keyword === 'additionalProperties') {
    const extra = p?.additionalProperties;
    const names = Array.isArray(extra) ? extra.map(String) : [];
    return names.length === 1 ? 'unknown key' : `unknown keys: ${names.join(', ')}`;
  }
  if (keyword === 'required') return `missing required key(s): ${JSON.stringify(p?.requiredProperties ?? p)}`;
  if (keyword === 'anyOf') return `${message} (expected one of the allowed values)`;
  return message;
}

function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
