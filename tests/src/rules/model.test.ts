import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import { DETECTOR_NAMES } from '../../../src/rules/catalogue.js';
import { RuleValidationError, parseRule } from '../../../src/rules/model.js';
import { loadRuleSet, parseRuleSet } from '../../../src/rules/ruleSet.js';

const valid = { id: 'p1', name: 'Power', subject: { meter: 'm1' }, detector: 'power-over-limit', params: { limitKw: 10 } };

function issues(input: unknown): { path: string; message: string }[] {
  try {
    parseRule(input);
  } catch (err) {
    if (err instanceof RuleValidationError) return err.issues.map((i) => ({ ...i }));
    throw err;
  }
  throw new Error('expected the rule to be refused');
}

describe('rule validation', () => {
  it('applies the rule and detector defaults', () => {
    expect(parseRule(valid)).toEqual({ ...valid, enabled: true, severity: 'major', params: { limitKw: 10, hysteresisKw: 0, forMs: 0, clearForMs: 0 } });
    expect(parseRule({ ...valid, subject: { area: 'a1' } }).subject).toEqual({ area: 'a1', includeDescendants: false });
  });

  it('names the path of a bad detector parameter', () => {
    expect(issues({ ...valid, params: { limitKw: -1 } })).toEqual([{ path: 'params.limitKw', message: expect.stringContaining('> 0') as string }]);
    expect(issues({ ...valid, params: { limitKw: 5, limitkw: 6 } })).toEqual([{ path: 'params.limitkw', message: 'unknown key' }]);
    expect(issues({ ...valid, params: {} }).map((i) => i.path)).toEqual(['params']);
  });

  it('names the subject field that is wrong, and refuses an unknown shape', () => {
    expect(issues({ ...valid, subject: { meters: [] } }).map((i) => i.path)).toEqual(['subject.meters']);
    expect(issues({ ...valid, subject: { meters: ['a', ''] } }).map((i) => i.path)).toEqual(['subject.meters[1]']);
    expect(issues({ ...valid, subject: { all: false } }).map((i) => i.path)).toEqual(['subject.all']);
    expect(issues({ ...valid, subject: { group: 'x' } })).toEqual([{ path: 'subject', message: 'needs one of the keys meter, meters, area or all' }]);
  });

  it('refuses an unknown detector, severity or rule key', () => {
    expect(issues({ ...valid, detector: 'power-over-limits' }).map((i) => i.path)).toEqual(['detector']);
    expect(issues({ ...valid, severity: 'urgent' }).map((i) => i.path)).toEqual(['severity']);
    expect(issues({ ...valid, colour: 'red' })).toEqual([{ path: 'colour', message: 'unknown key' }]);
  });

  it('checks what only makes sense across fields', () => {
    expect(issues({ ...valid, detector: 'transformer-overload', params: {} })).toEqual([{ path: 'subject', message: 'transformer-overload judges areas: give { area } or { all: true }' }]);
    expect(issues({ ...valid, detector: 'device-event', params: { codes: ['cover-open'] } }).map((i) => i.path)).toEqual(['params.clearOn']);
    expect(issues({ ...valid, subject: { area: 'a' }, detector: 'area-line-loss', params: { supplyMeter: 's', minLossPct: 5, maxLossPct: 5 } }).map((i) => i.path)).toEqual(['params.minLossPct']);
  });

  it('offers every detector a rule can name', () => {
    expect([...DETECTOR_NAMES].sort()).toEqual([
      'abnormal-area', 'area-line-loss', 'clock-drift', 'communication-loss', 'current-imbalance', 'current-loss', 'device-event',
      'low-power-factor', 'power-over-limit', 'register-backwards', 'register-stuck', 'reverse-power', 'sudden-jump',
      'transformer-overload', 'voltage-loss', 'voltage-out-of-limits', 'zero-consumption',
    ]);
  });
});

describe('rule sets in YAML', () => {
  it('loads the default rule set', () => {
    const rules = loadRuleSet('config/rules.yaml');
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rules.map((r) => r.detector))).toEqual(new Set([
      'power-over-limit', 'voltage-out-of-limits', 'voltage-loss', 'current-loss', 'reverse-power', 'low-power-factor',
      'communication-loss', 'clock-drift', 'register-backwards', 'transformer-overload', 'abnormal-area', 'device-event',
    ]));
  });

  it('reports every bad rule with its place in the list', () => {
    const text = [
      'rules:',
      '  - { id: a, name: A, subject: { all: true }, detector: power-over-limit, params: { limitKw: 5 } }',
      '  - { id: b, name: B, subject: { all: true }, detector: power-over-limit, params: { limitKw: "high" } }',
      '  - { id: a, name: C, subject: { meter: m1 }, detector: clock-drift, params: { maxDriftS: 30 } }',
    ].join('\n');
    let error: unknown;
    try {
      parseRuleSet(text, 'rules.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.issues.map((i) => i.path)).toEqual(['rules[1].params.limitKw', 'rules[2].id']);
    expect(e.message).toContain('invalid configuration in rules.yaml');
  });

  it('refuses YAML errors, a missing file and keys other than rules', () => {
    expect(() => parseRuleSet('rules: [ {', 'x.yaml')).toThrow(/YAML/);
    expect(() => loadRuleSet('config/no-such-rules.yaml')).toThrow(/cannot read rule set/);
    expect(() => parseRuleSet('rule: []', 'x.yaml')).toThrow(/rule: unknown key/);
  });
});
