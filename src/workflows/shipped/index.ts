/**
 * The processes the station ships (suspected theft, communication loss, fee recovery, meter
 * replacement), as their `.bpmn` files in config/workflows: the definitions store deploys them
 * at start, and an operator edits them in the modeler like any other.
 */
import { readFileSync } from 'node:fs';

/** The shipped process keys: each is its file's name and its BPMN process id. */
export const SHIPPED_PROCESSES = ['suspected-theft', 'communication-loss', 'fee-recovery', 'meter-replacement'] as const;
export type ShippedProcess = (typeof SHIPPED_PROCESSES)[number];

export interface ShippedDefinition {
  readonly key: ShippedProcess;
  readonly xml: string;
}

/**
 * Where the files are: config/workflows at the package root, which every layout has (the
 * repository, an installed package, the Docker image all carry config/ beside the code, as
 * config/rules.yaml is found): three folders up from src/workflows/shipped, four from
 * dist/src/workflows/shipped.
 */
const LOCATIONS = ['../../../config/workflows/', '../../../../config/workflows/'] as const;

/** Every shipped process's XML, in SHIPPED_PROCESSES order. */
export function shippedDefinitions(): readonly ShippedDefinition[] {
  return SHIPPED_PROCESSES.map((key) => ({ key, xml: shippedXml(key) }));
}

export function shippedXml(key: ShippedProcess): string {
  for (const at of LOCATIONS) {
    try {
      return readFileSync(new URL(`${at}${key}.bpmn`, import.meta.url), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`the shipped process ${key}.bpmn is in none of ${LOCATIONS.join(', ')} relative to ${import.meta.url}`);
}
