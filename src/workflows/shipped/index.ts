/**
 * The processes the station ships (suspected theft, communication loss, fee recovery, meter
 * replacement), as BPMN XML (processes.ts): the definitions store deploys them at start, and
 * an operator edits them in the modeler like any other.
 */
import { SHIPPED_XML } from './processes.js';

/** The shipped process keys: each is its BPMN process id. */
export const SHIPPED_PROCESSES = ['suspected-theft', 'communication-loss', 'fee-recovery', 'meter-replacement'] as const;
export type ShippedProcess = (typeof SHIPPED_PROCESSES)[number];

export interface ShippedDefinition {
  readonly key: ShippedProcess;
  readonly xml: string;
}

/** Every shipped process's XML, in SHIPPED_PROCESSES order. */
export function shippedDefinitions(): readonly ShippedDefinition[] {
  return SHIPPED_PROCESSES.map((key) => ({ key, xml: shippedXml(key) }));
}

export function shippedXml(key: ShippedProcess): string {
  return SHIPPED_XML[key];
}
