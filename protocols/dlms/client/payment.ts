/**
 * A meter's own account (DLMS UA Blue Book Part 2 §4.6, payment metering): read the Account
 * (IC 111) with the Credits (IC 112) and Charges (IC 113) it lists, and add credit through a
 * Credit's update_amount (§4.6.3 method 1) or a Token gateway's enter (§4.6.5 method 1).
 *
 * A meter without these objects answers object-undefined (or has another class at the name):
 * that is PaymentMeteringUnsupported naming the object, not a failure of the meter.
 */
import type { AccountAmount, CreditTopUp, MeterAccountState } from '../../adapter.js';
import { PaymentMeteringUnsupported } from '../../adapter.js';
import type { DataAccessResult } from '../apdu/results.js';
import type { DlmsData } from '../axdr/data.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import {
  CREDIT_STATUS_BITS, decodeAccountModeAndStatus, decodeAmount, decodeChargeType, decodeCreditStatus, decodeCreditType, decodeCurrency,
  decodeCurrentCreditStatus, decodeReferenceList, decodeTokenStatus, decodeUnsigned, PAYMENT_OBIS, type AccountCurrency, type TokenStatusCode,
} from '../cosem/payment.js';
import { applyScaler } from '../cosem/units.js';
import { ProtocolError } from '../../adapter.js';
import { DlmsEncodeError } from '../errors.js';
import { valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { DataAccessError } from './errors.js';
import type { GetResult } from './client.js';
import { describeMethod, type AttributeRef } from './refs.js';
import { formatObis } from '../cosem/obis.js';

/** The account's currency is not the one the credit is given in. */
export class DlmsCurrencyMismatch extends ProtocolError {
  readonly code = 'DLMS_CURRENCY_MISMATCH';
  constructor(readonly meterCurrency: string, readonly given: string, terminalId?: string) {
    super(`the meter's account is in ${JSON.stringify(meterCurrency)}, the credit was given in ${given}`, terminalId);
  }
}

/** The token gateway took the token but did not execute it (§4.6.5 token_status). */
export class DlmsTokenRejected extends ProtocolError {
  readonly code = 'DLMS_TOKEN_REJECTED';
  constructor(readonly status: TokenStatusCode, terminalId?: string) {
    super(`the meter's token gateway answered ${status}`, terminalId);
  }
}

export interface PaymentOptions extends CallOptions {
  /** The Account instance; default 0.0.19.0.0.255. */
  readonly account?: string;
  readonly terminalId?: string;
}

const ACCOUNT = INTERFACE_CLASSES.account;
const CREDIT = INTERFACE_CLASSES.credit;
const CHARGE = INTERFACE_CLASSES.charge;
const GATEWAY = INTERFACE_CLASSES.tokenGateway;

/** Results that say the object is not there (or is another class): the meter has no such object. */
const ABSENT: ReadonlySet<DataAccessResult> = new Set(['object-undefined', 'object-class-inconsistent']);

/**
 * Reads the account: one GET-with-list for its attributes, then one for every credit's and
 * charge's attributes it lists.
 */
export async function readMeterAccount(client: CosemClient, options: PaymentOptions = {}): Promise<MeterAccountState> {
  const obis = options.account ?? PAYMENT_OBIS.account;
  const a = ACCOUNT.attributes;
  const names = ['account_mode_and_status', 'current_credit_status', 'available_credit', 'amount_to_clear', 'aggregated_debt',
    'credit_reference_list', 'charge_reference_list', 'currency', 'low_credit_threshold'] as const;
  const values = await readObject(client, ACCOUNT.classId, obis, names.map((n) => a[n]), `IC 111 Account ${obis}`, options);
  const v = (n: (typeof names)[number]): DlmsData => nth(values, names.indexOf(n));
  const { mode, status } = decodeAccountModeAndStatus(v('account_mode_and_status'));
  const currency = decodeCurrency(v('currency'));
  const amount = (d: DlmsData, what: string): AccountAmount => amountOf(decodeAmount(d, what), currency);
  const flags = decodeCurrentCreditStatus(v('current_credit_status'));
  const creditNames = decodeReferenceList(v('credit_reference_list'), 'credit_reference_list');
  const chargeNames = decodeReferenceList(v('charge_reference_list'), 'charge_reference_list');

  const c = CREDIT.attributes;
  const creditAttrs = [c.current_credit_amount, c.credit_type, c.priority, c.credit_status];
  const g = CHARGE.attributes;
  const chargeAttrs = [g.total_amount_paid, g.charge_type, g.priority];
  const refs: AttributeRef[] = [
    ...creditNames.flatMap((n) => creditAttrs.map((attribute) => ({ classId: CREDIT.classId, obis: n, attribute }))),
    ...chargeNames.flatMap((n) => chargeAttrs.map((attribute) => ({ classId: CHARGE.classId, obis: n, attribute }))),
  ];
  const results = refs.length === 0 ? [] : await client.getList(refs, options.signal);
  const data = refs.map((ref, i) => presentValue(ref, results[i], ref.classId === CREDIT.classId ? 'IC 112 Credit' : 'IC 113 Charge', options.terminalId));
  const at = (i: number): DlmsData => nth(data, i);
  const credits = creditNames.map((credit, k) => {
    const i = k * creditAttrs.length;
    return {
      credit,
      amount: amount(at(i), 'current_credit_amount'),
      type: decodeCreditType(at(i + 1)),
      priority: decodeUnsigned(at(i + 2), 'priority'),
      status: decodeCreditStatus(at(i + 3)),
    };
  });
  const base = creditNames.length * creditAttrs.length;
  const charges = chargeNames.map((charge, k) => {
    const i = base + k * chargeAttrs.length;
    return {
      charge,
      totalAmountPaid: amount(at(i), 'total_amount_paid'),
      type: decodeChargeType(at(i + 1)),
      priority: decodeUnsigned(at(i + 2), 'priority'),
    };
  });
  return {
    account: obis, mode, status, unit: currency.unit,
    availableCredit: amount(v('available_credit'), 'available_credit'),
    amountToClear: amount(v('amount_to_clear'), 'amount_to_clear'),
    aggregatedDebt: amount(v('aggregated_debt'), 'aggregated_debt'),
    lowCreditThreshold: amount(v('low_credit_threshold'), 'low_credit_threshold'),
    creditStatus: CREDIT_STATUS_BITS.filter((b) => flags[b]),
    credits, charges,
  };
}

/**
 * The top-up in the account's raw units: units × 10^(exponent − currency_scale), which must be
 * a whole number within a double-long (the type of update_amount's parameter, §4.6.3).
 */
export function rawCreditOf(topUp: CreditTopUp, account: MeterAccountState): number {
  if (account.unit !== 'monetary') throw new PaymentMeteringUnsupported(`the account counts ${account.unit}, not money`, undefined);
  const meterCurrency = account.availableCredit.currency;
  if (meterCurrency.trim().toUpperCase() !== topUp.currency.toUpperCase()) throw new DlmsCurrencyMismatch(meterCurrency, topUp.currency);
  const k = topUp.exponent - account.availableCredit.scale;
  const raw = k >= 0 ? topUp.units * 10 ** k : topUp.units / 10 ** -k;
  if (!Number.isSafeInteger(raw)) {
    throw new DlmsEncodeError('cosem', `${topUp.units}e${topUp.exponent} ${topUp.currency} is finer than the account's resolution (10^${account.availableCredit.scale})`);
  }
  if (raw < -0x80000000 || raw > 0x7fffffff) throw new DlmsEncodeError('cosem', `${raw} is out of range for update_amount (double-long)`);
  return raw;
}

/** §4.6.3 method 1 update_amount (data ::= double-long): adds `raw` to the credit's current_credit_amount. */
export async function updateCreditAmount(client: CosemClient, credit: string, raw: number, options: CallOptions = {}): Promise<void> {
  const ref = { classId: CREDIT.classId, obis: credit, method: CREDIT.methods.update_amount };
  const reply = await client.action(ref, { type: 'double-long', value: raw }, options.signal);
  if (!reply.ok) throw new DataAccessError(reply.error, `action ${describeMethod(ref)}`);
}

/**
 * §4.6.5 method 1 enter (data ::= octet-string), then attribute 6 token_status: a token the
 * gateway did not execute is DlmsTokenRejected with its status.
 */
export async function enterToken(client: CosemClient, token: Uint8Array, options: CallOptions & { readonly gateway?: string; readonly terminalId?: string } = {}): Promise<void> {
  const obis = options.gateway ?? PAYMENT_OBIS.tokenGateway;
  const ref = { classId: GATEWAY.classId, obis, method: GATEWAY.methods.enter };
  const reply = await client.action(ref, { type: 'octet-string', value: token }, options.signal);
  if (!reply.ok) {
    if (reply.error === 'object-undefined' || reply.error === 'object-class-inconsistent') {
      throw new PaymentMeteringUnsupported(`IC 115 Token gateway ${obis} is not in the meter (${reply.error})`, options.terminalId);
    }
    throw new DataAccessError(reply.error, `action ${describeMethod(ref)}`);
  }
  const status = await readObject(client, GATEWAY.classId, obis, [GATEWAY.attributes.token_status], `IC 115 Token gateway ${obis}`, options);
  const { code } = decodeTokenStatus(nth(status, 0));
  if (code !== 'execution-ok') throw new DlmsTokenRejected(code, options.terminalId);
}

/** The attributes of one object in one GET-with-list; an object the meter does not have is PaymentMeteringUnsupported. */
async function readObject(client: CosemClient, classId: number, obis: string, attributes: readonly number[], what: string, options: PaymentOptions): Promise<DlmsData[]> {
  const refs = attributes.map((attribute) => ({ classId, obis, attribute }));
  const results = await client.getList(refs, options.signal);
  return refs.map((ref, i) => presentValue(ref, results[i], what, options.terminalId));
}

/** The value of a result; an object the meter does not have (or has as another class) is PaymentMeteringUnsupported. */
function presentValue(ref: AttributeRef, result: GetResult | undefined, what: string, terminalId: string | undefined): DlmsData {
  const r = result ?? { ok: false as const, error: 'other-reason' as const };
  if (!r.ok && ABSENT.has(r.error)) {
    const name = typeof ref.obis === 'string' ? ref.obis : formatObis(ref.obis);
    throw new PaymentMeteringUnsupported(`${what.includes(name) ? what : `${what} ${name}`} is not in the meter (${r.error})`, terminalId);
  }
  return valueOf(r, ref);
}

/** The client answers one result per ref; a missing one is a reply we cannot use. */
function nth(values: readonly DlmsData[], i: number): DlmsData {
  const d = values[i];
  if (d === undefined) throw new DataAccessError('other-reason', `result ${i} missing from a GET-with-list reply`);
  return d;
}

function amountOf(raw: number, currency: AccountCurrency): AccountAmount {
  return { raw, scale: currency.scale, value: applyScaler(raw, currency.scale), currency: currency.name };
}
