/**
 * Schemas of the process definition routes (src/api/workflowDefinitionRoutes.ts) and the
 * modeler's catalogue. Times are RFC 3339 strings, as elsewhere in the API. No Node code: the
 * dashboard derives its types from it.
 */
import Type, { type Static } from 'typebox';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

export const DefinitionKeyParam = Type.Object({
  key: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'The BPMN process id.' }),
}, { additionalProperties: false });

export const VersionQuery = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1, description: 'A version of the key; the latest without it.' })),
}, { additionalProperties: false });

export const DefinitionSummaryOut = Type.Object({
  key: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  hash: Type.String({ description: 'SHA-256 of the XML, hex: the same XML deployed again makes no new version.' }),
  deployedAt: Time,
  deployedBy: Type.String(),
  shipped: Type.Boolean({ description: 'Deployed by the station from its shipped processes, not by a person.' }),
});

export const DefinitionListOut = Type.Object({
  items: Type.Array(Type.Object({ ...DefinitionSummaryOut.properties, versions: Type.Integer({ description: 'How many versions the key has.' }) })),
});

export const DefinitionVersionsOut = Type.Object({ items: Type.Array(DefinitionSummaryOut) });

export const DefinitionOut = Type.Object({ ...DefinitionSummaryOut.properties, xml: Type.String() });

export const DefinitionProblemOut = Type.Object({
  elementId: Nullable(Type.String({ description: 'The BPMN element at fault; null for the document as a whole.' })),
  rule: Type.String({ description: 'bpmnlint rule, `gridhead/…`, `xml` or `engine`.' }),
  message: Type.String(),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
});

export const DeployedOut = Type.Object({
  ...DefinitionSummaryOut.properties,
  warnings: Type.Array(DefinitionProblemOut, { description: 'Findings that do not refuse the deploy.' }),
});

export const CheckOut = Type.Object({
  ok: Type.Boolean({ description: 'No problem of severity error: a deploy would be taken.' }),
  problems: Type.Array(DefinitionProblemOut),
});

/** The problem+json of a refused definition: the house problem with its `problems`. */
export const DefinitionInvalidOut = Type.Object({
  type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(), code: Type.String(),
  instance: Type.Optional(Type.String()),
  problems: Type.Optional(Type.Array(DefinitionProblemOut)),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

/** A `.bpmn` file as `application/xml` (or `text/xml`), or JSON `{ xml }`. */
export const DefinitionBody = Type.Union([
  Type.String({ description: 'The .bpmn file (Content-Type application/xml or text/xml).' }),
  Type.Object({ xml: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
]);

export const CatalogueOut = Type.Object({
  actions: Type.Array(Type.Object({
    name: Type.String(),
    description: Type.String(),
    params: Type.Array(Type.Object({ name: Type.String(), required: Type.Boolean(), description: Type.String() })),
  })),
  roles: Type.Array(Type.String()),
  workOrderTypes: Type.Array(Type.Object({
    type: Type.String(),
    fields: Type.Array(Type.Object({
      name: Type.String(),
      kind: Type.Union([Type.Literal('choice'), Type.Literal('text'), Type.Literal('number'), Type.Literal('boolean'), Type.Literal('meter')]),
      required: Type.Boolean(),
      choices: Type.Optional(Type.Array(Type.String())),
    })),
  })),
});

export type WorkflowCatalogue = Static<typeof CatalogueOut>;
