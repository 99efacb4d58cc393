/**
 * Payment metering attribute decoders against A-XDR built by hand from the Blue Book's types
 * (Part 2 §4.6.2–4.6.5), not from our simulator: each byte string is what a meter following the
 * book sends. What the book does not allow is refused with a DlmsDecodeError.
 */
import { describe, expect, it } from 'vitest';
import { decodeData } from '../../../../protocols/dlms/axdr/codec.js';
import {
  decodeAccountModeAndStatus, decodeAmount, decodeChargeType, decodeCreditConfiguration, decodeCreditStatus, decodeCreditType, decodeCurrency,
  decodeCurrentCreditStatus, decodeReferenceList, decodeTokenDeliveryMethod, decodeTokenDescription, decodeTokenStatus, decodeTokenTime,
  decodeUnitCharge, decodeUnsigned, decodeToken,
} from '../../../../protocols/dlms/cosem/payment.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';

const hex = (s: string) => decodeData(Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex')));

describe('Account (IC 111) attributes', () => {
  it('decodes account_mode_and_status: structure { payment_mode enum, account_status enum }', () => {
    expect(decodeAccountModeAndStatus(hex('02 02 16 02 16 02'))).toEqual({ mode: 'prepayment', status: 'active' });
    expect(decodeAccountModeAndStatus(hex('02 02 16 01 16 03'))).toEqual({ mode: 'credit', status: 'closed' });
  });

  it('decodes current_credit_status bit 0 first, and reads bits a shorter bit-string leaves out as clear', () => {
    expect(decodeCurrentCreditStatus(hex('04 08 C4'))).toEqual({
      inCredit: true, lowCredit: true, nextCreditEnabled: false, nextCreditSelectable: false, nextCreditSelected: false, selectableCreditInUse: true, outOfCredit: false,
    });
    expect(decodeCurrentCreditStatus(hex('04 02 40')).lowCredit).toBe(true);
    expect(decodeCurrentCreditStatus(hex('04 02 40')).outOfCredit).toBe(false);
  });

  it('decodes the double-long amounts, negative ones included', () => {
    expect(decodeAmount(hex('05 00 00 30 39'), 'available_credit')).toBe(12345);
    expect(decodeAmount(hex('05 FF FF FF 9C'), 'aggregated_debt')).toBe(-100);
    expect(decodeUnsigned(hex('11 02'), 'current_credit_in_use')).toBe(2);
  });

  it('decodes currency: structure { utf8-string name, integer scale, enum unit }', () => {
    expect(decodeCurrency(hex('02 03 0C 03 43 4E 59 0F FE 16 02'))).toEqual({ name: 'CNY', scale: -2, unit: 'monetary' });
  });

  it('decodes the credit and charge reference lists as arrays of logical names', () => {
    expect(decodeReferenceList(hex('01 02 09 06 00 00 13 0A 00 FF 09 06 00 00 13 0A 01 FF'), 'credit_reference_list'))
      .toEqual(['0.0.19.10.0.255', '0.0.19.10.1.255']);
    expect(decodeReferenceList(hex('01 00'), 'charge_reference_list')).toEqual([]);
  });

  it.each([
    ['an amount in another integer type', () => decodeAmount(hex('12 00 05'), 'available_credit'), /available_credit: expected double-long, got long-unsigned/],
    ['a payment mode the book does not define', () => decodeAccountModeAndStatus(hex('02 02 16 03 16 02')), /payment_mode: 3 is not a value/],
    ['a structure of the wrong size', () => decodeAccountModeAndStatus(hex('02 01 16 02')), /structure of 2 members, got 1/],
    ['a currency name that is not utf8-string', () => decodeCurrency(hex('02 03 0A 03 43 4E 59 0F FE 16 02')), /currency_name: expected utf8-string, got visible-string/],
    ['a currency unit beyond monetary', () => decodeCurrency(hex('02 03 0C 03 43 4E 59 0F FE 16 05')), /currency_unit: 5 is not a value/],
    ['a reference that is not six octets', () => decodeReferenceList(hex('01 01 09 05 00 00 13 0A 00'), 'credit_reference_list'), /6 octets, got 5/],
    ['a status that is not a bit-string', () => decodeCurrentCreditStatus(hex('11 01')), /expected bit-string, got unsigned/],
  ])('refuses %s with DlmsDecodeError', (_what, decode, message) => {
    expect(decode).toThrow(DlmsDecodeError);
    expect(decode).toThrow(message);
  });
});

describe('Credit (IC 112) attributes', () => {
  it('decodes credit_type, credit_status and credit_configuration', () => {
    expect(decodeCreditType(hex('16 00'))).toBe('token');
    expect(decodeCreditType(hex('16 02'))).toBe('emergency');
    expect(decodeCreditStatus(hex('16 03'))).toBe('in-use');
    expect(decodeCreditStatus(hex('16 04'))).toBe('exhausted');
    expect(decodeCreditConfiguration(hex('04 05 08'))).toEqual({
      requiresVisualIndication: false, requiresConfirmation: false, requiresPayBack: false, resettable: false, receivesTokens: true,
    });
  });

  it('refuses a credit status beyond exhausted and a credit type beyond consumption-based', () => {
    expect(() => decodeCreditStatus(hex('16 05'))).toThrow(DlmsDecodeError);
    expect(() => decodeCreditType(hex('16 05'))).toThrow(DlmsDecodeError);
  });
});

describe('Charge (IC 113) attributes', () => {
  it('decodes charge_type and unit_charge_active', () => {
    expect(decodeChargeType(hex('16 00'))).toBe('consumption-based');
    const unit = decodeUnitCharge(hex(`
      02 03
        02 02 0F 03 0F 00
        02 03 12 00 03 09 06 01 00 01 08 00 FF 0F 02
        01 02 02 02 09 01 01 10 00 3C 02 02 09 01 02 10 00 5A`));
    expect(unit.commodityScale).toBe(3);
    expect(unit.priceScale).toBe(0);
    expect(unit.commodity).toEqual({ classId: 3, obis: '1.0.1.8.0.255', attribute: 2 });
    expect(unit.chargeTable.map((e) => [Array.from(e.index), e.chargePerUnit])).toEqual([[[1], 60], [[2], 90]]);
  });

  it('refuses a charge_per_unit that is not a long', () => {
    expect(() => decodeUnitCharge(hex('02 03 02 02 0F 03 0F 00 02 03 12 00 03 09 06 01 00 01 08 00 FF 0F 02 01 01 02 02 09 01 01 05 00 00 00 3C')))
      .toThrow(/charge_per_unit: expected long, got double-long/);
  });
});

describe('Token gateway (IC 115) attributes', () => {
  it('decodes token, token_time (octet-string of 12), token_description, delivery method and status', () => {
    expect(Array.from(decodeToken(hex('09 03 01 02 03')))).toEqual([1, 2, 3]);
    const t = decodeTokenTime(hex('09 0C 07 E8 03 0F 05 0C 1E 00 00 FF 88 00'));
    expect(t.date).toEqual({ year: 2024, month: 3, dayOfMonth: 15, dayOfWeek: 5 });
    expect(t.time).toEqual({ hour: 12, minute: 30, second: 0, hundredths: 0 });
    expect(t.deviation).toBe(-120);
    expect(decodeTokenDescription(hex('01 01 09 02 AB CD')).map((b) => Buffer.from(b).toString('hex'))).toEqual(['abcd']);
    expect(decodeTokenDeliveryMethod(hex('16 00'))).toBe('remote');
    expect(decodeTokenStatus(hex('02 02 16 03 04 04 A0'))).toEqual({ code: 'execution-ok', dataBits: '1010' });
    expect(decodeTokenStatus(hex('02 02 16 06 04 00'))).toEqual({ code: 'validation-failure', dataBits: '' });
  });

  it('refuses a status code beyond "received" and a token_time of the wrong length', () => {
    expect(() => decodeTokenStatus(hex('02 02 16 09 04 00'))).toThrow(DlmsDecodeError);
    expect(() => decodeTokenTime(hex('09 04 07 E8 03 0F'))).toThrow(DlmsDecodeError);
  });
});
