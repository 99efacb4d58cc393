/**
 * The tariff engine's errors. Each names the field at fault (`tariffs[2].seasons[0].periods[1].from`,
 * `intervals[3].importWh`) and a machine-readable `reason`; the API answers them with 400.
 */
import { DomainError } from '../../domain/errors.js';

/** One problem with a tariff definition. */
export interface TariffIssue {
  /** Path of the field, e.g. `tariffs[2].seasons[0].periods[1].from`. */
  readonly field: string;
  /** Stable: `overlapping-periods`, `bucket-without-price`, `month-in-two-seasons`, `tiers-not-ascending`, `unknown-time-zone`, `bad-price`, `unknown-currency`, `schema`… */
  readonly reason: string;
  readonly message: string;
}

/** A tariff definition that cannot be compiled; `issues` lists every problem found, the first is `field`. */
export class TariffDefinitionError extends DomainError {
  readonly code = 'TARIFF_DEFINITION';
  readonly status = 400;
  readonly field: string;
  readonly reason: string;
  constructor(readonly issues: readonly [TariffIssue, ...TariffIssue[]]) {
    super(`${issues[0].field}: ${issues[0].message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`);
    this.field = issues[0].field;
    this.reason = issues[0].reason;
  }
}

/** Usage a tariff cannot charge: intervals that do not cover the period, a missing reactive energy… */
export class TariffUsageError extends DomainError {
  readonly code: string = 'TARIFF_USAGE';
  readonly status = 400;
  constructor(readonly field: string, readonly reason: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** A charge request for a tariff charged once per billing cycle (two-part) whose period is not one whole cycle. */
export class CycleOnlyError extends TariffUsageError {
  override readonly code = 'TARIFF_CYCLE_ONLY';
  constructor(readonly tariffId: string, field: string, message: string) {
    super(field, 'cycle-only', message);
  }
}
