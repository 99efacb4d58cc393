/**
 * The simulated meter's own account (Blue Book Part 2 §4.6 payment metering), with no COSEM
 * encoding: two credits, a token credit (priority 1) and an emergency credit (priority 2,
 * selectable until invoked), one consumption-based charge that collects from the credit in use
 * as active import energy accrues, and a token gateway whose tokens add to the token credit.
 *
 * Amounts are integers in the account's raw units (currency × 10^−scale). The charge's price is
 * `pricePerKwh` raw units per kWh; what a collection cannot take whole is carried to the next,
 * so nothing is lost to rounding. What no credit can pay becomes aggregated debt.
 *
 * available_credit: the sum of the credits in use or enabled (an emergency credit counts once
 * invoked) less the aggregated debt, as §4.6.2 describes it.
 */

export interface PaymentMeteringOptions {
  /** ISO 4217 code as currency_name (default 'CNY'). */
  readonly currency?: string;
  /** currency_scale (default −2: raw units are fen). */
  readonly scale?: number;
  readonly mode?: 'credit' | 'prepayment';
  /** Initial token credit, raw units (default 10,000). */
  readonly tokenCredit?: number;
  /** Emergency credit granted when invoked, raw units (default 1,000). */
  readonly emergencyCredit?: number;
  /** Price of one kWh of active import, raw units (default 60). */
  readonly pricePerKwh?: number;
  /** low_credit_threshold, raw units (default 2,000). */
  readonly lowCreditThreshold?: number;
  /** Serve a Token gateway (default true). */
  readonly tokenGateway?: boolean;
  /** Serve available_credit in a type the Blue Book does not give it (a malformed meter). */
  readonly malformed?: 'available-credit';
}

export type SimCreditStatus = 0 | 1 | 2 | 3 | 4; // enabled, selectable, selected, in use, exhausted

export interface SimCredit {
  readonly ln: string;
  readonly type: 0 | 2;
  readonly priority: number;
  amount: number;
  status: SimCreditStatus;
  readonly warningThreshold: number;
  readonly limit: number;
  readonly preset: number;
}

/** §4.6.5 token_status codes the simulated gateway answers. */
export const TOKEN_STATUS = { formatFailure: 4, validationFailure: 6, executionOk: 3 } as const;

/** The simulator's token carrier: 'G' 'T', token id (4 octets), amount (double-long, raw units). */
export const SIM_TOKEN_LENGTH = 10;

export class PaymentAccount {
  readonly currency: string;
  readonly scale: number;
  readonly mode: 1 | 2;
  status: 1 | 2 | 3 = 2;
  readonly pricePerKwh: number;
  readonly lowCreditThreshold: number;
  readonly credits: readonly [SimCredit, SimCredit];
  aggregatedDebt = 0;
  totalAmountPaid = 0;
  lastCollectionAmount = 0;
  lastCollectionAt: number;
  token: Uint8Array = new Uint8Array(0);
  tokenAt: number | undefined;
  tokenStatus = TOKEN_STATUS.executionOk as number;
  readonly options: PaymentMeteringOptions;
  private lastEnergyWh: number;
  /** Raw units owed but less than one, carried to the next collection. */
  private carry = 0;
  /** Token ids executed (a token is single-use); bounded, the oldest forgotten first. */
  private readonly usedTokens = new Set<number>();

  constructor(options: PaymentMeteringOptions, energyWh: number, now: number) {
    this.options = options;
    this.currency = options.currency ?? 'CNY';
    this.scale = options.scale ?? -2;
    this.mode = options.mode === 'credit' ? 1 : 2;
    this.pricePerKwh = options.pricePerKwh ?? 60;
    this.lowCreditThreshold = options.lowCreditThreshold ?? 2_000;
    this.lastEnergyWh = energyWh;
    this.lastCollectionAt = now;
    this.credits = [
      { ln: '0.0.19.10.0.255', type: 0, priority: 1, amount: options.tokenCredit ?? 10_000, status: 3, warningThreshold: this.lowCreditThreshold, limit: 0, preset: 0 },
      { ln: '0.0.19.10.1.255', type: 2, priority: 2, amount: 0, status: 1, warningThreshold: 0, limit: 0, preset: options.emergencyCredit ?? 1_000 },
    ];
  }

