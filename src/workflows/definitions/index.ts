/**
 * Builds the definition service from the `workflows` section and hands it to the composition
 * root, with the helpers it needs to feed it: what definitions are checked against, and the
 * shipped `.bpmn` files of a folder.
 */
import type { AuditLog } from '../../control/audit.js';
import type { WorkflowsConfig } from '../../config/workflows.js';
import type { Logger } from '../../observe/logger.js';
import type { CheckCatalogue } from './check.js';
import { DefinitionService } from './service.js';
import type { WorkflowDefinitionStore } from './store.js';

export { DefinitionInvalidError, DefinitionService, DefinitionTooLarge } from './service.js';
export type { CheckCatalogue, DefinitionCheck } from './check.js';

export interface WorkflowDefinitionsAssembly {
  readonly config: { readonly workflows: WorkflowsConfig };
  readonly store: WorkflowDefinitionStore;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** What a definition is checked against, asked at each check (the action registry may grow after start). */
  readonly catalogue: () => CheckCatalogue;
  readonly now?: () => number;
}

/** The definition service, or undefined while workflows are off (`workflows.enabled`). */
export function createWorkflowDefinitions(a: WorkflowDefinitionsAssembly): DefinitionService | undefined {
  if (!a.config.workflows.enabled) return undefined;
  return new DefinitionService({
    store: a.store, audit: a.audit, catalogue: a.catalogue, maxBytes: a.config.workflows.definitions.maxBytes,
    logger: a.logger.child({ component: 'workflow-definitions' }), ...(a.now === undefined ? {} : { now: a.now }),
  });
}

/** The catalogue of the check from the lists the modeler's catalogue shows. */
export function checkCatalogueOf(
  actions: readonly { readonly name: string }[], roles: readonly string[], workOrderTypes: readonly { readonly type: string }[],
): CheckCatalogue {
  return { actions: new Set(actions.map((x) => x.name)), roles, workOrderTypes: new Set(workOrderTypes.map((t) => t.type)) };
}
