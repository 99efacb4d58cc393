/**
 * Turning rule parameters (from YAML or the API) into a detector's typed parameters: apply
 * the schema's defaults, then validate. The engine and the rules API share this one path.
 */
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ValidationError } from '../../domain/errors.js';

/** Defaults applied, then checked; throws `ValidationError` naming the first bad field. */
export function parseDetectorParams<S extends TSchema>(schema: S, input: unknown): Static<S> {
  const value = Value.Default(schema, structuredClone(input));
  for (const e of Value.Errors(schema, value)) {
    // TypeBox reports `additionalProperties: false` twice (once as a boolean schema); keep the readable one.
    if (e.keyword === 'boolean') continue;
    const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    throw new ValidationError(`detector parameter ${field === '' ? '(root)' : field}: ${e.message}`, field || undefined);
  }
  return value as Static<S>;
}
