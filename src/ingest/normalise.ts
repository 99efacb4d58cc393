/**
 * Turns what an adapter delivered into catalogue readings: resolves the meter, checks the
 * quantity, converts the unit, scales secondary values by the meter's CT/PT ratios, refuses
 * values outside the physical bounds of the meter (./plausibility.ts), and flags implausible
 * timestamps. Pure apart from the registry lookup it is given.
 */
import type { RawReading } from '../../protocols/adapter.js';
import {
  QUANTITIES, isQuantity, transformerFactor,
  type Meter, type MeterId, type Protocol, type Quantity, type Reading, type ReadingSource, type TerminalId,
} from '../domain/index.js';
import { plausibleRange, withinBound, type Bound, type PlausibilityLimits } from './plausibility.js';

/** Every reason a reading is refused, in the order normalisation checks them. */
export const REJECT_REASONS = ['UNKNOWN_METER', 'UNKNOWN_QUANTITY', 'UNKNOWN_UNIT', 'NON_FINITE_VALUE', 'IMPLAUSIBLE_VALUE'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What every refusal carries: where the reading came from, as the device named it. */
interface RejectionBase {
  readonly terminalId: string;
  readonly address: string;
  readonly quantity: string;
  readonly detail: string;
}

/**
 * One refused reading and why. A value refusal carries the value as it would have entered
 * the pipeline (after unit conversion and CT/PT scaling) and the plausible range it missed.
 */
export type Rejection =
  | (RejectionBase & { readonly reason: 'UNKNOWN_METER' })
  | (RejectionBase & { readonly reason: 'UNKNOWN_QUANTITY' | 'UNKNOWN_UNIT'; readonly meterId: MeterId })
  | (RejectionBase & { readonly reason: 'NON_FINITE_VALUE' | 'IMPLAUSIBLE_VALUE'; readonly meterId: MeterId; readonly value: number; readonly bound: Bound });

export interface NormaliseContext {
  readonly meterAt: (terminalId: string, address: string) => Meter | undefined;
  readonly protocol: Protocol;
  readonly mode: ReadingSource['mode'];
  readonly receivedAt: number;
  /** Device timestamps further ahead than this are kept but flagged suspect. */
  readonly maxClockAheadMs: number;
  readonly plausibility: PlausibilityLimits;
}

/** Unit conversions into the catalogue unit: factor from the given unit. */
const UNIT_FACTORS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  kW: { W: 1e-3, kW: 1, MW: 1e3 },
  kWh: { Wh: 1e-3, kWh: 1, MWh: 1e3 },
  kvar: { var: 1e-3, kvar: 1, Mvar: 1e3 },
  kvarh: { varh: 1e-3, kvarh: 1, Mvarh: 1e3 },
  V: { V: 1, kV: 1e3 },
  A: { A: 1, mA: 1e-3, kA: 1e3 },
  Hz: { Hz: 1 },
  s: { s: 1, ms: 1e-3 },
  '': { '': 1 },
};

export function normalise(raw: readonly RawReading[], ctx: NormaliseContext, out: Reading[], rejected: Rejection[]): void {
  for (const r of raw) {
    const meter = ctx.meterAt(r.terminalId, r.address);
    if (meter === undefined) {
      rejected.push({ reason: 'UNKNOWN_METER', ...origin(r), detail: `no meter at address ${JSON.stringify(r.address)}` });
      continue;
    }
    if (!isQuantity(r.quantity)) {
      rejected.push({ reason: 'UNKNOWN_QUANTITY', ...origin(r), meterId: meter.id, detail: `quantity ${JSON.stringify(r.quantity)} is not in the catalogue` });
      continue;
    }
    const q: Quantity = r.quantity;
    const unit = QUANTITIES[q].unit;
    let value = r.value;
    if (r.unit !== undefined && r.unit !== unit) {
      const factor = UNIT_FACTORS[unit]?.[r.unit];
      if (factor === undefined) {
        rejected.push({ reason: 'UNKNOWN_UNIT', ...origin(r), meterId: meter.id, detail: `unit ${JSON.stringify(r.unit)} cannot be converted to ${JSON.stringify(unit)} for ${q}` });
        continue;
      }
      value *= factor;
    }
    // Bounded after scaling: a finite secondary value times a huge ratio overflows, and the
    // bounds are of what the primary side can carry.
    value *= transformerFactor(q, meter.ctRatio, meter.ptRatio);
    const bound = plausibleRange(q, meter, ctx.plausibility);
    if (!withinBound(value, bound)) {
      const finite = Number.isFinite(value);
      rejected.push({
        reason: finite ? 'IMPLAUSIBLE_VALUE' : 'NON_FINITE_VALUE', ...origin(r), meterId: meter.id, value, bound,
        detail: finite
          ? `${q} = ${value} ${unit} is outside the plausible range ${bound.min} … ${bound.max} ${unit} of meter ${meter.id}`
          : `${q} is not a finite number after unit conversion and CT/PT scaling (${value})`,
      });
      continue;
    }
    const ts = r.ts ?? ctx.receivedAt;
    const quality = r.quality ?? 'good';
    out.push({
      meterId: meter.id,
      quantity: q,
      value,
      unit,
      ts,
      quality: quality === 'good' && ts - ctx.receivedAt > ctx.maxClockAheadMs ? 'suspect' : quality,
      source: { protocol: ctx.protocol, terminalId: r.terminalId as TerminalId, mode: ctx.mode },
    });
  }
}

/** Where a refused reading came from, as the device named it; built only on refusal, off the per-reading path. */
function origin(r: RawReading): Pick<RejectionBase, 'terminalId' | 'address' | 'quantity'> {
  return { terminalId: r.terminalId, address: r.address, quantity: r.quantity };
}
