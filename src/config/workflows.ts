/**
 * The `workflows` section (src/workflows): what starts instances (triggers), the variables
 * every instance starts with, and the runtime's bounds.
 */
import Type, { type Static } from 'typebox';
import { OneOf, strict } from '../../protocols/config.js';
import { SEVERITIES } from '../domain/alarm.js';

const ProcessKey = Type.String({ minLength: 1, maxLength: 128 });
const FEE_ACTIONS = ['warn-first', 'warn-second', 'disconnect', 'reconnect'] as const;

/** An alarm starts the process when it matches every list given (an empty list matches all). */
export const AlarmTrigger = Type.Object(
  {
    process: ProcessKey,
    on: Type.Literal('alarm'),
    detectors: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 100 }),
    severities: Type.Array(OneOf(SEVERITIES), { default: [], maxItems: SEVERITIES.length }),
    /** The alarm's area or any area below one of these. */
    areas: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 1_000 }),
  },
  strict,
);

/** A fee-control decision on an account starts the process (one instance per account and process). */
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
  strict,
);

export type WorkflowsConfig = Static<typeof WorkflowsConfig>;
export type WorkflowTrigger = WorkflowsConfig['triggers'][number];
