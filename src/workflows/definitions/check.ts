/**
 * The deploy-time check of a process definition: what the station refuses to run, each
 * finding with the BPMN element it concerns.
 *
 * 1. the XML is parsed by bpmn-moddle with the `gh:` extension; what it cannot read, or reads
 *    with a warning (an unknown element, a reference to no element), is a problem `xml`;
 * 2. bpmnlint's `recommended` rules, with the levels of LINT_LEVELS;
 * 3. ours (`gridhead/…`): one executable process whose id can be a key, only the elements the
 *    engine runs here, known actions with `name=value` parameters, roles and work order types,
 *    exclusive gateways with a default flow, durations and dates that parse;
 * 4. bpmn-engine loads it, as the runtime will.
 *
 * Errors refuse the deploy; warnings are shown and do not. What the check compares against
 * (the action registry, the roles, the work order types) is given by the caller, since those
 * are built by other modules.
 */
import { BpmnModdle, type ParseResult } from 'bpmn-moddle';
import { Engine } from 'bpmn-engine';
import { createRequire } from 'node:module';
import { isExpression, parseIsoDateTime, parseIsoDuration } from '../isoTime.js';
import type { DefinitionProblem } from '../model.js';
import { SUPPORTED_ELEMENTS, SUPPORTED_EVENT_DEFINITIONS, gridheadModdle } from '../moddle.js';

/** What the definition's names are checked against. */
export interface CheckCatalogue {
  /** Names of the station actions a service task may call (src/workflows/actions). */
  readonly actions: ReadonlySet<string>;
  /** Roles a user task may be for (src/auth/roles.ts). */
  readonly roles: readonly string[];
  /** Work order types a user task may open (src/workOrders). */
  readonly workOrderTypes: ReadonlySet<string>;
}

export interface DefinitionCheck {
  /** No problem of severity error: the definition may be deployed. */
  readonly ok: boolean;
  readonly problems: readonly DefinitionProblem[];
  /** The executable process's id and name, when there is exactly one. */
  readonly process: { readonly key: string; readonly name: string } | null;
}

/** A process id usable as a key in URLs, file names and the store. */
export const PROCESS_KEY = /^[a-z0-9][a-z0-9-_.]{0,63}$/i;

/**
 * bpmnlint's `recommended` set with our levels. Errors are what makes a process run wrongly or
 * not at all: disconnected elements, implicit starts, ends and splits, flows without
 * conditions, several start events. Warnings are what only makes it harder to read, and what
 * other checks cover: a missing label (the station names an unlabelled task by its id), a
 * missing diagram (the engine runs without one; the modeler lays it out again), overlaps,
 * superfluous gateways, labels and terminations, inclusive gateways (refused anyway as
 * unsupported elements, with a message of ours).
 */
export const LINT_LEVELS: Readonly<Record<string, 'error' | 'warn'>> = {
  'ad-hoc-sub-process': 'error',
  'conditional-flows': 'error',
  'end-event-required': 'error',
  'event-based-gateway': 'error',
  'event-sub-process-typed-start-event': 'error',
  'fake-join': 'warn',
  global: 'warn',
  'label-required': 'warn',
  'link-event': 'error',
  'no-bpmndi': 'warn',
  'no-complex-gateway': 'error',
  'no-disconnected': 'error',
  'no-duplicate-sequence-flows': 'error',
  'no-gateway-join-fork': 'error',
  'no-implicit-split': 'error',
  'no-implicit-end': 'error',
  'no-implicit-start': 'error',
  'no-inclusive-gateway': 'warn',
  'no-overlapping-elements': 'warn',
  'single-blank-start-event': 'error',
  'single-event-definition': 'error',
  'start-event-required': 'error',
  'sub-process-blank-start-event': 'error',
  'superfluous-gateway': 'warn',
  'superfluous-label': 'warn',
  'superfluous-termination': 'warn',
};

