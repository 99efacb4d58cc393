/**
 * The replies of /api/v1/workflows and /api/v1/work-orders as src/workflows/README.md
 * declares them, built from the shared models (type-only imports, erased from the bundle).
 * The list wrappers and the catalogue are the routes' own; once their TypeBox schemas are in
 * src/api, these become `Static<>` derivations in src/web/types.ts like every other reply.
 */
import type { DefinitionProblem, DefinitionSummary, InstanceHistoryEntry, ProcessDefinition, WorkflowInstance } from '../../workflows/model.js';
import type { WorkOrder, WorkOrderDetail } from '../../workOrders/model.js';

export type { DefinitionProblem, DefinitionSummary, InstanceHistoryEntry, ProcessDefinition, WorkflowInstance, WorkOrder, WorkOrderDetail };

/** GET /workflows/definitions: the latest version per key, with how many versions it has. */
export interface DefinitionList { readonly items: readonly (DefinitionSummary & { readonly versions: number })[] }

/** POST /workflows/check */
export interface CheckResult { readonly ok: boolean; readonly problems: readonly DefinitionProblem[] }

/** A label a work order type gives in English, and in Chinese where it has one. */
export interface FormLabel { readonly en: string; readonly zh?: string }

/** A field of a work order type's result form; without a label the dashboard shows its name. */
export interface WorkOrderField {
  readonly name: string;
  readonly kind: 'choice' | 'text' | 'number' | 'boolean' | 'meter';
  readonly required: boolean;
  readonly choices?: readonly string[];
  readonly choiceLabels?: Readonly<Record<string, FormLabel>>;
  /** A `text` that must be an RFC 3339 date-time. */
  readonly format?: 'date-time';
  readonly unit?: string;
  readonly label?: FormLabel;
}
export interface WorkOrderType { readonly type: string; readonly fields: readonly WorkOrderField[]; readonly label?: FormLabel }

/** GET /work-orders/types */
export interface WorkOrderTypes { readonly types: readonly WorkOrderType[] }

export interface CatalogueAction {
  readonly name: string;
  readonly description: string;
  readonly params: readonly { readonly name: string; readonly required: boolean; readonly description: string }[];
}
/** GET /workflows/catalogue: what the modeler offers in its side panel. */
export interface Catalogue { readonly actions: readonly CatalogueAction[]; readonly roles: readonly string[]; readonly workOrderTypes: readonly WorkOrderType[] }

/** GET /workflows/instances/:id: the instance with its history and the XML of its version. */
export type InstanceDetail = WorkflowInstance & { readonly history: readonly InstanceHistoryEntry[]; readonly xml: string };

/** GET /workflows/instances, GET /work-orders: a keyset page. */
export interface Keyset<T> { readonly items: readonly T[]; readonly next: string | null }

/** POST /workflows/definitions refused: the problem body's findings. */
export interface DefinitionInvalid { readonly code: 'DEFINITION_INVALID'; readonly problems: readonly DefinitionProblem[] }
