/**
 * Turns what an adapter delivered into catalogue readings: resolves the meter, checks the
 * quantity, converts the unit, scales secondary values by the meter's CT/PT ratios, and
 * flags implausible timestamps. Pure apart from the registry lookup it is given.
 */
import type { RawReading } from '../../protocols/adapter.js';
import {
  QUANTITIES, isQuantity, transformerFactor,
  type Meter, type Protocol, type Quantity, type Reading, type ReadingSource, type TerminalId,
} from '../domain/index.js';

export type RejectReason = 'UNKNOWN_METER' | 'UNKNOWN_QUANTITY' | 'UNKNOWN_UNIT' | 'NON_FINITE_VALUE';

export interface Rejection {
  readonly reason: RejectReason;
  readonly terminalId: string;
  readonly detail: string;
}

export interface NormaliseContext {
  readonly meterAt: (terminalId: string, address: string) => Meter | undefined;
  readonly protocol: Protocol;
  readonly mode: ReadingSource['mode'];
  readonly receivedAt: number;
  /** Device timestamps further ahead than this are kept but flagged suspect. */
  readonly maxClockAheadMs: number;
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
      rejected.push({ reason: 'UNKNOWN_METER', terminalId: r.terminalId, detail: `no meter at address ${JSON.stringify(r.address)}` });
      continue;
    }
    if (!isQuantity(r.quantity)) {
      rejected.push({ reason: 'UNKNOWN_QUANTITY', terminalId: r.terminalId, detail: `quantity ${JSON.stringify(r.quantity)} is not in the catalogue` });
      continue;
    }
    const q: Quantity = r.quantity;
    const unit = QUANTITIES[q].unit;
    let value = r.value;
    if (r.unit !== undefined && r.unit !== unit) {
      const factor = UNIT_FACTORS[unit]?.[r.unit];
      if (factor === undefined) {
        rejected.push({ reason: 'UNKNOWN_UNIT', terminalId: r.terminalId, detail: `unit ${JSON.stringify(r.unit)} cannot be converted to ${JSON.stringify(unit)} for ${q}` });
        continue;
      }
      value *= factor;
    }
    if (!Number.isFinite(value)) {
      rejected.push({ reason: 'NON_FINITE_VALUE', terminalId: r.terminalId, detail: `${q} is not a finite number` });
      continue;
    }
    value *= transformerFactor(q, meter.ctRatio, meter.ptRatio);
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