const SUPPORTED: ReadonlySet<string> = new Set<string>(SUPPORTED_ELEMENTS);
const SUPPORTED_DEFINITIONS: ReadonlySet<string> = new Set<string>(SUPPORTED_EVENT_DEFINITIONS);

/** Checks a definition; never throws for what the XML holds. */
export async function checkDefinition(xml: string, against: CheckCatalogue): Promise<DefinitionCheck> {
  let parsed: ParseResult;
  try {
    parsed = await new BpmnModdle({ gh: gridheadModdle }).fromXML(xml);
  } catch (err) {
    return done([{ elementId: null, rule: 'xml', message: parseMessage(err), severity: 'error' }], null);
  }
  const problems: DefinitionProblem[] = parsed.warnings.map((w) => ({
    elementId: w.element?.id ?? null, rule: 'xml', message: readable(w.message), severity: 'error',
  }));
  const definitions = parsed.rootElement as Element;
  const { process, problems: processProblems } = executableProcess(definitions);
  problems.push(...processProblems);
  if (process !== undefined) problems.push(...elementProblems(process, against));
  // bpmnlint's rules expect the whole tree: after a parse warning part of it is missing and
  // they would fail on it, so the XML is mended first.
  if (parsed.warnings.length === 0) problems.push(...await lint(definitions));
  if (!problems.some((p) => p.severity === 'error')) problems.push(...await engineProblems(xml));
  return done(problems, process === undefined ? null : { key: process.id ?? '', name: process.name ?? process.id ?? '' });
}

function done(problems: DefinitionProblem[], process: DefinitionCheck['process']): DefinitionCheck {
  return { ok: !problems.some((p) => p.severity === 'error'), problems, process };
}

/** The part of a moddle element the check reads. */
interface Element {
  readonly $type: string;
  readonly id?: string;
  readonly name?: string;
  readonly isExecutable?: boolean;
  readonly rootElements?: readonly Element[];
  readonly flowElements?: readonly Element[];
  readonly eventDefinitions?: readonly Element[];
  readonly sourceRef?: Element;
  readonly default?: Element;
  readonly timeDuration?: { readonly body?: string };
  readonly timeDate?: { readonly body?: string };
  readonly timeCycle?: { readonly body?: string };
  // The gh: extension (src/workflows/moddle.ts).
  readonly action?: string;
  readonly params?: string;
  readonly role?: string;
  readonly assignee?: string;
  readonly workOrderType?: string;
  readonly due?: string;
}

function problem(elementId: string | null | undefined, rule: string, message: string): DefinitionProblem {
  return { elementId: elementId ?? null, rule, message, severity: 'error' };
}

/** Exactly one executable process, with an id usable as a key. */
function executableProcess(definitions: Element): { process: Element | undefined; problems: DefinitionProblem[] } {
  const processes = (definitions.rootElements ?? []).filter((e) => e.$type === 'bpmn:Process');
  const executable = processes.filter((p) => p.isExecutable === true);
  if (executable.length !== 1) {
    const found = executable.length === 0
      ? `none of its ${processes.length} process(es) is marked isExecutable="true"`
      : `${executable.length} processes are (${executable.map((p) => p.id ?? '?').join(', ')})`;
    return { process: undefined, problems: [problem(executable[1]?.id ?? null, 'gridhead/one-process', `a definition holds exactly one executable process: ${found}`)] };
  }
  const [process] = executable as [Element];
  const problems = PROCESS_KEY.test(process.id ?? '') ? [] : [problem(process.id, 'gridhead/process-key',
    `process id ${JSON.stringify(process.id ?? '')} cannot be a key: 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit`)];
  return { process, problems };
}

