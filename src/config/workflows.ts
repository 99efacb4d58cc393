/**
 * The `workflows` section: BPMN processes run by the station (src/workflows). Each part's
 * schema is defined beside the code that reads it and composed here, as `fees` is.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';
import { WorkflowDefinitionsConfig } from './workflowDefinitions.js';

export const WorkflowsConfig = Type.Object(
  {
    /** Processes run at all: shipped processes deployed, triggers followed, instances resumed. */
    enabled: Type.Boolean({ default: true }),
    /** Deployed process definitions (src/config/workflowDefinitions.ts, read by src/workflows/definitions). */
    definitions: WorkflowDefinitionsConfig,
  },
  { ...strict, default: {} },
);

export type WorkflowsConfig = Static<typeof WorkflowsConfig>;
