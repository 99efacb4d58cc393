/**
 * The processes the station ships (suspected theft, communication loss, fee recovery, meter
 * replacement), as their `.bpmn` files: the definitions store deploys them at start, and an
 * operator edits them in the modeler like any other. The files are the originals, read where
 * they lie: next to this module when run from the sources, or in the source tree from `dist/`
 * (tsc does not copy them, and they stay one copy).
 */
import { readFileSync } from 'node:fs';


/** The shipped process keys: each is its file's name and its BPMN process id. */
export const SHIPPED_PROCESSES = ['suspected-theft', 'communication-loss', 'fee-recovery', 'meter-replacement'] as const;
export type ShippedProcess = (typeof SHIPPED_PROCESSES)[number];

export interface ShippedDefinition {
  readonly key: ShippedProcess;
  readonly xml: string;
}

/** Where the files are: beside this module in the sources; from dist/src/workflows/shipped, back in src/workflows/shipped. */
const LOCATIONS = ['./', '../../../../src/workflows/shipped/'] as const;

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
