/**
 * The import rules of DESIGN.md, checked on every import of src/, protocols/ and simulators/
 * (type-only imports included: a type couples modules as much as a value does):
 *   (a) protocols/ and simulators/ import nothing from src/;
 *   (b) src/collect and src/control import no protocol-specific module;
 *   (c) there is no import cycle between folders;
 *   (d) no module imports one above it in the data flow, and commands go only through control;
 *   (e) the dashboard (src/web) takes from outside src/web types only, besides the few
 *       browser-safe modules it shares with the server, so no server code reaches its bundle.
 * Violations the code still has are listed in KNOWN_VIOLATIONS: a new one fails, and so does
 * a listed one that no longer occurs, so the list only shrinks and always tells the truth.
 */
import { describe, expect, it } from 'vitest';
import { importsOf, sourceFiles, type SourceImport } from '../helpers/sourceImports.js';

/** The interface every protocol implements and the one sleep: generic, not protocol-specific. */
const GENERIC_PROTOCOL_MODULES = ['protocols/adapter.ts', 'protocols/timers.ts'];

/**
 * The data flow, first stage first: devices → collect → ingest → storage | live | rules →
 * alarms. A stage consumes what the stages before it produce, through the contracts they
 * declare (collect drives protocols/adapter.ts sessions, live and rules implement ingest's
 * ReadingSink, alarms render the rules' explanations), so a module may import its own stage
 * and earlier ones, never a later one: a producer that knew its consumers could not be read,
 * tested or replaced without them. Folders on one stage (storage | live | rules) are
 * siblings and may import one another; rule (c) still keeps them free of cycles. Devices
 * (protocols/) come before every stage, and rule (a) covers them whole. A subfolder belongs
 * to its folder's stage (src/rules/loadControl is rules).
 */
const DATA_FLOW: readonly (readonly string[])[] = [
  ['src/collect'],
  ['src/ingest'],
  ['src/storage', 'src/live', 'src/rules'],
  ['src/alarms'],
];

/**
 * Commands go back to the devices only through control. Control reaches them through collect
 * (the sessions that speak to devices) and imports nothing later in the data flow; of the
 * data-flow folders only those that decide to act, rules and alarms, may import control.
 * Collect, ingest, storage and live carry readings and never command.
 */
const CONTROL: { readonly folder: string; readonly mayImport: readonly string[]; readonly importedBy: readonly string[] } = {
  folder: 'src/control', mayImport: ['src/collect'], importedBy: ['src/rules', 'src/alarms'],
};

/**
 * Shared by every layer, not a stage of the flow: the embedded database handle, the PostgreSQL
 * pool, its typed errors and its LISTEN/NOTIFY helpers (how a store tells the other nodes).
 */
const INFRASTRUCTURE = [
  'src/storage/db.ts', 'src/storage/postgres/connection.ts', 'src/storage/postgres/errors.ts',
  'src/storage/postgres/notifications.ts', 'src/storage/postgres/follower.ts',
];

/**
 * What the dashboard may import from outside src/web besides types: code written to run in
 * the browser as well as on the server (explanations rendered in the reader's language, the
 * alarm severities, the BPMN extension, the work-order states). Everything else it takes with `import type`, which the bundle erases.
 */
const BROWSER_SAFE = [
  'src/rules/explanation.ts', 'src/rules/explanationZh.ts', 'src/domain/alarm.ts',
  // The BPMN `gh:` extension the modeler loads, and the work-order states: plain data.
  'src/workflows/moddle.ts', 'src/workOrders/model.ts',
  // The firmware campaign and device states.
  'src/firmware/model.ts',
];

type Rule = 'a protocols-free-of-src' | 'b protocol-neutral-core' | 'c folder-cycle' | 'd layer-order' | 'e web-bundle';

/**
 * Violations the code is allowed to keep, each with the rule it breaks: `file -> imported
 * file`, or for (c) the folder edge `folder -> folder` that lies on a cycle. Empty: every rule
 * holds. Never add an entry to let a new import through; change the import.
 */
