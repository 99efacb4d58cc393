/**
 * Fee recovery reports (电费回收) read from the fee store's tables, beside the FeeStore port:
 * arrears aged by area, the recovery rate per area and month, disconnections for fees, the
 * rows behind payment-to-reconnection times, and the accounts fee control is watching. One SQL
 * text per report serves both drivers (src/fees/reports/queries.ts);
 * src/fees/reports/sqlReports.ts runs it on SQLite or PostgreSQL.
 *
 * An account's area is the registry area (the transformer area, 台区) of its first meter: an
 * account whose meters span areas is counted once, under its first meter's area; a meter the
 * registry does not know, or one without an area, gives the area `null`.
 */
import type { CurrencyCode, FeeControlStage } from '../model.js';

/** Cap of one page or list of a report. */
export const MAX_REPORT_PAGE = 1000;

/** Age buckets of a debt, in whole days since the debit row was booked: 0–30, 31–60, 61–90, over 90. */
export interface AgeBuckets {
  readonly d0to30Minor: number;
  readonly d31to60Minor: number;
  readonly d61to90Minor: number;
  readonly over90Minor: number;
}

export interface ArrearsRow extends AgeBuckets {
  readonly accountId: string;
  readonly name: string;
  readonly customerRef: string;
  readonly areaId: string | null;
  /** −balance, > 0: what the customer owes now; the buckets add up to it. */
  readonly debtMinor: number;
  readonly currency: CurrencyCode;
}

export interface ArrearsAreaRow extends AgeBuckets {
  readonly areaId: string | null;
  readonly currency: CurrencyCode;
  readonly accounts: number;
  readonly debtMinor: number;
}

/** Keyset over (area, account): `after` is the last row of the previous page. */
export interface ArrearsQuery {
  readonly asOf: number;
  /** Only accounts of this area (`null`: accounts without an area). */
  readonly areaId?: string | null;
  readonly after?: { readonly areaId: string | null; readonly accountId: string };
  readonly limit: number;
}

/** Local months as [start, end) instants: the station's calendar, not UTC's. */
export interface MonthSpan {
  readonly month: string;
  readonly start: number;
  readonly end: number;
}

export interface RecoveryRow {
  readonly areaId: string | null;
  readonly month: string;
  readonly currency: CurrencyCode;
  /** Payments booked in the month, less the reversals of those payments. */
  readonly paidMinor: number;
  /** Charges, provisional charges and true-ups booked in the month, as a positive amount owed. */
  readonly billedMinor: number;
}

/** A disconnection for fees: open while the account is still disconnected or reconnecting. */
export interface DisconnectionRow {
  readonly accountId: string;
  readonly name: string;
  readonly areaId: string | null;
  readonly disconnectedAt: number;
  /** The verified reconnection; null while open. */
  readonly reconnectedAt: number | null;
  /** `disconnected` or `reconnecting` while open; null once reconnected. */
  readonly stage: FeeControlStage | null;
  readonly balanceMinor: number;
  readonly currency: CurrencyCode;
}

export interface DisconnectionQuery {
  /** Closed disconnections reconnected in [from, to); open ones are always listed. */
  readonly from: number;
  readonly to: number;
  readonly limit: number;
}

/** One reconnection: the payment that brought the account back to its threshold, and the verified reconnection. */
export interface ReconnectionRow {
  readonly accountId: string;
  readonly areaId: string | null;
  readonly disconnectedAt: number;
  readonly paidAt: number;
  readonly paymentId: string | null;
  readonly reconnectedAt: number;
}

/** An account fee control is watching, for the overview. */
export interface WatchedAccountRow {
  readonly accountId: string;
  readonly name: string;
  readonly areaId: string | null;
  readonly stage: FeeControlStage;
  readonly balanceMinor: number;
  readonly currency: CurrencyCode;
  readonly warnFirstMinor: number;
  readonly creditLimitMinor: number;
  readonly reconnectMinor: number;
  readonly nextWindowAt: number | null;
  readonly disconnectedAt: number | null;
  readonly updatedAt: number;
}

export interface FeeReportStore {
  /** Accounts with a negative balance, their debt aged first-in-first-out; by area then account id. */
  arrears(q: ArrearsQuery): Promise<ArrearsRow[]>;
  /** The same debts summed per area and currency. */
  arrearsByArea(asOf: number): Promise<ArrearsAreaRow[]>;
  /** Per area, month and currency; only combinations with a payment or a charge. */
  recovery(months: readonly MonthSpan[]): Promise<RecoveryRow[]>;
  /** Open disconnections (all), then closed ones reconnected in the window, newest first, at most `limit` each. */
  disconnections(q: DisconnectionQuery): Promise<{ readonly open: DisconnectionRow[]; readonly closed: DisconnectionRow[] }>;
  /** Every verified reconnection in [from, to) that a payment preceded, oldest first, at most `limit`. */
  reconnections(from: number, to: number, limit: number): Promise<ReconnectionRow[]>;
  /**
   * Accounts past normal (warned, waiting for a window, disconnected, reconnecting) and normal
   * ones near their first warning: balance below warnFirst + (warnFirst − warnSecond), one
   * warning step above it. At most `limit` per stage, lowest balance first.
   */
  watched(limit: number): Promise<WatchedAccountRow[]>;
}

/** The page size asked, within 1…MAX_REPORT_PAGE. */
export function reportLimit(limit: number): number {
  return Math.min(Math.max(1, Math.trunc(limit)), MAX_REPORT_PAGE);
}
