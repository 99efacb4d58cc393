import { describe, expect, it } from 'vitest';
import { MqttOptionsError } from '../../../protocols/mqtt/errors.js';
import {
  groupFilters,
  matchesSubscription,
  parseTopic,
  prefixProblem,
  shareGroupProblem,
  sharedFilter,
  statusTopic,
  subscriptionFilters,
  telemetryTopic,
} from '../../../protocols/mqtt/topics.js';

const prefix = 'gridhead/v1';

describe('parseTopic', () => {
  it('splits a telemetry topic into terminal id and kind', () => {
    expect(parseTopic(prefix, 'gridhead/v1/T-0001/telemetry')).toEqual({ ok: true, terminalId: 'T-0001', kind: 'telemetry' });
  });

  it('splits a status topic into terminal id and kind', () => {
    expect(parseTopic(prefix, 'gridhead/v1/site.7:a_b/status')).toEqual({ ok: true, terminalId: 'site.7:a_b', kind: 'status' });
  });

  it('round-trips the topics it builds', () => {
    expect(parseTopic(prefix, telemetryTopic(prefix, 'abc'))).toMatchObject({ ok: true, terminalId: 'abc', kind: 'telemetry' });
    expect(parseTopic(prefix, statusTopic(prefix, 'abc'))).toMatchObject({ ok: true, terminalId: 'abc', kind: 'status' });
  });

  it.each([
    ['another prefix', 'other/v1/T1/telemetry'],
    ['a prefix that only starts the same', 'gridhead/v10/T1/telemetry'],
    ['too few levels', 'gridhead/v1/telemetry'],
    ['too many levels', 'gridhead/v1/T1/extra/telemetry'],
  ])('refuses %s as FOREIGN_TOPIC', (_name, topic) => {
    const parsed = parseTopic(prefix, topic);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('FOREIGN_TOPIC');
  });

  it.each([
    ['a space', 'bad id'],
    ['a leading underscore', '_deadletter'],
    ['a leading dash', '-T1'],
    ['65 characters', 'a'.repeat(65)],
    ['an empty level', ''],
  ])('refuses a terminal id with %s as INVALID_TERMINAL_ID', (_name, id) => {
    const parsed = parseTopic(prefix, `gridhead/v1/${id}/telemetry`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('INVALID_TERMINAL_ID');
  });

  it('accepts a 64-character terminal id', () => {
    expect(parseTopic(prefix, `gridhead/v1/${'a'.repeat(64)}/status`).ok).toBe(true);
  });

  it('refuses an unknown last level as UNKNOWN_KIND', () => {
    const parsed = parseTopic(prefix, 'gridhead/v1/T1/commands');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('UNKNOWN_KIND');
      expect(parsed.error.topic).toBe('gridhead/v1/T1/commands');
    }
  });
});

describe('subscriptions', () => {
  it('subscribes to every terminal telemetry, status and events under the prefix', () => {
    expect(subscriptionFilters(prefix)).toEqual(['gridhead/v1/+/telemetry', 'gridhead/v1/+/status', 'gridhead/v1/+/events']);
  });

  it('knows which topics its own filters would deliver', () => {
    expect(matchesSubscription(prefix, 'gridhead/v1/x/telemetry')).toBe(true);
    expect(matchesSubscription(prefix, 'gridhead/v1/_deadletter')).toBe(false);
    expect(matchesSubscription(prefix, 'gridhead/v1/_deadletter/status')).toBe(true);
    expect(matchesSubscription(prefix, 'gridhead/v1/_deadletter/events')).toBe(true);
    expect(matchesSubscription(prefix, 'gridhead/v1/_alarms/critical/meter/m1')).toBe(false);
    expect(matchesSubscription(prefix, 'gridhead/v2/x/telemetry')).toBe(false);
  });

  it('refuses prefixes with wildcards or empty levels', () => {
    expect(prefixProblem('gridhead/v1')).toBeNull();
    expect(prefixProblem('grid/+/v1')).not.toBeNull();
    expect(prefixProblem('grid/#')).not.toBeNull();
    expect(prefixProblem('grid//v1')).not.toBeNull();
    expect(prefixProblem('gridhead/v1/')).not.toBeNull();
    expect(prefixProblem('')).not.toBeNull();
  });
});

describe('shared subscription filters', () => {
  it('joins each filter to the group as $share/<group>/<filter>, and leaves them plain without a group', () => {
    expect(sharedFilter('gridhead', 'gridhead/v1/+/telemetry')).toBe('$share/gridhead/gridhead/v1/+/telemetry');
    expect(groupFilters(subscriptionFilters(prefix), 'g1')).toEqual(['$share/g1/gridhead/v1/+/telemetry', '$share/g1/gridhead/v1/+/status', '$share/g1/gridhead/v1/+/events']);
    expect(groupFilters(subscriptionFilters(prefix), undefined)).toEqual(subscriptionFilters(prefix));
  });

  it.each([['empty', ''], ['a slash', 'a/b'], ['a plus', 'a+'], ['a hash', '#'], ['NUL', 'a\u0000']])('refuses a group name that is %s (MQTT 5.0 §4.8.2)', (_what, group) => {
    expect(shareGroupProblem(group)).not.toBeNull();
    expect(() => sharedFilter(group, 'gridhead/v1/+/telemetry')).toThrow(MqttOptionsError);
  });
});