const KNOWN_VIOLATIONS: readonly { readonly rule: Rule; readonly edge: string }[] = [];

const FILES = sourceFiles(['src', 'protocols', 'simulators']);
const IMPORTS: readonly SourceImport[] = FILES.flatMap(importsOf).filter((i) => i.local);

interface Violation { readonly rule: Rule; readonly edge: string; readonly message: string }

describe('import rules', () => {
  it('(a) protocols/ and simulators/ import nothing from src/', () => {
    const found = IMPORTS
      .filter((i) => (under(i.from, 'protocols') || under(i.from, 'simulators')) && under(i.to, 'src'))
      .map((i) => fileViolation('a protocols-free-of-src', i, `${top(i.from)}/ must not import src/`));
    expectOnlyKnown('a protocols-free-of-src', found);
  });

  it('(b) src/collect and src/control import no protocol-specific module', () => {
    const found = IMPORTS
      .filter((i) => (under(i.from, 'src/collect') || under(i.from, 'src/control')) && under(i.to, 'protocols') && !GENERIC_PROTOCOL_MODULES.includes(i.to))
      .map((i) => fileViolation('b protocol-neutral-core', i, `${folderOf(i.from, ['src/collect', 'src/control'])} may import only the generic ${GENERIC_PROTOCOL_MODULES.join(', ')} from protocols/`));
    expectOnlyKnown('b protocol-neutral-core', found);
  });

  it('(c) no import cycle between folders', () => {
    expectOnlyKnown('c folder-cycle', folderCycles(IMPORTS));
  });

  it('(d) no module imports a later stage of the data flow; commands go only through control', () => {
    const found: Violation[] = [];
    for (const i of IMPORTS) {
      if (INFRASTRUCTURE.includes(i.to)) continue;
      const fromStage = stageOf(i.from);
      const toStage = stageOf(i.to);
      if (fromStage !== undefined && toStage !== undefined && toStage.index > fromStage.index) {
        found.push(fileViolation('d layer-order', i, `${fromStage.folder} must not import ${toStage.folder}, a later stage of the data flow`));
      }
      const fromControl = under(i.from, CONTROL.folder);
      if (fromControl && toStage !== undefined && !CONTROL.mayImport.some((f) => under(i.to, f))) {
        found.push(fileViolation('d layer-order', i, `${CONTROL.folder} may import only ${CONTROL.mayImport.join(', ')} of the data flow`));
      }
      if (!fromControl && fromStage !== undefined && under(i.to, CONTROL.folder) && !CONTROL.importedBy.includes(fromStage.folder)) {
        found.push(fileViolation('d layer-order', i, `${fromStage.folder} carries readings and must not import ${CONTROL.folder} (only ${CONTROL.importedBy.join(', ')} may)`));
      }
    }
    expectOnlyKnown('d layer-order', found);
  });

  it('(e) the dashboard imports only types from outside src/web, besides the browser-safe modules', () => {
    const found = IMPORTS
      .filter((i) => under(i.from, 'src/web') && !under(i.to, 'src/web') && !i.typeOnly && !BROWSER_SAFE.includes(i.to))
      .map((i) => fileViolation('e web-bundle', i, `src/web must use \`import type\` for ${i.to}: its code would reach the browser bundle (browser-safe: ${BROWSER_SAFE.join(', ')})`));
    expectOnlyKnown('e web-bundle', found);
  });

  it('reads every kind of import the rules depend on', () => {
    // The parser must see the imports the rules are about, or every rule would pass vacuously.
    const kinds = IMPORTS.filter((i) => i.from === 'src/web/types.ts');
    expect(kinds.some((i) => i.typeOnly && i.to === 'src/api/liveSchemas.ts')).toBe(true);
    expect(IMPORTS.some((i) => i.from === 'src/cli.ts' && !i.typeOnly)).toBe(true);
    expect(FILES.length).toBeGreaterThan(200);
  });
});

