/**
 * The detectors a rule can name, each with its parameter schema and how the engine feeds
 * it: from a meter's latest values (per meter or per phase), from time alone (communication
 * loss), from device events, or from an area's figures.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { QUANTITY_NAMES, type Quantity } from '../domain/quantity.js';
import {
  AbnormalAreaParams, AreaLineLossParams, ClockDriftParams, CommunicationLossParams, CurrentImbalanceParams,
  CurrentLossParams, LowPowerFactorParams, PowerOverLimitParams, RegisterBackwardsParams, RegisterStuckParams,
  ReversePowerParams, SuddenJumpParams, TransformerOverloadParams, VoltageLimitsParams, VoltageLossParams,
  ZeroConsumptionParams, detectClockDrift, detectCurrentImbalance, detectCurrentLoss, detectLowPowerFactor,
  detectPowerOverLimit, detectRegisterBackwards, detectRegisterStuck, detectReversePower, detectSuddenJump,
  detectVoltageLoss, detectVoltageOutOfLimits, detectZeroConsumption, initialCondition, initialJumpState,
  initialRegisterState, isRaised, type ConditionState, type DetectorResult, type JumpState, type LinePhase,
  type PhaseInput, type RegisterState, DeviceEventParams,
} from './detectors/index.js';

/** A detector bound to one meter's latest values, its parameters fixed. */
export interface MeterEvaluator {
  readonly scope: 'meter';
  /** Bit i set: quantity QUANTITY_NAMES[i] triggers an evaluation when it changes. */
  readonly triggers: number;
  /** Per-phase detectors keep one state per phase the meter reports, keyed by this quantity. */
  readonly phaseQuantity: ((phase: LinePhase) => Quantity) | null;
  initial(): unknown;
  raised(state: unknown): boolean;
  evaluate(state: unknown, input: PhaseInput, now: number): DetectorResult<unknown>;
}

/** Communication loss: the expected interval comes from the rule, else from the meter's collection. */
export const CommunicationLossRuleParams = Type.Object(
  { ...CommunicationLossParams.properties, expectedIntervalMs: Type.Optional(CommunicationLossParams.properties.expectedIntervalMs) },
  { additionalProperties: false },
);
export type CommunicationLossRuleParams = Static<typeof CommunicationLossRuleParams>;

export type CompiledDetector =
  | MeterEvaluator
  | { readonly scope: 'silence'; readonly params: CommunicationLossRuleParams }
  | { readonly scope: 'event'; readonly params: DeviceEventParams }
  | { readonly scope: 'transformer-overload'; readonly params: TransformerOverloadParams }
  | { readonly scope: 'area-line-loss'; readonly params: AreaLineLossParams }
  | { readonly scope: 'abnormal-area'; readonly params: AbnormalAreaParams };

export interface DetectorEntry {
  readonly params: TSchema;
  /** Area detectors judge areas: their rule's subject must be an area or all. */
  readonly area: boolean;
  /** `params` already validated against the schema, defaults applied. */
  compile(params: unknown): CompiledDetector;
}

const PHASES: readonly LinePhase[] = ['l1', 'l2', 'l3'];
const voltages: Quantity[] = PHASES.map((p) => `voltage.${p}` as const);
const currents: Quantity[] = PHASES.map((p) => `current.${p}` as const);

