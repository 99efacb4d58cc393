/**
 * Pure decoders of the payment metering attributes a head-end reads (DLMS UA Blue Book Part 2
 * §4.6: IC 111 Account §4.6.2, IC 112 Credit §4.6.3, IC 113 Charge §4.6.4, IC 115 Token gateway
 * §4.6.5), from Data to plain values.
 *
 * Each attribute has one type in the book and is taken only in that type: an amount is a
 * double-long, not "any integer", and an enum value the book does not define is refused. The
 * few places where the book itself leaves room are taken as it leaves it: a bit-string may be
 * shorter than its named bits (the missing ones are clear, A-XDR bit-strings carry their own
 * length), a date-time may come as the date-time type or as an octet-string of 12 (§4.1.6.1).
 * Everything else is a DlmsDecodeError naming the attribute.
 */
import type { CosemDateTime, DlmsData } from '../axdr/data.js';
import { asArray, asBytes, asDateTime, asStructure } from '../axdr/describe.js';
import { DlmsDecodeError } from '../errors.js';
import { formatObis } from './obis.js';

/** Default instances (Blue Book Part 1 / IEC 62056-6-1 OBIS group C = 19, payment metering). */
export const PAYMENT_OBIS = {
  /** Account 0-0:19.0.e.255; e = 0 is the first (and usually only) account. Credits (0-0:19.10.e.255) and charges (0-0:19.20.e.255) are found through its reference lists. */
  account: '0.0.19.0.0.255',
  /** Token gateway 0-0:19.40.e.255. */
  tokenGateway: '0.0.19.40.0.255',
} as const;

/** §4.6.2 attribute 2, payment_mode: 1 credit mode, 2 prepayment mode. */
export const PAYMENT_MODES = { 1: 'credit', 2: 'prepayment' } as const;
export type PaymentMode = (typeof PAYMENT_MODES)[keyof typeof PAYMENT_MODES];

/** §4.6.2 attribute 2, account_status: 1 new (inactive), 2 active, 3 closed. */
export const ACCOUNT_STATUSES = { 1: 'new', 2: 'active', 3: 'closed' } as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[keyof typeof ACCOUNT_STATUSES];

/** §4.6.2 attribute 4 current_credit_status, bit 0 first; bit 7 is reserved. */
export const CREDIT_STATUS_BITS = [
  'inCredit', 'lowCredit', 'nextCreditEnabled', 'nextCreditSelectable', 'nextCreditSelected', 'selectableCreditInUse', 'outOfCredit',
] as const;
export type CurrentCreditStatus = Readonly<Record<(typeof CREDIT_STATUS_BITS)[number], boolean>>;

/** §4.6.2 attribute 15 currency_unit: what the account counts in. */
export const CURRENCY_UNITS = { 0: 'time', 1: 'consumption', 2: 'monetary' } as const;
export type CurrencyUnit = (typeof CURRENCY_UNITS)[keyof typeof CURRENCY_UNITS];

export interface AccountCurrency {
  /** currency_name: for a monetary account usually the ISO 4217 code ("EUR", "CNY"). */
  readonly name: string;
  /** currency_scale: an amount of the account is value × 10^scale in `name`. */
  readonly scale: number;
  readonly unit: CurrencyUnit;
}

/** §4.6.3 attribute 3 credit_type. */
export const CREDIT_TYPES = { 0: 'token', 1: 'reserved', 2: 'emergency', 3: 'time-based', 4: 'consumption-based' } as const;
export type CreditType = (typeof CREDIT_TYPES)[keyof typeof CREDIT_TYPES];

/** §4.6.3 attribute 8 credit_status. */
export const CREDIT_STATUSES = { 0: 'enabled', 1: 'selectable', 2: 'selected', 3: 'in-use', 4: 'exhausted' } as const;
export type CreditStatus = (typeof CREDIT_STATUSES)[keyof typeof CREDIT_STATUSES];

/** §4.6.3 attribute 7 credit_configuration, bit 0 first. */
export const CREDIT_CONFIGURATION_BITS = [
  'requiresVisualIndication', 'requiresConfirmation', 'requiresPayBack', 'resettable', 'receivesTokens',
] as const;
export type CreditConfiguration = Readonly<Record<(typeof CREDIT_CONFIGURATION_BITS)[number], boolean>>;

/** §4.6.4 attribute 3 charge_type. */
export const CHARGE_TYPES = { 0: 'consumption-based', 1: 'time-based', 2: 'payment-event-based' } as const;
export type ChargeType = (typeof CHARGE_TYPES)[keyof typeof CHARGE_TYPES];

