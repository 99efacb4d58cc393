/**
 * The rule model: what to watch (subject), with which detector and parameters, at which
 * severity. YAML rule sets and the API go through the same `parseRule`, so a rule that loads
 * from a file is exactly a rule the API would accept.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { OneOf } from '../config/schema.js';
import { SEVERITIES, type Severity } from '../domain/alarm.js';
import { ValidationError } from '../domain/errors.js';
import { DETECTORS, DETECTOR_NAMES, isDetectorName, type DetectorName } from './catalogue.js';

const strict = { additionalProperties: false } as const;
export const RuleId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });
const EntityId = Type.String({ minLength: 1, maxLength: 64 });

/** The four subject shapes, tried by the key they carry so an error names the right one. */
const SUBJECTS = {
  meter: Type.Object({ meter: EntityId }, strict),
  meters: Type.Object({ meters: Type.Array(EntityId, { minItems: 1, maxItems: 100_000, uniqueItems: true }) }, strict),
  area: Type.Object({ area: EntityId, includeDescendants: Type.Boolean({ default: false }) }, strict),
  all: Type.Object({ all: Type.Literal(true) }, strict),
} as const;

export const RuleSubject = Type.Union([SUBJECTS.meter, SUBJECTS.meters, SUBJECTS.area, SUBJECTS.all]);
export type RuleSubject = Static<typeof RuleSubject>;

const headFields = {
  id: RuleId,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  enabled: Type.Boolean({ default: true }),
  severity: OneOf<Severity>(SEVERITIES, { default: 'major' }),
};
const looseFields = {
  detector: OneOf<DetectorName>(DETECTOR_NAMES, { description: 'The detector that judges the subject.' }),
  params: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Parameters of the detector (see its schema).' }),
};

/** The rule without its subject, which is checked by the key it carries. */
const RuleHead = Type.Object({ ...headFields, ...looseFields, subject: Type.Optional(Type.Unknown()) }, strict);

export interface Rule {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly severity: Severity;
  readonly subject: RuleSubject;
  readonly detector: DetectorName;
  /** Validated against the detector's schema, defaults applied. */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface RuleIssue {
  /** Dotted path inside the rule: `params.limitKw`, `subject.meters[2]`. */
  readonly path: string;
  readonly message: string;
}

export class RuleValidationError extends ValidationError {
  constructor(readonly issues: readonly RuleIssue[]) {
    super(issues.map((i) => `${i.path || '(rule)'}: ${i.message}`).join('; '), issues[0]?.path);
  }
}

/** Defaults applied, then every problem collected; throws `RuleValidationError` naming each path. */
export function parseRule(input: unknown): Rule {
  const issues: RuleIssue[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RuleValidationError([{ path: '', message: 'expected an object' }]);
  const raw = structuredClone(input) as Record<string, unknown>;
  const base = Value.Default(RuleHead, raw) as Record<string, unknown>;
  collect(RuleHead, base, '', issues);
  const parsedSubject = parseSubject(base.subject, issues);
  const detector = typeof base.detector === 'string' && isDetectorName(base.detector) ? base.detector : undefined;
  let params: Record<string, unknown> = {};
  if (detector !== undefined && typeof base.params === 'object' && base.params !== null) {
    const schema = DETECTORS[detector].params;
    params = Value.Default(schema, base.params) as Record<string, unknown>;
    collect(schema, params, 'params', issues);
    if (issues.length === 0) crossCheck(detector, params, parsedSubject, issues);
  }
  if (issues.length > 0 || detector === undefined || parsedSubject === undefined) throw new RuleValidationError(issues);
  const head = base as unknown as Omit<Rule, 'subject' | 'params'>;
  return { ...head, detector, subject: parsedSubject, params };
}

/** Meter and area ids the subject names, for checking against the registry. */
export function subjectRefs(subject: RuleSubject): { meters: string[]; areas: string[] } {
  if ('meter' in subject) return { meters: [subject.meter], areas: [] };
  if ('meters' in subject) return { meters: [...subject.meters], areas: [] };
  if ('area' in subject) return { meters: [], areas: [subject.area] };
  return { meters: [], areas: [] };
}

function parseSubject(subject: unknown, issues: RuleIssue[]): RuleSubject | undefined {
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) {
    issues.push({ path: 'subject', message: 'expected { meter }, { meters: [...] }, { area, includeDescendants? } or { all: true }' });
    return undefined;
  }
  const key = (['meter', 'meters', 'area', 'all'] as const).find((k) => k in subject);
  if (key === undefined) {
    issues.push({ path: 'subject', message: 'needs one of the keys meter, meters, area or all' });
    return undefined;
  }
  const value = Value.Default(SUBJECTS[key], structuredClone(subject));
  const before = issues.length;
  collect(SUBJECTS[key], value, 'subject', issues);
  return issues.length === before ? (value as RuleSubject) : undefined;
}

function crossCheck(detector: DetectorName, params: Record<string, unknown>, subject: RuleSubject | undefined, issues: RuleIssue[]): void {
  if (subject === undefined) return;
  if (DETECTORS[detector].area && !('area' in subject) && !('all' in subject)) {
    issues.push({ path: 'subject', message: `${detector} judges areas: give { area } or { all: true }` });
  }
  if (detector === 'device-event' && params.clearAfterMs === 0 && Array.isArray(params.clearOn) && params.clearOn.length === 0) {
    issues.push({ path: 'params.clearOn', message: 'give clearOn codes or clearAfterMs > 0, or the alarm never clears' });
  }
  if (detector === 'area-line-loss' && typeof params.minLossPct === 'number' && typeof params.maxLossPct === 'number' && params.minLossPct >= params.maxLossPct) {
    issues.push({ path: 'params.minLossPct', message: 'must be below maxLossPct' });
  }
}

function collect(schema: TSchema, value: unknown, prefix: string, issues: RuleIssue[]): void {
  for (const e of Value.Errors(schema, value)) {
    // TypeBox reports `additionalProperties: false` twice (once as a boolean schema); keep the readable one.
    if (e.keyword === 'boolean') continue;
    const extra = (e.params as { additionalProperties?: unknown } | undefined)?.additionalProperties;
    let path = join(prefix, e.instancePath);
    let message = e.message;
    if (e.keyword === 'additionalProperties' && Array.isArray(extra)) {
      path = join(path, `/${extra.map(String).join(',')}`);
      message = 'unknown key';
    }
    issues.push({ path, message });
  }
}

/** `params` + `/meters/2` → `params.meters[2]`. */
function join(prefix: string, pointer: string): string {
  let out = prefix;
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  }
  return out;
}
