/**
 * Where deployed process definitions are kept: every version of every process, the XML as
 * deployed. `WorkflowDefinitionStore` is the port; src/workflows/definitions/sqliteStore.ts is
 * the embedded implementation (migration 21), postgresStore.ts the PostgreSQL one (migration 28).
 *
 * Versions of a key count 1, 2, … and are never rewritten: a running instance names the
 * version it started on and finds that XML again after a restart. `deploy` decides the next
 * version and writes it in one step that two nodes deploying at once cannot both take: the
 * embedded file has one writer, PostgreSQL serialises deploys of a key with an advisory lock,
 * and the primary key (key, version) refuses a second row with `DefinitionVersionTaken`
 * should anything get past both.
 */
import { DomainError } from '../../domain/errors.js';
import type { DefinitionSummary, ProcessDefinition } from '../model.js';

/** A definition to store; its version is decided by the store. */
export type NewDefinition = Omit<ProcessDefinition, 'version'>;

/** The latest version of a key with how many versions it has. */
export type DefinitionListing = DefinitionSummary & { readonly versions: number };

/**
 * Whether `deploy` may add a version over the key's latest; a key without versions always takes
 * the first. Called inside the store's transaction, so the answer holds when the row is written.
 */
export type DeployCondition = (latest: DefinitionSummary) => boolean;

/**
 * - `created`: a new version was written;
 * - `unchanged`: the key's latest version has the same hash, and is answered;
 * - `declined`: the condition refused to add over the latest, which is answered.
 */
export interface DeployOutcome {
  readonly outcome: 'created' | 'unchanged' | 'declined';
  readonly definition: DefinitionSummary;
}

export interface WorkflowDefinitionStore {
  /**
   * Adds the definition as the key's next version unless its latest has the same hash
   * (`unchanged`) or `when` declines. Throws `DefinitionVersionTaken` when another writer took
   * the version in between (the caller may try again).
   */
  deploy(definition: NewDefinition, when?: DeployCondition): Promise<DeployOutcome>;
  latest(key: string): Promise<ProcessDefinition | undefined>;
  get(key: string, version: number): Promise<ProcessDefinition | undefined>;
  /** Every version of the key, newest first; empty for an unknown key. */
  versions(key: string): Promise<DefinitionSummary[]>;
  /** The latest version of every key, by key. */
  list(): Promise<DefinitionListing[]>;
}

/** Two deploys of one key raced for the same version and this one lost; deploying again takes the next. */
export class DefinitionVersionTaken extends DomainError {
  readonly code = 'DEFINITION_VERSION_TAKEN';
  readonly status = 409;
  constructor(readonly key: string, readonly version: number) {
    super(`version ${version} of process ${JSON.stringify(key)} was deployed by another writer at the same time; deploy again`);
  }
}

/** What `deploy` decides from the latest version, the same on both drivers. */
export function deployDecision(
  latest: DefinitionSummary | undefined, definition: NewDefinition, when: DeployCondition | undefined,
): { readonly write: false; readonly outcome: DeployOutcome } | { readonly write: true; readonly version: number } {
  if (latest?.hash === definition.hash) return { write: false, outcome: { outcome: 'unchanged', definition: latest } };
  if (latest !== undefined && when !== undefined && !when(latest)) return { write: false, outcome: { outcome: 'declined', definition: latest } };
  return { write: true, version: (latest?.version ?? 0) + 1 };
}

/** A row of `workflow_definitions` as both drivers read it (shipped as 0/1 on SQLite). */
export interface DefinitionRow {
  readonly key: string;
  readonly version: number;
  readonly name: string;
  readonly hash: string;
  readonly deployed_at: number;
  readonly deployed_by: string;
  readonly shipped: boolean | number;
  readonly xml?: string;
}

export function summaryOf(r: DefinitionRow): DefinitionSummary {
  return { key: r.key, version: r.version, name: r.name, hash: r.hash, deployedAt: r.deployed_at, deployedBy: r.deployed_by, shipped: r.shipped === true || r.shipped === 1 };
}

export function definitionOf(r: DefinitionRow & { readonly xml: string }): ProcessDefinition {
  return { ...summaryOf(r), xml: r.xml };
}
