/**
 * Rule sets in YAML (`config/rules.yaml`): `rules: [ { id, name, severity, subject,
 * detector, params }, ... ]`. Every rule goes through `parseRule`, the same check as the API;
 * all problems are reported at once, each with its path (`rules[3].params.limitKw`).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../config/load.js';
import { RuleValidationError, parseRule, type Rule } from './model.js';

/** Rules in one set, at most: a rule set is written by people, not generated per meter. */
export const MAX_RULES_PER_SET = 10_000;

export function loadRuleSet(file: string): Rule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read rule set: ${(err as Error).message}` }]);
  }
  return parseRuleSet(text, file);
}

export function parseRuleSet(text: string, source: string): Rule[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(source, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })));
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'expected a mapping with a `rules` list' }]);
  }
  const extra = Object.keys(raw).filter((k) => k !== 'rules');
  const list = (raw as { rules?: unknown }).rules ?? [];
  const issues: ConfigIssue[] = extra.map((k) => ({ path: k, message: 'unknown key (a rule set has only `rules`)' }));
  if (!Array.isArray(list)) throw new ConfigError(source, [...issues, { path: 'rules', message: 'expected a list of rules' }]);
  if (list.length > MAX_RULES_PER_SET) throw new ConfigError(source, [{ path: 'rules', message: `more than ${MAX_RULES_PER_SET} rules` }]);
  const rules: Rule[] = [];
  const ids = new Set<string>();
  list.forEach((item: unknown, i) => {
    const at = `rules[${i}]`;
    try {
      const rule = parseRule(item);
      if (ids.has(rule.id)) issues.push({ path: `${at}.id`, message: `duplicate rule id ${JSON.stringify(rule.id)}` });
      ids.add(rule.id);
      rules.push(rule);
    } catch (err) {
      if (!(err instanceof RuleValidationError)) throw err;
      for (const e of err.issues) issues.push({ path: e.path === '' ? at : `${at}.${e.path}`, message: e.message });
    }
  });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return rules;
}
