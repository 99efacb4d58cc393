/**
 * Purchase-energy control (购电控): what a top-up must be, how a repeated one is told from a
 * new one, which warning thresholds the remaining energy is at, and the program's purchase
 * figures as the API shows them. Pure; the evaluator stores and acts.
 *
 * A purchase is kWh with at most three decimals, kept as whole Wh so that the purchases of
 * years add up exactly. It is loaded once: the same Idempotency-Key, or the same purchase id
 * with the same kWh, answers with the purchase stored before; the same key or id with a
 * different purchase is a conflict, never a second load.
 */
import { wattHoursOf } from '../../config/loadControl.js';
import { DomainError, ValidationError } from '../../domain/errors.js';
import type { EnergyCount } from './measure.js';
import type { Purchase, PurchaseRecord } from './stateStore.js';

export class PurchaseError extends DomainError {
  constructor(readonly code: 'NOT_PURCHASE_PROGRAM' | 'IDEMPOTENCY_CONFLICT' | 'PURCHASE_CONFLICT', readonly status: number, message: string) {
    super(message);
  }
}

/** A purchase as the API takes it. */
export interface PurchaseRequest {
  readonly purchaseId: string;
  readonly kwh: number;
}

export interface PurchaseView {
  /** The configured load and every top-up. */
  readonly purchasedKwh: number;
  readonly initialKwh: number;
  readonly consumedKwh: number;
  /** Purchased − consumed; ≤ 0: exhausted. */
  readonly remainingKwh: number;
  readonly warnKwh: readonly number[];
  /** The thresholds the remaining energy is at or under now (each warned once as it was crossed). */
  readonly warned: readonly number[];
  /** Meters whose register went back without a recorded replacement: they count nothing until one is recorded. */
  readonly heldMeters: readonly string[];
  readonly purchaseCount: number;
  /** The latest top-ups, newest first. */
  readonly purchases: readonly PurchaseOut[];
}

export interface PurchaseOut {
  readonly purchaseId: string;
  readonly kwh: number;
  readonly actor: string;
  readonly at: number;
}

/** The whole Wh of a purchase's kWh; a ValidationError naming `body.kwh` otherwise. */
export function purchaseWh(kwh: number, maxKwh: number): number {
  const wh = wattHoursOf(kwh);
  if (wh === undefined || wh === 0) throw new ValidationError(`body.kwh must be a positive number of kWh with at most 3 decimals (got ${String(kwh)})`, 'body.kwh');
  if (kwh > maxKwh) throw new ValidationError(`body.kwh must be at most ${String(maxKwh)} kWh (loadControl.maxPurchaseKwh), got ${String(kwh)}`, 'body.kwh');
  return wh;
}

/** Whether the store added `asked` or found it stored before; a different purchase under its key or id throws. */
export function purchaseOutcome(programId: string, asked: Purchase, record: PurchaseRecord): 'created' | 'existing' {
  if (record.created) return 'created';
  const prior = record.stored;
  if (prior.idempotencyKey === asked.idempotencyKey && (prior.purchaseId !== asked.purchaseId || prior.wh !== asked.wh)) {
    throw new PurchaseError('IDEMPOTENCY_CONFLICT', 409, `Idempotency-Key ${JSON.stringify(asked.idempotencyKey)} was used for purchase ${JSON.stringify(prior.purchaseId)} of ${kwhOf(prior.wh)} kWh`);
  }
  if (prior.purchaseId === asked.purchaseId && prior.wh !== asked.wh) {
    throw new PurchaseError('PURCHASE_CONFLICT', 409, `purchase ${JSON.stringify(asked.purchaseId)} of program ${programId} was recorded with ${kwhOf(prior.wh)} kWh, not ${kwhOf(asked.wh)}`);
  }
  return 'existing';
}

/** The thresholds at or above the remaining energy, highest first. */
export function crossedThresholds(warnKwh: readonly number[], remainingKwh: number): number[] {
  return warnKwh.filter((x) => remainingKwh <= x).sort((a, b) => b - a);
}

/** Wh → kWh; exact for the three decimals a purchase has. */
export function kwhOf(wh: number): number {
  return wh / 1000;
}

export function purchaseView(o: {
  readonly purchasedWh: number; readonly initialWh: number; readonly consumed: EnergyCount | undefined; readonly warnKwh: readonly number[];
  readonly warned: readonly number[]; readonly purchaseCount: number; readonly latest: readonly Purchase[];
}): PurchaseView {
  const consumedKwh = o.consumed?.kwh ?? 0;
  return {
    purchasedKwh: kwhOf(o.purchasedWh), initialKwh: kwhOf(o.initialWh), consumedKwh, remainingKwh: kwhOf(o.purchasedWh) - consumedKwh,
    warnKwh: o.warnKwh, warned: o.warned, heldMeters: o.consumed?.held ?? [], purchaseCount: o.purchaseCount,
    purchases: o.latest.map((x) => ({ purchaseId: x.purchaseId, kwh: kwhOf(x.wh), actor: x.actor, at: x.at })),
  };
}
