/**
 * The definition store (store.ts) in the embedded SQLite file, migration 21. A deploy reads
 * the latest version and writes the next in one IMMEDIATE transaction: the write lock is taken
 * before the read, so another connection to the file cannot draw the same version between.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../../storage/db.js';
import type { DefinitionSummary, ProcessDefinition } from '../model.js';
import {
  DefinitionVersionTaken, definitionOf, deployDecision, summaryOf,
  type DefinitionListing, type DefinitionRow, type DeployCondition, type DeployOutcome, type NewDefinition, type WorkflowDefinitionStore,
} from './store.js';

type FullRow = DefinitionRow & { readonly xml: string };

const SUMMARY_COLUMNS = 'key, version, name, hash, deployed_at, deployed_by, shipped';

export class SqliteWorkflowDefinitionStore implements WorkflowDefinitionStore {
  readonly #latest: Statement<[string], FullRow>;
  readonly #get: Statement<[string, number], FullRow>;
  readonly #insert: Statement<[Record<string, unknown>]>;

  constructor(private readonly db: Db) {
    this.#latest = db.prepare('SELECT * FROM workflow_definitions WHERE key = ? ORDER BY version DESC LIMIT 1');
    this.#get = db.prepare('SELECT * FROM workflow_definitions WHERE key = ? AND version = ?');
    this.#insert = db.prepare(`INSERT INTO workflow_definitions (key, version, name, xml, hash, deployed_at, deployed_by, shipped)
      VALUES (@key, @version, @name, @xml, @hash, @deployed_at, @deployed_by, @shipped)`);
  }

  deploy(d: NewDefinition, when?: DeployCondition): Promise<DeployOutcome> {
    return settled(() => this.db.transaction((): DeployOutcome => {
      const row = this.#latest.get(d.key);
      const decision = deployDecision(row === undefined ? undefined : summaryOf(row), d, when);
      if (!decision.write) return decision.outcome;
      try {
        this.#insert.run({
          key: d.key, version: decision.version, name: d.name, xml: d.xml, hash: d.hash, deployed_at: d.deployedAt, deployed_by: d.deployedBy, shipped: d.shipped ? 1 : 0,
        });
      } catch (err) {
        if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DefinitionVersionTaken(d.key, decision.version);
        throw err;
      }
      const { xml: _xml, ...summary } = d;
      return { outcome: 'created', definition: { ...summary, version: decision.version } };
    }).immediate());
  }

  latest(key: string): Promise<ProcessDefinition | undefined> {
    return settled(() => {
      const row = this.#latest.get(key);
      return row === undefined ? undefined : definitionOf(row);
    });
  }

  get(key: string, version: number): Promise<ProcessDefinition | undefined> {
    return settled(() => {
      const row = this.#get.get(key, version);
      return row === undefined ? undefined : definitionOf(row);
    });
  }

  versions(key: string): Promise<DefinitionSummary[]> {
    return settled(() => (this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM workflow_definitions WHERE key = ? ORDER BY version DESC`)
      .all(key) as DefinitionRow[]).map(summaryOf));
  }

  list(): Promise<DefinitionListing[]> {
    return settled(() => (this.db.prepare(`SELECT d.key, d.version, d.name, d.hash, d.deployed_at, d.deployed_by, d.shipped, n.versions
      FROM workflow_definitions d JOIN (SELECT key, MAX(version) AS latest, COUNT(*) AS versions FROM workflow_definitions GROUP BY key) n
        ON n.key = d.key AND n.latest = d.version
      ORDER BY d.key`).all() as (DefinitionRow & { versions: number })[]).map((r) => ({ ...summaryOf(r), versions: r.versions })));
  }
}