export const DETECTORS = {
  'power-over-limit': meter(PowerOverLimitParams, () => ['power.active'], condition((s, i, p, now) => {
    const v = i.values['power.active'];
    return v === undefined ? { state: s } : detectPowerOverLimit(s, v, p, now);
  })),
  'reverse-power': meter(ReversePowerParams, () => ['power.active'], condition((s, i, p, now) => {
    const v = i.values['power.active'];
    return v === undefined ? { state: s } : detectReversePower(s, v, p, now);
  })),
  'low-power-factor': meter(LowPowerFactorParams, () => ['power.factor', 'power.active'],
    condition((s, i, p, now) => detectLowPowerFactor(s, i.values, p, now))),
  'voltage-out-of-limits': phase(VoltageLimitsParams, () => voltages, (ph) => `voltage.${ph}`, detectVoltageOutOfLimits),
  'voltage-loss': phase(VoltageLossParams, () => [...voltages, ...currents], (ph) => `voltage.${ph}`, detectVoltageLoss),
  'current-loss': phase(CurrentLossParams, () => currents, (ph) => `current.${ph}`, detectCurrentLoss),
  'current-imbalance': meter(CurrentImbalanceParams, () => currents,
    condition((s, i, p, now) => detectCurrentImbalance(s, i.values, p, now))),
  'zero-consumption': meter(ZeroConsumptionParams, (p) => [p.register], register((s, i, p, now) => detectZeroConsumption(s, i.values, p, now))),
  'register-stuck': meter(RegisterStuckParams, (p) => [p.register], register((s, i, p, now) => detectRegisterStuck(s, i.values, p, now))),
  'register-backwards': meter(RegisterBackwardsParams, (p) => [p.register], register((s, i, p, now) => {
    const v = i.values[p.register];
    return v === undefined ? { state: s } : detectRegisterBackwards(s, v, p, now);
  })),
  'sudden-jump': meter(SuddenJumpParams, (p) => [p.quantity], {
    initial: initialJumpState,
    raised: (s: JumpState) => isRaised(s.condition),
    evaluate: (s: JumpState, i, p, now) => {
      const v = i.values[p.quantity];
      return v === undefined ? { state: s } : detectSuddenJump(s, v, p, now);
    },
  }),
  'clock-drift': meter(ClockDriftParams, () => ['clock.drift'], condition((s, i, p, now) => {
    const v = i.values['clock.drift'];
    return v === undefined ? { state: s } : detectClockDrift(s, v, p, now);
  })),
  'communication-loss': special(CommunicationLossRuleParams, false, (params) => ({ scope: 'silence', params })),
  'device-event': special(DeviceEventParams, false, (params) => ({ scope: 'event', params })),
  'transformer-overload': special(TransformerOverloadParams, true, (params) => ({ scope: 'transformer-overload', params })),
  'area-line-loss': special(AreaLineLossParams, true, (params) => ({ scope: 'area-line-loss', params })),
  'abnormal-area': special(AbnormalAreaParams, true, (params) => ({ scope: 'abnormal-area', params })),
} as const satisfies Record<string, DetectorEntry>;

export type DetectorName = keyof typeof DETECTORS;
export const DETECTOR_NAMES = Object.keys(DETECTORS) as readonly DetectorName[];

export function isDetectorName(name: string): name is DetectorName {
  return Object.hasOwn(DETECTORS, name);
}

/** The bit of a quantity in a trigger mask (the catalogue has fewer than 32 quantities). */
export function quantityBit(q: Quantity): number {
  return QUANTITY_BITS.get(q) ?? 0;
}

const QUANTITY_BITS = new Map<Quantity, number>(QUANTITY_NAMES.map((q, i) => [q, 1 << i]));
if (QUANTITY_NAMES.length > 31) throw new Error('the quantity catalogue outgrew the 31-bit trigger masks');

// ── helpers binding the pure detectors ───────────────────────────────────────

interface Spec<P, S> {
  initial(): S;
  raised(state: S): boolean;
  evaluate(state: S, input: PhaseInput, params: P, now: number): DetectorResult<S>;
}

function meter<T extends TSchema, S>(
  schema: T,
  triggers: (p: Static<T>) => readonly Quantity[],
  spec: Spec<Static<T>, S>,
  phaseQuantity: ((phase: LinePhase) => Quantity) | null = null,
): DetectorEntry {
  return {
    params: schema,
    area: false,
    compile: (raw) => {
      const params = raw as Static<T>;
      let mask = 0;
      for (const q of triggers(params)) mask |= quantityBit(q);
      return {
        scope: 'meter',
        triggers: mask,
        phaseQuantity,
        initial: () => spec.initial(),
        raised: (s) => spec.raised(s as S),
        evaluate: (s, input, now) => spec.evaluate(s as S, input, params, now),
      };
    },
  };
}

function phase<T extends TSchema>(
  schema: T,
  triggers: (p: Static<T>) => readonly Quantity[],
  phaseQuantity: (phase: LinePhase) => Quantity,
  detect: (s: ConditionState, input: PhaseInput, p: Static<T>, now: number) => DetectorResult<ConditionState>,
): DetectorEntry {
  return meter(schema, triggers, condition(detect), phaseQuantity);
}

function condition<P>(evaluate: Spec<P, ConditionState>['evaluate']): Spec<P, ConditionState> {
  return { initial: initialCondition, raised: isRaised, evaluate };
}

function register<P>(evaluate: Spec<P, RegisterState>['evaluate']): Spec<P, RegisterState> {
  return { initial: initialRegisterState, raised: (s) => isRaised(s.condition), evaluate };
}

function special<T extends TSchema>(schema: T, area: boolean, compile: (params: Static<T>) => CompiledDetector): DetectorEntry {
  return { params: schema, area, compile: (raw) => compile(raw as Static<T>) };
}