  /** Collects the charge for the energy since the last collection (§4.6.4 consumption-based collection). */
  settle(energyWh: number, now: number): void {
    const wh = energyWh - this.lastEnergyWh;
    if (wh <= 0 || this.status !== 2) {
      this.lastEnergyWh = Math.max(this.lastEnergyWh, energyWh);
      return;
    }
    this.lastEnergyWh = energyWh;
    this.carry += (wh / 1000) * this.pricePerKwh;
    const due = Math.floor(this.carry);
    if (due <= 0) return;
    this.carry -= due;
    let left = due;
    for (const c of [...this.credits].sort((a, b) => a.priority - b.priority)) {
      if (left === 0) break;
      if (c.status !== 3 || c.amount <= 0) continue;
      const take = Math.min(left, c.amount);
      c.amount -= take;
      left -= take;
      if (c.amount === 0) c.status = 4;
    }
    this.aggregatedDebt += left;
    this.totalAmountPaid += due - left;
    this.lastCollectionAmount = due - left;
    this.lastCollectionAt = now;
    this.selectNext();
  }

  get availableCredit(): number {
    return this.credits.reduce((sum, c) => sum + (c.status === 3 || c.status === 0 ? c.amount : 0), 0) - this.aggregatedDebt;
  }

  /** The credit in use, 0 when none (current_credit_in_use names it by its place in credit_reference_list, from 1). */
  get creditInUse(): number {
    return this.credits.findIndex((c) => c.status === 3) + 1;
  }

  /** §4.6.3 update_amount: adds to current_credit_amount; an exhausted credit that has some again is back in use. */
  updateAmount(credit: SimCredit, raw: number): void {
    credit.amount += raw;
    if (credit.amount > 0 && credit.status === 4) credit.status = 3;
    this.clearDebt();
  }

  /** §4.6.3 set_amount_to_value. */
  setAmount(credit: SimCredit, raw: number): void {
    credit.amount = raw;
    credit.status = raw > 0 ? 3 : 4;
  }

  /** §4.6.3 invoke_credit: the emergency credit is granted its preset amount and goes in use. */
  invoke(credit: SimCredit): boolean {
    if (credit.status !== 1 && credit.status !== 2) return false;
    credit.amount += credit.preset;
    credit.status = 3;
    return true;
  }

  /** §4.6.5 enter: the token is kept with its time and status; an executed token adds to the token credit. */
  enter(token: Uint8Array, now: number): void {
    this.token = token.slice();
    this.tokenAt = now;
    const view = new DataView(token.buffer, token.byteOffset, token.byteLength);
    if (token.length !== SIM_TOKEN_LENGTH || token[0] !== 0x47 || token[1] !== 0x54) {
      this.tokenStatus = TOKEN_STATUS.formatFailure;
      return;
    }
    const id = view.getUint32(2);
    const amount = view.getInt32(6);
    if (this.usedTokens.has(id) || amount <= 0) {
      this.tokenStatus = TOKEN_STATUS.validationFailure;
      return;
    }
    if (this.usedTokens.size >= 1_000) this.usedTokens.delete(this.usedTokens.values().next().value ?? 0);
    this.usedTokens.add(id);
    this.updateAmount(this.credits[0], amount);
    this.tokenStatus = TOKEN_STATUS.executionOk;
  }

  /** A debt is paid from the credit first, before the credit is available again. */
  private clearDebt(): void {
    for (const c of this.credits) {
      if (this.aggregatedDebt === 0) break;
      if (c.status !== 3 || c.amount <= 0) continue;
      const take = Math.min(this.aggregatedDebt, c.amount);
      c.amount -= take;
      this.aggregatedDebt -= take;
      this.totalAmountPaid += take;
      if (c.amount === 0) c.status = 4;
    }
  }

  private selectNext(): void {
    if (this.credits.some((c) => c.status === 3)) return;
    const next = this.credits.find((c) => c.status === 0 && c.amount > 0);
    if (next !== undefined) next.status = 3;
  }
}

/** A token for the simulated gateway (tests and the demo's vending stand-in). */
export function simulatedToken(id: number, amountRaw: number): Uint8Array {
  const b = new Uint8Array(SIM_TOKEN_LENGTH);
  const v = new DataView(b.buffer);
  b[0] = 0x47;
  b[1] = 0x54;
  v.setUint32(2, id);
  v.setInt32(6, amountRaw);
  return b;
}