/** §4.6.5 attribute 5 token_delivery_method. */
export const TOKEN_DELIVERY_METHODS = { 0: 'remote', 1: 'local', 2: 'manual' } as const;
export type TokenDeliveryMethod = (typeof TOKEN_DELIVERY_METHODS)[keyof typeof TOKEN_DELIVERY_METHODS];

/** §4.6.5 attribute 6 token_status.status_code. */
export const TOKEN_STATUS_CODES = {
  0: 'format-ok', 1: 'authentication-ok', 2: 'validation-ok', 3: 'execution-ok', 4: 'format-failure',
  5: 'authentication-failure', 6: 'validation-failure', 7: 'execution-failure', 8: 'received',
} as const;
export type TokenStatusCode = (typeof TOKEN_STATUS_CODES)[keyof typeof TOKEN_STATUS_CODES];

/** §4.6.2 attribute 2: structure { payment_mode enum, account_status enum }. */
export function decodeAccountModeAndStatus(d: DlmsData): { readonly mode: PaymentMode; readonly status: AccountStatus } {
  const [mode, status] = members(d, 2, 'account_mode_and_status');
  return { mode: named(PAYMENT_MODES, mode, 'payment_mode'), status: named(ACCOUNT_STATUSES, status, 'account_status') };
}

/** §4.6.2 attribute 4: bit-string. */
export function decodeCurrentCreditStatus(d: DlmsData): CurrentCreditStatus {
  return flags(d, CREDIT_STATUS_BITS, 'current_credit_status');
}

/** §4.6.2 attribute 15: structure { currency_name utf8-string, currency_scale integer, currency_unit enum }. */
export function decodeCurrency(d: DlmsData): AccountCurrency {
  const [name, scale, unit] = members(d, 3, 'currency');
  if (name.type !== 'utf8-string') return mismatch('currency_name', 'utf8-string', name);
  return { name: name.value, scale: ofType(scale, 'integer', 'currency_scale'), unit: named(CURRENCY_UNITS, unit, 'currency_unit') };
}

/** §4.6.2 attributes 9 and 10: array of octet-string (a logical name each). */
export function decodeReferenceList(d: DlmsData, what: 'credit_reference_list' | 'charge_reference_list'): string[] {
  return asArray(d, what).map((e) => logicalName(e, `${what} element`));
}

/** The amounts of Account (attributes 5, 6, 7, 8, 16, 17), Credit (2, 5, 6, 9, 10) and Charge (2, 11, 12): double-long. */
export function decodeAmount(d: DlmsData, what: string): number {
  return ofType(d, 'double-long', what);
}

/** §4.6.2 attribute 3, §4.6.3 and §4.6.4 attribute 4 priority: unsigned. */
export function decodeUnsigned(d: DlmsData, what: string): number {
  return ofType(d, 'unsigned', what);
}

export function decodeCreditType(d: DlmsData): CreditType {
  return named(CREDIT_TYPES, d, 'credit_type');
}

export function decodeCreditStatus(d: DlmsData): CreditStatus {
  return named(CREDIT_STATUSES, d, 'credit_status');
}

/** §4.6.3 attribute 7: bit-string. */
export function decodeCreditConfiguration(d: DlmsData): CreditConfiguration {
  return flags(d, CREDIT_CONFIGURATION_BITS, 'credit_configuration');
}

export function decodeChargeType(d: DlmsData): ChargeType {
  return named(CHARGE_TYPES, d, 'charge_type');
}

/** §4.6.4 attribute 5 (and 6): what one unit of the commodity costs, by tariff index. */
export interface UnitCharge {
  /** charge_per_unit_scaling: the commodity in value × 10^commodityScale, the price × 10^priceScale. */
  readonly commodityScale: number;
  readonly priceScale: number;
  /** commodity_reference: the attribute whose increase is charged. */
  readonly commodity: { readonly classId: number; readonly obis: string; readonly attribute: number };
  /** charge_table: price per unit, by index (a tariff's identifier, often one octet). */
  readonly chargeTable: readonly { readonly index: Uint8Array; readonly chargePerUnit: number }[];
}

/**
 * unit_charge ::= structure { charge_per_unit_scaling structure { commodity_scale integer,
 * price_scale integer }, commodity structure { class_id long-unsigned, logical_name
 * octet-string, attribute_index integer }, charge_table array structure { index octet-string,
 * charge_per_unit long } }.
 */
