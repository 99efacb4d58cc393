/**
 * Payment metering objects (Blue Book Part 2 §4.6) over the simulated account
 * (paymentAccount.ts): Account IC 111 0.0.19.0.0.255, Credits IC 112 0.0.19.10.0.255 (token)
 * and 0.0.19.10.1.255 (emergency), Charge IC 113 0.0.19.20.0.255 (consumption-based, on
 * 1.0.1.8.0.255) and, unless left out, Token gateway IC 115 0.0.19.40.0.255.
 *
 * Every read first collects the charge for the energy accrued, so a value is that of the
 * request's instant. Attributes are read-only here; the methods change the account.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import type { ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import { array, dateTimeOctets, enumOf, int32, int8, octets, structure, u16, u32, u8 } from '../cosemData.js';
import { ok, type AttributeDef, type CosemObjectDef } from '../cosemObject.js';
import type { MeterSimulation } from '../meterSimulation.js';
import { PaymentAccount, type PaymentMeteringOptions, type SimCredit } from '../paymentAccount.js';
import { LN } from '../meterObis.js';

const ACCOUNT_LN = '0.0.19.0.0.255';
const CHARGE_LN = '0.0.19.20.0.255';
const GATEWAY_LN = '0.0.19.40.0.255';

export function paymentObjects(sim: MeterSimulation, options: PaymentMeteringOptions): { readonly account: PaymentAccount; readonly objects: CosemObjectDef[] } {
  const account = new PaymentAccount(options, sim.reading().energies.activeImport, sim.time);
  /** Collects up to the present, then reads. */
  const at = (read: () => DlmsData): AttributeDef => ({
    read: () => {
      account.settle(sim.reading().energies.activeImport, sim.time);
      return ok(read());
    },
  });
  const deviation = sim.clock.deviationMinutes;
  const never = octets(new Uint8Array(12).fill(0xff));
  const objects: CosemObjectDef[] = [
    accountObject(account, at, () => dateTimeOctets(sim.clock.reading(sim.startTs), deviation), never),
    ...account.credits.map((c) => creditObject(account, c, at, () => { account.settle(sim.reading().energies.activeImport, sim.time); })),
    {
      classId: INTERFACE_CLASSES.charge.classId, logicalName: parseObis(CHARGE_LN),
      attributes: {
        2: at(() => int32(account.totalAmountPaid)),
        3: at(() => enumOf(0)),
        4: at(() => u8(1)),
        5: at(() => unitCharge(account)),
        6: at(() => unitCharge(account)),
        7: at(() => never),
        8: at(() => u32(0)),
        9: at(() => bits([false, true])),
        10: at(() => dateTimeOctets(sim.clock.reading(account.lastCollectionAt), deviation)),
        11: at(() => int32(account.lastCollectionAmount)),
        12: at(() => int32(0)),
        13: at(() => u16(10_000)),
      },
    },
  ];
  if (options.tokenGateway !== false) {
    objects.push({
      classId: INTERFACE_CLASSES.tokenGateway.classId, logicalName: parseObis(GATEWAY_LN),
      attributes: {
        2: at(() => octets(account.token)),
        3: at(() => (account.tokenAt === undefined ? never : dateTimeOctets(sim.clock.reading(account.tokenAt), deviation))),
        4: at(() => array([])),
        5: at(() => enumOf(0)),
        6: at(() => structure(enumOf(account.tokenStatus), bits([]))),
      },
      methods: {
        1: {
          invoke: (p): ModelActionOutcome => {
            if (p?.type !== 'octet-string') return { result: 'type-unmatched' };
            account.settle(sim.reading().energies.activeImport, sim.time);
            account.enter(p.value, sim.time);
            return { result: 'success' };
          },
        },
      },
    });
  }
  return { account, objects };
}

