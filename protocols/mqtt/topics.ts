/**
 * Topic convention: `<prefix>/<terminalId>/telemetry`, `…/status` and `…/events`.
 * Pure functions; see README.md for the convention as a whole.
 */
import { MqttOptionsError, TopicError } from './errors.js';

export type TopicKind = 'telemetry' | 'status' | 'events';

export type TopicParse =
  | { readonly ok: true; readonly terminalId: string; readonly kind: TopicKind }
  | { readonly ok: false; readonly error: TopicError };

export const DEFAULT_TOPIC_PREFIX = 'gridhead/v1';

/** Same alphabet as terminal ids in the configuration, bounded to 64 characters. */
export const TERMINAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function isTerminalId(id: string): boolean {
  return TERMINAL_ID_PATTERN.test(id);
}

export function telemetryTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/telemetry`;
}

export function statusTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/status`;
}

export function eventsTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/events`;
}

/** The filters the head-end subscribes to. */
export function subscriptionFilters(prefix: string): readonly string[] {
  return [`${prefix}/+/telemetry`, `${prefix}/+/status`, `${prefix}/+/events`];
}

/**
 * `filter` joined to the shared subscription group `group`: the broker hands each matching
 * message to one member of the group, not to every subscriber (MQTT 5.0 §4.8.2, which
 * Mosquitto and EMQX honour for MQTT 3.1.1 clients too). Messages arrive on their own topic,
 * not on the `$share/...` filter. Throws `MqttOptionsError` for a group name §4.8.2 forbids.
 */
export function sharedFilter(group: string, filter: string): string {
  const problem = shareGroupProblem(group);
  if (problem !== null) throw new MqttOptionsError(problem, undefined);
  return `${SHARE_ROOT}${group}/${filter}`;
}

/** Undefined `group`: the filters as they are; else each joined to the group (`sharedFilter`). */
export function groupFilters(filters: readonly string[], group: string | undefined): readonly string[] {
  return group === undefined ? filters : filters.map((f) => sharedFilter(group, f));
}

/** MQTT 5.0 §4.8.2: a ShareName is at least one character and contains no "/", "+" or "#". Returns the problem or null. */
export function shareGroupProblem(group: string): string | null {
  if (group.length === 0) return 'shared subscription group is empty';
  if (/[/+#]/.test(group) || group.includes('\u0000')) return `shared subscription group "${group}" must not contain "/", "+", "#" or NUL`;
  return null;
}

const SHARE_ROOT = '$share/';

/** Splits a topic received under `prefix` into terminal id and kind. */
export function parseTopic(prefix: string, topic: string): TopicParse {
  const head = `${prefix}/`;
  if (!topic.startsWith(head)) {
    return fail('FOREIGN_TOPIC', topic, `topic is not under "${prefix}/"`);
  }
  const rest = topic.slice(head.length).split('/');
  const [terminalId, kind] = rest;
  if (rest.length !== 2 || terminalId === undefined || kind === undefined) {
    return fail('FOREIGN_TOPIC', topic, 'topic is not <prefix>/<terminalId>/<kind>');
  }
  if (!isTerminalId(terminalId)) {
    return fail('INVALID_TERMINAL_ID', topic, `terminal id must match ${TERMINAL_ID_PATTERN.source}`);
  }
  if (kind !== 'telemetry' && kind !== 'status' && kind !== 'events') {
    return fail('UNKNOWN_KIND', topic, `topic kind "${kind}" is not telemetry, status or events`);
  }
  return { ok: true, terminalId, kind };
}

/**
 * Checks a prefix can be used in topic filters: no wildcards (MQTT 3.1.1 §4.7.1: `+` and
 * `#` are filter-only characters), no empty level, no NUL. Returns the problem or null.
 */
export function prefixProblem(prefix: string): string | null {
  if (prefix.length === 0) return 'topic prefix is empty';
  if (/[+#]/.test(prefix) || prefix.includes('\u0000')) return 'topic prefix must not contain "+", "#" or NUL';
  if (prefix.split('/').some((level) => level.length === 0)) return 'topic prefix has an empty level';
  return null;
}

/** True when `topic` would be delivered through one of the head-end's own subscriptions. */
export function matchesSubscription(prefix: string, topic: string): boolean {
  const levels = topic.split('/');
  const prefixLevels = prefix.split('/');
  if (levels.length !== prefixLevels.length + 2) return false;
  if (prefixLevels.some((level, i) => levels[i] !== level)) return false;
  const kind = levels[levels.length - 1];
  return kind === 'telemetry' || kind === 'status' || kind === 'events';
}

function fail(code: TopicError['code'], topic: string, message: string): TopicParse {
  return { ok: false, error: new TopicError(code, topic, message) };
}
