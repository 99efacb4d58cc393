/**
 * `workflows.definitions` (read by src/workflows/definitions): the bounds of a process
 * definition deployed through the API or shipped with the station.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';

/** 1 MiB: a drawn process of a few hundred elements with its diagram is well under 100 KiB. */
export const DEFAULT_MAX_DEFINITION_BYTES = 1024 * 1024;

export const WorkflowDefinitionsConfig = Type.Object(
  {
    /** The largest `.bpmn` file taken (UTF-8 bytes); a larger one is refused before it is parsed. */
    maxBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: DEFAULT_MAX_DEFINITION_BYTES }),
  },
  { ...strict, default: {} },
);

export type WorkflowDefinitionsConfig = Static<typeof WorkflowDefinitionsConfig>;