function expectOnlyKnown(rule: Rule, found: readonly Violation[]): void {
  const known = new Set(KNOWN_VIOLATIONS.filter((v) => v.rule === rule).map((v) => v.edge));
  const seen = new Set(found.map((v) => v.edge));
  const fresh = found.filter((v) => !known.has(v.edge)).map((v) => v.message);
  const gone = [...known].filter((edge) => !seen.has(edge)).map((edge) => `no longer occurs, remove it from KNOWN_VIOLATIONS: { rule: '${rule}', edge: '${edge}' }`);
  expect([...new Set(fresh)].concat(gone), `rule ${rule}`).toEqual([]);
}

function fileViolation(rule: Rule, i: SourceImport, why: string): Violation {
  const kind = i.typeOnly ? 'imports types from' : 'imports';
  return { rule, edge: `${i.from} -> ${i.to}`, message: `${i.from}:${i.line} ${kind} '${i.specifier}' (${i.to}): ${why} [rule ${rule}]` };
}

/**
 * Folder edges that lie on a cycle (both ends in one strongly connected component), each
 * with one cycle through it and the import that makes the edge. Cutting imports can only
 * split components, so this set only shrinks as cycles are broken.
 */
function folderCycles(imports: readonly SourceImport[]): Violation[] {
  const edges = new Map<string, Map<string, SourceImport>>();
  for (const i of imports) {
    const a = dirOf(i.from);
    const b = dirOf(i.to);
    // A folder's own files are shared by the folders inside it (protocols/dlms/bytes.ts for
    // protocols/dlms/apdu): a part leaning on its whole is containment, not a cycle.
    if (a === b || under(a, b)) continue;
    const out = edges.get(a) ?? new Map<string, SourceImport>();
    if (!out.has(b)) out.set(b, i);
    edges.set(a, out);
  }
  const component = stronglyConnected(edges);
  const found: Violation[] = [];
  for (const [a, out] of [...edges].sort(([x], [y]) => x.localeCompare(y))) {
    for (const [b, witness] of [...out].sort(([x], [y]) => x.localeCompare(y))) {
      if (component.get(a) !== component.get(b)) continue;
      const back = shortestPath(edges, b, a);
      const cycle = [a, ...back].join(' -> ');
      found.push({
        rule: 'c folder-cycle',
        edge: `${a} -> ${b}`,
        message: `${a} -> ${b} closes the cycle ${cycle}; ${witness.from}:${witness.line} imports '${witness.specifier}' [rule c folder-cycle]`,
      });
    }
  }
  return found;
}

/** Tarjan's algorithm: a component id per node. */
function stronglyConnected(edges: ReadonlyMap<string, ReadonlyMap<string, unknown>>): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const component = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  let next = 0;
  let components = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components += 1;
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return component;
}

/** The nodes after `from` on a shortest path from `from` to `to` (breadth first), `from` included first. */
function shortestPath(edges: ReadonlyMap<string, ReadonlyMap<string, unknown>>, from: string, to: string): string[] {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  // Iterating an array sees what is pushed onto it meanwhile: a queue.
  for (const v of queue) {
    if (v === to) break;
    for (const w of [...(edges.get(v)?.keys() ?? [])].sort()) {
      if (previous.has(w)) continue;
      previous.set(w, v);
      queue.push(w);
    }
  }
  const path = [to];
  for (let v = to; v !== from;) {
    v = previous.get(v) ?? from;
    path.unshift(v);
  }
  return path;
}

function stageOf(file: string): { readonly folder: string; readonly index: number } | undefined {
  for (const [index, stage] of DATA_FLOW.entries()) {
    const folder = stage.find((f) => under(file, f));
    if (folder !== undefined) return { folder, index };
  }
  return undefined;
}

function under(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

function top(file: string): string {
  return file.split('/')[0] ?? file;
}

function folderOf(file: string, folders: readonly string[]): string {
  return folders.find((f) => under(file, f)) ?? dirOf(file);
}

function dirOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '.' : file.slice(0, slash);
}
