/**
 * Process definitions: checked, versioned, deployed, read back; the processes shipped with
 * the station deployed at start.
 *
 * Deploying XML whose hash equals the key's latest version answers that version and makes no
 * new one, so a dashboard that deploys twice, or a station restarted, changes nothing. Else the
 * definition becomes the key's next version: new instances start on it, running ones finish on
 * theirs. Every deploy a person makes is audited, refused ones included.
 *
 * Shipped processes (src/workflows/shipped) are deployed at start as version 1 of a key that
 * has none; when the station was upgraded and its shipped file changed, as a new version, but
 * only while the key's latest version is a shipped one: a version a person deployed (the
 * dispatcher's edit in the modeler) is kept, and a line says so. A shipped file that an earlier
 * version already had is not deployed again: it is older than what runs.
 */
import { createHash } from 'node:crypto';
import { SYSTEM_ACTOR, type AuditLog } from '../../control/audit.js';
import { DomainError } from '../../domain/errors.js';
import type { Logger } from '../../observe/logger.js';
import type { DefinitionProblem, DefinitionSummary, ProcessDefinition } from '../model.js';
import { checkDefinition, type CheckCatalogue, type DefinitionCheck } from './check.js';
import { DefinitionVersionTaken, type DefinitionListing, type DeployCondition, type WorkflowDefinitionStore } from './store.js';

/** A deploy that lost the race for a version to another node takes the next one, this many times at most. */
export const DEPLOY_ATTEMPTS = 3;

/** The definition is refused: the problems of severity error, each with its element id. */
export class DefinitionInvalidError extends DomainError {
  readonly code = 'DEFINITION_INVALID';
  readonly status = 400;
  constructor(readonly problems: readonly DefinitionProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    const first = errors[0];
    super(`the process definition is refused: ${errors.length} problem(s)${first === undefined ? '' : `, first ${first.elementId ?? 'document'}: ${first.message}`}`);
  }
}

/** The XML is larger than `workflows.definitions.maxBytes`; it is not parsed. */
export class DefinitionTooLarge extends DomainError {
  readonly code = 'DEFINITION_TOO_LARGE';
  readonly status = 413;
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`the process definition has ${bytes} bytes; at most ${maxBytes} are taken (workflows.definitions.maxBytes)`);
  }
}

export interface DeployOptions {
  /** Deployed by the station from its shipped files, not by a person. */
  readonly shipped?: boolean;
  /** The network address of the request, for the audit log; null for the station's own deploys. */
  readonly source?: string | null;
}

export interface Deployed {
  readonly definition: DefinitionSummary;
  /** False when the XML equals the key's latest version, which is answered. */
  readonly created: boolean;
  /** The check's warnings (bpmnlint findings that do not refuse). */
  readonly warnings: readonly DefinitionProblem[];
}

/** A shipped file: its file name (for the log) and its XML. */
export interface ShippedFile {
  readonly name: string;
  readonly xml: string;
}

/** What `deployShipped` did with a file: deployed a version, found it deployed, kept a person's later version, or refused it. */
export type ShippedOutcome =
  | { readonly file: string; readonly outcome: 'created' | 'unchanged' | 'kept'; readonly key: string; readonly version: number }
  | { readonly file: string; readonly outcome: 'invalid'; readonly problems: readonly DefinitionProblem[] };

export interface DefinitionServiceOptions {
  readonly store: WorkflowDefinitionStore;
  readonly audit: Pick<AuditLog, 'append'>;
  /** What definitions are checked against now: the action registry, the roles, the work order types. */
  readonly catalogue: () => CheckCatalogue;
  /** `workflows.definitions.maxBytes`. */
  readonly maxBytes: number;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  readonly now?: () => number;
}

export class DefinitionService {
  readonly #o: DefinitionServiceOptions;
  readonly #now: () => number;

