/**
 * What a drawn process can compute, within what bpmn-elements resolves: `${path}` reads a
 * property path of `{ environment, ...message }` and `${fn(arg, …)}` calls a function found
 * on such a path, with string, number, true/false/null literals or paths as arguments. It has
 * no operators, so comparisons are the functions below, offered as the engine's services:
 *
 *   ${environment.services.eq(environment.variables.outcome, 'confirmed')}
 *
 * Process variables are `environment.variables.<name>` everywhere (conditions, timer
 * durations, gh:params, where `${name}` is a short form for the variable).
 */

/** The comparison functions gateway conditions call as `environment.services.<name>(a, b)`. */
export const CONDITION_SERVICES = {
  /** Equal after coercing both sides to strings, so a form's "3" equals a read's 3. */
  eq: (a: unknown, b: unknown): boolean => String(a) === String(b),
  ne: (a: unknown, b: unknown): boolean => String(a) !== String(b),
  gt: (a: unknown, b: unknown): boolean => Number(a) > Number(b),
  ge: (a: unknown, b: unknown): boolean => Number(a) >= Number(b),
  lt: (a: unknown, b: unknown): boolean => Number(a) < Number(b),
  le: (a: unknown, b: unknown): boolean => Number(a) <= Number(b),
  /** True when the variable is set to anything but false, null, 0 or ''. */
  isSet: (a: unknown): boolean => a !== undefined && a !== null && a !== false && a !== 0 && a !== '',
} as const;

/**
 * `gh:params` (`name=value;name=value`) with `${name}` (or `${environment.variables.name}`)
 * replaced by the variable's value; a variable that is not set becomes the empty string.
 */
export function actionParams(params: string | undefined, variables: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  if (params === undefined || params.trim() === '') return out;
  for (const pair of params.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    out[pair.slice(0, eq).trim()] = substitute(pair.slice(eq + 1).trim(), variables);
  }
  return out;
}

function substitute(value: string, variables: Readonly<Record<string, unknown>>): string {
  return value.replace(/\$\{\s*(?:environment\.variables\.)?([\w.-]+)\s*\}/g, (_m, name: string) => {
    const v = variables[name];
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v;
    return typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  });
}

/** Keys bpmn-elements puts into a process's variables from its run message: not the process's own data. */
const ENGINE_KEYS = new Set(['fields', 'content', 'properties']);

/** The process's own variables out of its environment's. */
export function ownVariables(variables: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(variables)) if (!ENGINE_KEYS.has(k)) out[k] = v;
  return out;
}