export function decodeUnitCharge(d: DlmsData, what = 'unit_charge_active'): UnitCharge {
  const [scaling, commodity, table] = members(d, 3, what);
  const [commodityScale, priceScale] = members(scaling, 2, 'charge_per_unit_scaling');
  const [classId, ln, attribute] = members(commodity, 3, 'commodity');
  return {
    commodityScale: ofType(commodityScale, 'integer', 'commodity_scale'),
    priceScale: ofType(priceScale, 'integer', 'price_scale'),
    commodity: { classId: ofType(classId, 'long-unsigned', 'class_id'), obis: logicalName(ln, 'logical_name'), attribute: ofType(attribute, 'integer', 'attribute_index') },
    chargeTable: asArray(table, 'charge_table').map((e) => {
      const [index, price] = members(e, 2, 'charge_table_element');
      return { index: asBytes(index, 'index'), chargePerUnit: ofType(price, 'long', 'charge_per_unit') };
    }),
  };
}

/** §4.6.5 attribute 2: octet-string. */
export function decodeToken(d: DlmsData): Uint8Array {
  return asBytes(d, 'token');
}

/** §4.6.5 attribute 3: a date-time (octet-string of 12, or the date-time type). */
export function decodeTokenTime(d: DlmsData): CosemDateTime {
  return asDateTime(d, 'token_time');
}

/** §4.6.5 attribute 4: array of octet-string. */
export function decodeTokenDescription(d: DlmsData): Uint8Array[] {
  return asArray(d, 'token_description').map((e) => asBytes(e, 'token_description element'));
}

export function decodeTokenDeliveryMethod(d: DlmsData): TokenDeliveryMethod {
  return named(TOKEN_DELIVERY_METHODS, d, 'token_delivery_method');
}

/** §4.6.5 attribute 6: structure { status_code enum, data_value bit-string }; the data's meaning is the token carrier's. */
export function decodeTokenStatus(d: DlmsData): { readonly code: TokenStatusCode; readonly dataBits: string } {
  const [code, data] = members(d, 2, 'token_status');
  if (data.type !== 'bit-string') return mismatch('token_status data_value', 'bit-string', data);
  let bits = '';
  for (let i = 0; i < data.value.bits; i++) bits += bitAt(data.value.bytes, i) ? '1' : '0';
  return { code: named(TOKEN_STATUS_CODES, code, 'token_status status_code'), dataBits: bits };
}

/** The members of a structure of exactly `n` members, as a tuple of that length (asStructure checked the count). */
function members(d: DlmsData, n: 2, what: string): [DlmsData, DlmsData];
function members(d: DlmsData, n: 3, what: string): [DlmsData, DlmsData, DlmsData];
function members(d: DlmsData, n: number, what: string): DlmsData[] {
  return [...asStructure(d, n, what)];
}

function ofType(d: DlmsData, type: 'double-long' | 'unsigned' | 'integer' | 'long' | 'long-unsigned', what: string): number {
  if (d.type !== type) return mismatch(what, type, d);
  return d.value;
}

function named<T extends string>(table: Readonly<Record<number, T>>, d: DlmsData, what: string): T {
  if (d.type !== 'enum') return mismatch(what, 'enum', d);
  const name = table[d.value];
  if (name === undefined) throw new DlmsDecodeError('cosem', `${what}: ${d.value} is not a value the Blue Book defines (${Object.keys(table).join(', ')})`);
  return name;
}

function flags<K extends string>(d: DlmsData, names: readonly K[], what: string): Readonly<Record<K, boolean>> {
  if (d.type !== 'bit-string') return mismatch(what, 'bit-string', d);
  const { bits, bytes } = d.value;
  const out = {} as Record<K, boolean>;
  names.forEach((name, i) => { out[name] = i < bits && bitAt(bytes, i); });
  return out;
}

/** Bit i of an A-XDR bit-string: bit 0 is the most significant bit of the first octet. */
function bitAt(bytes: Uint8Array, i: number): boolean {
  return (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1;
}

function logicalName(d: DlmsData, what: string): string {
  const b = asBytes(d, what);
  if (b.length !== 6) throw new DlmsDecodeError('cosem', `${what}: a logical name has 6 octets, got ${b.length}`);
  return formatObis(b);
}

function mismatch(what: string, expected: string, d: DlmsData): never {
  throw new DlmsDecodeError('cosem', `${what}: expected ${expected}, got ${d.type}`);
}