  constructor(options: DefinitionServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The check alone, deploying nothing. Throws `DefinitionTooLarge`. */
  async check(xml: string): Promise<DefinitionCheck> {
    this.#bounded(xml);
    return await checkDefinition(xml, this.#o.catalogue());
  }

  /**
   * Checks and deploys. Throws `DefinitionInvalidError` with the problems, `DefinitionTooLarge`,
   * or `DefinitionVersionTaken` when other nodes kept taking the version (DEPLOY_ATTEMPTS).
   */
  async deploy(xml: string, actor: string, options: DeployOptions = {}): Promise<Deployed> {
    const shipped = options.shipped === true;
    const deployed = await this.#deploy(xml, actor, shipped, undefined);
    const source = options.source ?? null;
    if ('problems' in deployed) {
      const errors = deployed.problems.filter((p) => p.severity === 'error');
      await this.#o.audit.append({
        actor, source, action: 'workflow-definition.deploy', target: deployed.key === null ? null : `workflow-definition:${deployed.key}`, outcome: 'refused',
        detail: { problems: errors.length, rules: [...new Set(errors.map((p) => p.rule))].slice(0, 10) },
      });
      throw new DefinitionInvalidError(deployed.problems);
    }
    const { definition, created } = deployed;
    await this.#o.audit.append({
      actor, source, action: 'workflow-definition.deploy', target: `workflow-definition:${definition.key}`, outcome: 'ok',
      detail: { version: definition.version, hash: definition.hash, created, shipped },
    });
    return { definition, created, warnings: deployed.warnings };
  }

  latest(key: string): Promise<ProcessDefinition | undefined> {
    return this.#o.store.latest(key);
  }

  /** The version a running instance started on. */
  get(key: string, version: number): Promise<ProcessDefinition | undefined> {
    return this.#o.store.get(key, version);
  }

  /** Every version of the key, newest first. */
  versions(key: string): Promise<DefinitionSummary[]> {
    return this.#o.store.versions(key);
  }

  /** The latest version of every key with its count of versions. */
  list(): Promise<DefinitionListing[]> {
    return this.#o.store.list();
  }

  /**
   * Deploys the station's shipped processes at start (see the file's comment). A file the
   * check refuses is logged with its problems and skipped: the others still deploy.
   */
  async deployShipped(files: readonly ShippedFile[]): Promise<ShippedOutcome[]> {
    const outcomes: ShippedOutcome[] = [];
    for (const file of files) {
      const deployed = await this.#deploy(file.xml, SYSTEM_ACTOR, true, async (key, hash) => {
        // A file some version already had is older than the latest: a node of the previous
        // release restarting during an upgrade must not put its processes back.
        const earlier = new Set((await this.#o.store.versions(key)).map((v) => v.hash));
        return (latest) => latest.shipped && !earlier.has(hash);
      });
      if ('problems' in deployed) {
        const errors = deployed.problems.filter((p) => p.severity === 'error');
        this.#o.logger.error({ file: file.name, problems: errors.slice(0, 10) }, 'shipped process definition refused by the deploy check; not deployed');
        outcomes.push({ file: file.name, outcome: 'invalid', problems: errors });
        continue;
      }
      const { definition, created, declined } = deployed;
      if (declined) {
        this.#o.logger.info({ file: file.name, key: definition.key, version: definition.version, deployedBy: definition.deployedBy },
          definition.shipped
            ? 'shipped process is an older one than the deployed version (a node of a previous release?): the deployed version is kept'
            : 'shipped process changed, but a person deployed a later version: theirs is kept');
      } else if (created) {
        await this.#o.audit.append({
          actor: SYSTEM_ACTOR, source: null, action: 'workflow-definition.deploy', target: `workflow-definition:${definition.key}`, outcome: 'ok',
          detail: { version: definition.version, hash: definition.hash, created, shipped: true, file: file.name },
        });
      }
      outcomes.push({ file: file.name, outcome: declined ? 'kept' : created ? 'created' : 'unchanged', key: definition.key, version: definition.version });
    }
    return outcomes;
  }

  #bounded(xml: string): void {
    const bytes = Buffer.byteLength(xml, 'utf8');
    if (bytes > this.#o.maxBytes) throw new DefinitionTooLarge(bytes, this.#o.maxBytes);
  }

  /** `when`: the condition of the store's deploy, made once the key and the hash are known. */
  async #deploy(xml: string, actor: string, shipped: boolean, when: ((key: string, hash: string) => Promise<DeployCondition>) | undefined): Promise<
    | { readonly definition: DefinitionSummary; readonly created: boolean; readonly declined: boolean; readonly warnings: readonly DefinitionProblem[] }
    | { readonly key: string | null; readonly problems: readonly DefinitionProblem[] }
  > {
    const checked = await this.check(xml);
    if (!checked.ok || checked.process === null) return { key: checked.process?.key ?? null, problems: checked.problems };
    const warnings = checked.problems.filter((p) => p.severity === 'warning');
    const next = {
      key: checked.process.key, name: checked.process.name, xml, hash: createHash('sha256').update(xml, 'utf8').digest('hex'),
      deployedAt: this.#now(), deployedBy: actor, shipped,
    };
    const condition = when === undefined ? undefined : await when(next.key, next.hash);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.#o.store.deploy(next, condition);
        return { definition: outcome.definition, created: outcome.outcome === 'created', declined: outcome.outcome === 'declined', warnings };
      } catch (err) {
        if (!(err instanceof DefinitionVersionTaken) || attempt >= DEPLOY_ATTEMPTS) throw err;
      }
    }
  }
}