/** Ours, element by element of the process. */
function elementProblems(process: Element, against: CheckCatalogue): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const elements = process.flowElements ?? [];
  const outgoing = new Map<string, number>();
  for (const e of elements) {
    const from = e.$type === 'bpmn:SequenceFlow' ? e.sourceRef?.id : undefined;
    if (from !== undefined) outgoing.set(from, (outgoing.get(from) ?? 0) + 1);
  }
  for (const e of elements) {
    if (!SUPPORTED.has(e.$type)) {
      problems.push(problem(e.id, 'gridhead/unsupported-element', `${e.$type} is not run by the station's engine: use ${SUPPORTED_ELEMENTS.join(', ')}`));
      continue;
    }
    for (const d of e.eventDefinitions ?? []) {
      if (!SUPPORTED_DEFINITIONS.has(d.$type)) {
        problems.push(problem(e.id, 'gridhead/unsupported-element', `${d.$type} is not supported here: events may be timers or messages`));
      } else if (d.$type === 'bpmn:TimerEventDefinition') {
        problems.push(...timerProblems(e, d));
      }
    }
    if (e.$type === 'bpmn:ServiceTask') problems.push(...serviceTaskProblems(e, against));
    if (e.$type === 'bpmn:UserTask') problems.push(...userTaskProblems(e, against));
    const flows = outgoing.get(e.id ?? '') ?? 0;
    if (e.$type === 'bpmn:ExclusiveGateway' && flows > 1 && e.default === undefined) {
      problems.push(problem(e.id, 'gridhead/gateway-without-default',
        `exclusive gateway has ${flows} outgoing flows and no default flow: when no condition holds the instance would fail; mark one flow as the default`));
    }
  }
  return problems;
}

function serviceTaskProblems(e: Element, against: CheckCatalogue): DefinitionProblem[] {
  if (e.action === undefined || e.action === '') return [problem(e.id, 'gridhead/unknown-action', 'service task names no station action (gh:action)')];
  if (!against.actions.has(e.action)) {
    return [problem(e.id, 'gridhead/unknown-action', `unknown action ${JSON.stringify(e.action)}; known: ${[...against.actions].sort().join(', ')}`)];
  }
  const bad = (e.params ?? '').split(';').filter((pair) => pair.trim() !== '' && !PARAM.test(pair.trim()));
  return bad.length === 0 ? [] : [problem(e.id, 'gridhead/bad-params',
    `gh:params must be name=value pairs separated by ';': ${bad.map((b) => JSON.stringify(b.trim())).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not`)];
}

/** One `name=value` of gh:params (src/workflows/moddle.ts); the value may be empty or hold `${variable}`. */
const PARAM = /^[A-Za-z_][\w.-]*\s*=/;

function userTaskProblems(e: Element, against: CheckCatalogue): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  if (e.role !== undefined && !against.roles.includes(e.role)) {
    problems.push(problem(e.id, 'gridhead/unknown-role', `unknown role ${JSON.stringify(e.role)}; known: ${against.roles.join(', ')}`));
  }
  if ((e.role === undefined || e.role === '') && (e.assignee === undefined || e.assignee === '')) {
    problems.push(problem(e.id, 'gridhead/unknown-role', 'user task is for nobody: give it a role (gh:role) or a user (gh:assignee)'));
  }
  if (e.workOrderType !== undefined && !against.workOrderTypes.has(e.workOrderType)) {
    problems.push(problem(e.id, 'gridhead/unknown-work-order-type',
      `unknown work order type ${JSON.stringify(e.workOrderType)}; known: ${[...against.workOrderTypes].sort().join(', ')}`));
  }
  if (e.due !== undefined && !isExpression(e.due) && parseIsoDuration(e.due) === undefined) {
    problems.push(problem(e.id, 'gridhead/bad-duration', `gh:due ${JSON.stringify(e.due)} is not an ISO 8601 duration (such as PT4H or P2D) nor a \${variable}`));
  }
  return problems;
}