function accountObject(account: PaymentAccount, at: (read: () => DlmsData) => AttributeDef, activation: () => DlmsData, never: DlmsData): CosemObjectDef {
  const lifecycle = (status: 1 | 2 | 3) => ({
    invoke: (p: DlmsData | undefined): ModelActionOutcome => {
      if (p !== undefined && p.type !== 'integer') return { result: 'type-unmatched' };
      account.status = status;
      return { result: 'success' };
    },
  });
  return {
    classId: INTERFACE_CLASSES.account.classId, logicalName: parseObis(ACCOUNT_LN),
    attributes: {
      2: at(() => structure(enumOf(account.mode), enumOf(account.status))),
      3: at(() => u8(account.creditInUse)),
      4: at(() => {
        const available = account.availableCredit;
        const inUse = account.credits.some((c) => c.status === 3 && c.amount > 0);
        return bits([available > 0, available <= account.lowCreditThreshold, false, account.credits[1].status === 1, false, account.credits[1].status === 3, !inUse]);
      }),
      5: at(() => (account.options.malformed === 'available-credit' ? u16(Math.max(0, account.availableCredit)) : int32(account.availableCredit))),
      6: at(() => int32(account.aggregatedDebt)),
      7: at(() => int32(0)),
      8: at(() => int32(account.aggregatedDebt)),
      9: at(() => array(account.credits.map((c) => octets(parseObis(c.ln))))),
      10: at(() => array([octets(parseObis(CHARGE_LN))])),
      // Collection configuration bit 0: collect when supply disconnected (not set).
      11: at(() => array(account.credits.map((c) => structure(octets(parseObis(c.ln)), octets(parseObis(CHARGE_LN)), bits([false, false, false]))))),
      12: at(() => array([structure(octets(parseObis(account.credits[0].ln)), u8(100))])),
      13: at(activation),
      14: at(() => never),
      15: at(() => structure({ type: 'utf8-string', value: account.currency }, int8(account.scale), enumOf(2))),
      16: at(() => int32(account.lowCreditThreshold)),
      17: at(() => int32(0)),
      18: at(() => u16(0)),
      19: at(() => int32(0)),
    },
    methods: { 1: lifecycle(2), 2: lifecycle(3), 3: lifecycle(1) },
  };
}

function creditObject(account: PaymentAccount, c: SimCredit, at: (read: () => DlmsData) => AttributeDef, settle: () => void): CosemObjectDef {
  const amountMethod = (apply: (raw: number) => void) => ({
    invoke: (p: DlmsData | undefined): ModelActionOutcome => {
      if (p?.type !== 'double-long') return { result: 'type-unmatched' };
      settle();
      apply(p.value);
      return { result: 'success' };
    },
  });
  return {
    classId: INTERFACE_CLASSES.credit.classId, logicalName: parseObis(c.ln),
    attributes: {
      2: at(() => int32(c.amount)),
      3: at(() => enumOf(c.type)),
      4: at(() => u8(c.priority)),
      5: at(() => int32(c.warningThreshold)),
      6: at(() => int32(c.limit)),
      // A token credit receives tokens (bit 4); an emergency credit needs confirmation (bit 1) and is paid back (bit 2).
      7: at(() => bits(c.type === 0 ? [false, false, false, false, true] : [true, true, true, false, false])),
      8: at(() => enumOf(c.status)),
      9: at(() => int32(c.preset)),
      10: at(() => int32(0)),
      11: at(() => octets(new Uint8Array(12).fill(0xff))),
    },
    methods: {
      1: amountMethod((raw) => { account.updateAmount(c, raw); }),
      2: amountMethod((raw) => { account.setAmount(c, raw); }),
      3: {
        invoke: (): ModelActionOutcome => {
          settle();
          return { result: account.invoke(c) ? 'success' : 'other-reason' };
        },
      },
    },
  };
}

/** §4.6.4 unit_charge: per kWh of 1.0.1.8.0.255 (Wh, so commodity_scale 3), price in raw units (price_scale 0), one tariff. */
function unitCharge(account: PaymentAccount): DlmsData {
  return structure(
    structure(int8(3), int8(0)),
    structure(u16(INTERFACE_CLASSES.register.classId), octets(LN.activeEnergyImport), int8(2)),
    array([structure(octets(Uint8Array.of(1)), { type: 'long', value: account.pricePerKwh })]),
  );
}

/** A bit-string of the given bits, bit 0 first (the most significant bit of the first octet). */
function bits(values: readonly boolean[]): DlmsData {
  const bytes = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => { if (v) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (0x80 >> (i & 7)); });
  return { type: 'bit-string', value: { bits: values.length, bytes } };
}
