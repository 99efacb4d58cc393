/**
 * 两部制: a basic charge (contracted capacity or maximum demand, per month) plus energy, and
 * the power-factor adjustment on both. Charged once per billing cycle: the usage must be one
 * whole local month, from a local midnight on day 1…28 to the same day of the next month.
 */
import type { TimeZone } from './timeZone.js';
import { safeAmount, type ChargeLine, type PowerFactorExplanation, type Usage } from './charge.js';
import type { EnergyPricing } from './energy.js';
import { CycleOnlyError, TariffUsageError } from './errors.js';
import { amountOf, divideRounded, formatScaled, minorToDecimal, priceMicros } from './money.js';
import { adjustmentBasisPoints, powerFactorHundredths } from './powerFactor.js';
import type { TwoPartTariff } from './schema.js';

export function twoPartLines(def: TwoPartTariff, zone: TimeZone, energy: EnergyPricing, u: Usage, currency: string, digits: number): { lines: ChargeLine[]; powerFactor?: PowerFactorExplanation } {
  checkWholeMonth(def, zone, u);
  const lines: ChargeLine[] = [basicLine(def, u, digits), ...energy.lines(u, digits)];
  if (def.powerFactorStandard === undefined) return { lines };
  if (u.reactiveVarh === undefined) throw new TariffUsageError('reactiveVarh', 'missing-reactive', `required: tariff ${def.id} adjusts for the power factor`);
  const activeWh = u.intervals.reduce((a, iv) => a + BigInt(iv.importWh), 0n);
  const pf = powerFactorHundredths(activeWh, BigInt(u.reactiveVarh));
  // No energy at all, active or reactive: no power factor to judge, nothing to adjust.
  if (pf === undefined) return { lines };
  const bp = adjustmentBasisPoints(def.powerFactorStandard, pf);
  const base = lines.reduce((a, l) => a + BigInt(l.amountMinor), 0n);
  const value = formatScaled(BigInt(pf), 2);
  const standard = def.powerFactorStandard.toFixed(2);
  const rate = formatScaled(BigInt(bp), 4);
  lines.push({
    kind: 'power-factor', label: `power-factor adjustment, cos φ ${value} against ${standard}`, from: u.from, to: u.to,
    quantity: minorToDecimal(base, currency), unit: currency, price: rate,
    amountMinor: safeAmount(divideRounded(base * BigInt(bp), 10_000n)),
  });
  return { lines, powerFactor: { activeWh: Number(activeWh), reactiveVarh: u.reactiveVarh, value, standard, rate } };
}

function basicLine(def: TwoPartTariff, u: Usage, digits: number): ChargeLine {
  const b = def.basic;
  let milli: bigint;
  if (b.by === 'capacity') milli = BigInt(Math.round(b.contractedKva * 1000));
  else {
    if (u.maxDemandW === undefined) throw new TariffUsageError('maxDemandW', 'missing-demand', `required: tariff ${def.id} charges the basic charge by maximum demand`);
    milli = BigInt(u.maxDemandW);
  }
  return {
    kind: 'basic', label: b.by === 'capacity' ? 'basic charge, contracted capacity' : 'basic charge, maximum demand',
    from: u.from, to: u.to, quantity: formatScaled(milli, 3), unit: b.by === 'capacity' ? 'kVA-month' : 'kW-month', price: b.price,
    amountMinor: safeAmount(amountOf(milli, priceMicros(b.price), digits)),
  };
}

function checkWholeMonth(def: TwoPartTariff, zone: TimeZone, u: Usage): void {
  const l = zone.local(u.from);
  if (l.minuteOfDay !== 0 || l.day > 28) {
    throw new CycleOnlyError(def.id, 'from', `tariff ${def.id} is charged once per billing cycle: from must be a local midnight (${def.timeZone}) on day 1…28`);
  }
  const next = l.month === 12 ? zone.instantOf(l.year + 1, 1, l.day) : zone.instantOf(l.year, l.month + 1, l.day);
  if (u.to !== next) {
    throw new CycleOnlyError(def.id, 'to', `tariff ${def.id} is charged once per billing cycle: to must be ${new Date(next).toISOString()}, one month after from`);
  }
}