/** A timer has one duration or one date, each literal and parseable or an expression; cycles are not run here. */
function timerProblems(event: Element, timer: Element): DefinitionProblem[] {
  if (timer.timeCycle !== undefined) {
    return [problem(event.id, 'gridhead/unsupported-element', 'timer cycles (timeCycle) are not supported: use a duration (timeDuration) or a date (timeDate)')];
  }
  const duration = timer.timeDuration?.body?.trim();
  const date = timer.timeDate?.body?.trim();
  if (duration !== undefined && duration !== '') {
    return isExpression(duration) || parseIsoDuration(duration) !== undefined ? []
      : [problem(event.id, 'gridhead/bad-duration', `timer duration ${JSON.stringify(duration)} is not an ISO 8601 duration (such as PT4H or P3D) nor a \${variable}`)];
  }
  if (date !== undefined && date !== '') {
    return isExpression(date) || parseIsoDateTime(date) !== undefined ? []
      : [problem(event.id, 'gridhead/bad-duration', `timer date ${JSON.stringify(date)} is not an ISO 8601 date-time with its offset (such as 2026-03-10T08:00:00+08:00) nor a \${variable}`)];
  }
  return [problem(event.id, 'gridhead/bad-duration', 'timer has neither a duration (timeDuration) nor a date (timeDate)')];
}

interface LintReport {
  readonly id?: string;
  readonly message: string;
  readonly category: string;
}

interface BpmnLinter {
  lint(root: unknown, config: object): Promise<Record<string, readonly LintReport[]>>;
}

type LinterClass = new (options: { resolver: unknown }) => BpmnLinter;
type ResolverClass = new (options: { require: NodeJS.Require }) => unknown;

// bpmnlint is CommonJS without type declarations; its Node resolver loads the rules and the
// `recommended` config from the package through this module's own resolution.
const requireHere = createRequire(import.meta.url);

/** A linter per check: bpmnlint's Linter keeps the rule instances it made, and some rules keep state between documents. */
function bpmnLinter(): BpmnLinter {
  const { Linter } = requireHere('bpmnlint') as { Linter: LinterClass };
  const NodeResolver = requireHere('bpmnlint/lib/resolver/node-resolver') as ResolverClass;
  return new Linter({ resolver: new NodeResolver({ require: requireHere }) });
}

async function lint(definitions: Element): Promise<DefinitionProblem[]> {
  const reports = await bpmnLinter().lint(definitions, { extends: 'bpmnlint:recommended', rules: LINT_LEVELS });
  return Object.entries(reports).flatMap(([rule, found]) => found.map((r): DefinitionProblem => ({
    elementId: r.id ?? null, rule, message: r.message, severity: r.category === 'warn' || r.category === 'info' ? 'warning' : 'error',
  })));
}

/** What bpmn-engine says when it loads the definition as the runtime will. */
async function engineProblems(xml: string): Promise<DefinitionProblem[]> {
  try {
    await new Engine({ source: xml, moddleOptions: { gh: gridheadModdle } }).getDefinitions();
    return [];
  } catch (err) {
    return [problem(null, 'engine', `bpmn-engine cannot load the definition: ${readable(err instanceof Error ? err.message : String(err))}`)];
  }
}

/** The parser's error, with the detail of its first warning when its own message is only "failed to parse". */
function parseMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = (err as { warnings?: readonly { message?: string }[] }).warnings?.[0]?.message;
  return readable(first !== undefined && !message.includes('\n') ? `${message}: ${first}` : message);
}

/**
 * The parser's multi-line message on one line, its line and column counted from 1 as editors do
 * (saxen counts both from 0): "unparsable content <process detected at line 3, column 14: unclosed tag".
 */
function readable(message: string): string {
  return message.replace(/\s*\n\s*line: (\d+)\s*\n\s*column: (\d+)\s*\n\s*nested error: ([^\n]*)/g,
    (_m, line: string, column: string, nested: string) => ` at line ${Number(line) + 1}, column ${Number(column) + 1}: ${nested}`)
    .replace(/\s*\n\s*/g, ' ');
}
