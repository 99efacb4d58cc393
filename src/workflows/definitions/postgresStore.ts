/**
 * The definition store (store.ts) on PostgreSQL, migration 28, shared by every node. A deploy
 * takes a transaction-scoped advisory lock on its key before it reads the latest version, so
 * two nodes deploying the same process at once write one after the other: the second sees the
 * first's version (and its hash) and takes the next, or answers it when the XML is the same.
 * The insert still carries ON CONFLICT as the last guard, answered as `DefinitionVersionTaken`.
 */
import type { DomainError } from '../../domain/errors.js';
import { ADVISORY_LOCK_SPACE, type PostgresDatabase, type Sql } from '../../storage/postgres/connection.js';
import type { DefinitionSummary, ProcessDefinition } from '../model.js';
import {
  DefinitionVersionTaken, definitionOf, deployDecision, summaryOf,
  type DefinitionListing, type DefinitionRow, type DeployCondition, type DeployOutcome, type NewDefinition, type WorkflowDefinitionStore,
} from './store.js';

type FullRow = DefinitionRow & { readonly xml: string };

/**
 * pg_advisory_xact_lock(ADVISORY_LOCK_SPACE, LOCK_WORKFLOW_DEFINITIONS # hashtext(key)): one lock
 * per process key ('wfdf' xor the key's hash), so deploys of different processes do not wait on each other.
 */
export const LOCK_WORKFLOW_DEFINITIONS = 0x77666466;

export class PostgresWorkflowDefinitionStore implements WorkflowDefinitionStore {
  constructor(private readonly db: PostgresDatabase) {}

  async deploy(d: NewDefinition, when?: DeployCondition): Promise<DeployOutcome> {
    let refusal: DomainError | undefined;
    try {
      return await this.db.run((sql) => sql.begin(async (tx): Promise<DeployOutcome> => {
        await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_WORKFLOW_DEFINITIONS} # hashtext(${d.key}))`;
        const [row] = await tx<DefinitionRow[]>`SELECT key, version, name, hash, deployed_at, deployed_by, shipped
          FROM workflow_definitions WHERE key = ${d.key} ORDER BY version DESC LIMIT 1`;
        const decision = deployDecision(row === undefined ? undefined : summaryOf(row), d, when);
        if (!decision.write) return decision.outcome;
        const inserted = await tx`INSERT INTO workflow_definitions (key, version, name, xml, hash, deployed_at, deployed_by, shipped)
          VALUES (${d.key}, ${decision.version}, ${d.name}, ${d.xml}, ${d.hash}, ${d.deployedAt}, ${d.deployedBy}, ${d.shipped})
          ON CONFLICT (key, version) DO NOTHING RETURNING version`;
        if (inserted.length === 0) {
          refusal = new DefinitionVersionTaken(d.key, decision.version);
          throw refusal;
        }
        const { xml: _xml, ...summary } = d;
        return { outcome: 'created', definition: { ...summary, version: decision.version } };
      }));
    } catch (err) {
      // The refusal thrown to roll back comes out as itself, not as a failed query.
      throw refusal ?? err;
    }
  }

  async latest(key: string): Promise<ProcessDefinition | undefined> {
    const [row] = await this.db.run((sql) => sql<FullRow[]>`SELECT * FROM workflow_definitions WHERE key = ${key} ORDER BY version DESC LIMIT 1`);
    return row === undefined ? undefined : definitionOf(row);
  }

  async get(key: string, version: number): Promise<ProcessDefinition | undefined> {
    const [row] = await this.db.run((sql) => sql<FullRow[]>`SELECT * FROM workflow_definitions WHERE key = ${key} AND version = ${version}`);
    return row === undefined ? undefined : definitionOf(row);
  }

  async versions(key: string): Promise<DefinitionSummary[]> {
    const rows = await this.db.run((sql) => sql<DefinitionRow[]>`SELECT key, version, name, hash, deployed_at, deployed_by, shipped
      FROM workflow_definitions WHERE key = ${key} ORDER BY version DESC`);
    return rows.map(summaryOf);
  }

  async list(): Promise<DefinitionListing[]> {
    const rows = await this.db.run((sql: Sql) => sql<(DefinitionRow & { versions: number })[]>`SELECT DISTINCT ON (key)
        key, version, name, hash, deployed_at, deployed_by, shipped, count(*) OVER (PARTITION BY key)::integer AS versions
      FROM workflow_definitions ORDER BY key, version DESC`);
    return rows.map((r) => ({ ...summaryOf(r), versions: r.versions }));
  }
}
