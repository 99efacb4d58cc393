/**
 * What the COSEM helpers share: the slice of DlmsClient they need (so tests and the server
 * engine's tests can stand in for it), well-known logical names, and turning a per-item
 * result into a value or a typed DataAccessError.
 */
import type { DlmsData } from '../axdr/data.js';
import { asStructure } from '../axdr/describe.js';
import type { DlmsClient, GetResult } from './client.js';
import { DataAccessError } from './errors.js';
import { describeAttribute, type AttributeRef } from './refs.js';

export type CosemClient = Pick<DlmsClient, 'get' | 'getList' | 'set' | 'action'>;

/** Default instances (IEC 62056-6-1 / Blue Book; DESIGN.md catalogue). */
export const COSEM_OBIS = {
  clock: '0.0.1.0.0.255',
  /** The current association ("0.0.40.0.0.255" always names the association in use). */
  currentAssociation: '0.0.40.0.0.255',
  disconnectControl: '0.0.96.3.10.255',
  limiter: '0.0.17.0.0.255',
} as const;

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** The value read, or DataAccessError naming the result and the attribute. */
export async function getValue(client: CosemClient, ref: AttributeRef, signal?: AbortSignal): Promise<DlmsData> {
  return valueOf(await client.get(ref, undefined, signal), ref);
}

export function valueOf(result: GetResult, ref: AttributeRef): DlmsData {
  if (result.ok) return result.value;
  throw new DataAccessError(result.error, `get ${describeAttribute(ref)}`);
}

/**
 * The members of a structure of exactly `n` members, as a tuple of that length. asStructure
 * has checked the count, so the indexes are in range; this states it to the type checker.
 */
export function fieldsOf(d: DlmsData, n: 2, what: string): [DlmsData, DlmsData];
export function fieldsOf(d: DlmsData, n: 3, what: string): [DlmsData, DlmsData, DlmsData];
export function fieldsOf(d: DlmsData, n: 4, what: string): [DlmsData, DlmsData, DlmsData, DlmsData];
export function fieldsOf(d: DlmsData, n: number, what: string): DlmsData[] {
  return [...asStructure(d, n, what)];
}
