/**
 * What every configuration schema is built from: the protocols' own (`protocols/<proto>/config.ts`),
 * the simulators' (`simulators/config.ts`) and the station's (`src/config/schema.ts`), which
 * composes them into one document. TypeBox, so the same schemas describe Fastify routes, and
 * the one error a configuration that does not hold up raises, whoever checks it.
 */
import Type from 'typebox';

/** Every object of a configuration rejects unknown keys: a typo is an error, not a silent default. */
export const strict = { additionalProperties: false } as const;

/** An id of the registry (terminal, meter, area); also the terminal's topic segment over MQTT. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });
export const Host = Type.String({ minLength: 1, maxLength: 253 });
export const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** One of a fixed list of strings, typed as the union of them. */
export function OneOf<T extends string>(values: readonly T[], options: { default?: T; description?: string } = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

export interface ConfigIssue {
  /** Key path, e.g. `registry.meters[3].terminalId`. */
  readonly path: string;
  readonly message: string;
}

/** A configuration that cannot be used, with every problem found, each naming its key path. */
export class ConfigError extends Error {
  readonly code = 'CONFIG';
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`invalid configuration in ${source}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
