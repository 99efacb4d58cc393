/**
 * The `workflows` section (src/workflows): whether processes run at all, the deployed
 * definitions' bounds, what starts instances (triggers), the variables every instance starts
 * with, and the runtime's bounds. Each part's schema is defined beside the code that reads it
 * where it has one (definitions), as `fees` is.
 */
import Type, { type Static } from 'typebox';
import { OneOf, strict } from '../../protocols/config.js';
import { SEVERITIES } from '../domain/alarm.js';
import { WorkflowDefinitionsConfig } from './workflowDefinitions.js';

const ProcessKey = Type.String({ minLength: 1, maxLength: 128 });
const FEE_ACTIONS = ['warn-first', 'warn-second', 'disconnect', 'reconnect'] as const;
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 100 });

/** An alarm starts the process when it matches every list given (an empty list matches all). */
export const AlarmTrigger = Type.Object(
  {
    process: ProcessKey,
    on: Type.Literal('alarm'),
    /** Rule ids (config/rules.yaml `id`): one detector serves several rules (device-event: cover open, power down…). */
    rules: Names,
    detectors: Names,
    severities: Type.Array(OneOf(SEVERITIES), { default: [], maxItems: SEVERITIES.length }),
    /** The alarm's area or any area below one of these. */
    areas: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 1_000 }),
  },
  strict,
);

/** A fee-control decision on an account starts the process (one running instance per account and process). */
export const FeeTrigger = Type.Object(
  {
    process: ProcessKey,
    on: Type.Literal('fee'),
    actions: Type.Array(OneOf(FEE_ACTIONS), { minItems: 1, maxItems: FEE_ACTIONS.length }),
  },
  strict,
);

export const WorkflowsConfig = Type.Object(
  {
    /** Processes run at all: shipped processes deployed, triggers followed, instances resumed. */
    enabled: Type.Boolean({ default: true }),
    /** Deployed process definitions (src/config/workflowDefinitions.ts, read by src/workflows/definitions). */
    definitions: WorkflowDefinitionsConfig,
    triggers: Type.Array(Type.Union([AlarmTrigger, FeeTrigger]), { default: [], maxItems: 100 }),
    /** Process variables every instance starts with (a trigger's own variables win), e.g. `{ commLossWait: PT4H }`. */
    variables: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Union([Type.String({ maxLength: 1_000 }), Type.Number(), Type.Boolean()]), { default: {} }),
    /** Work orders and fee payments are followed this often by the leader's runtime. */
    pollMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000 }),
    /** Work-order changes read per poll. */
    changesPerPoll: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
    /** Running instances across the station, at most; a start beyond is refused (429). */
    maxRunning: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    /** History lines kept per instance; the oldest go beyond. */
    maxHistoryPerInstance: Type.Integer({ minimum: 10, maximum: 100_000, default: 1_000 }),
    /** An instance's variables as JSON, at most; a step that would pass it fails the instance. */
    maxVariablesBytes: Type.Integer({ minimum: 1_024, maximum: 16 * 1_048_576, default: 65_536 }),
  },
  { ...strict, default: {} },
);

export type WorkflowsConfig = Static<typeof WorkflowsConfig>;
export type WorkflowTrigger = WorkflowsConfig['triggers'][number];
