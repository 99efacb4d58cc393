import type { MeterId, TerminalId } from './ids.js';
import type { Quantity } from './quantity.js';

export type Protocol = 'dlms' | 'modbus' | 'mqtt';

/**
 * Quality of one value:
 * - `good`: read from the device (a value outside the meter's physical bounds is refused, never stored);
 * - `suspect`: delivered, but the device flagged it or its timestamp lies too far ahead of the station clock;
 * - `bad`: the device reported an error for it (kept for the record, never aggregated).
 */
export type Quality = 'good' | 'suspect' | 'bad';

/** A normalised reading: primary-side value in the catalogue unit, device timestamp. */
export interface Reading {
  readonly meterId: MeterId;
  readonly quantity: Quantity;
  readonly value: number;
  readonly unit: string;
  /** Device timestamp, ms since the Unix epoch (the station's receive time when the device gave none). */
  readonly ts: number;
  readonly quality: Quality;
  readonly source: ReadingSource;
}

/** The latest known value of one quantity of a meter. */
export interface LatestValue {
  readonly quantity: Quantity;
  readonly value: number;
  readonly unit: string;
  readonly ts: number;
  readonly quality: Quality;
}

export interface ReadingSource {
  readonly protocol: Protocol;
  readonly terminalId: TerminalId;
  /** `poll` for a scheduled or on-demand read, `push` for device-initiated telemetry. */
  readonly mode: 'poll' | 'push';
}
