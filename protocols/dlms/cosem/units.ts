/**
 * Physical units of COSEM scaler_unit (DLMS UA Blue Book, IC 3 Register, "unit" enum) and
 * their conversion into the head-end catalogue's units. A Register's value is
 * value × 10^scaler in `unit`.
 */
export const UNIT_SYMBOLS: Readonly<Record<number, string>> = {
  1: 'a', 2: 'mo', 3: 'wk', 4: 'd', 5: 'h', 6: 'min', 7: 's', 8: '°', 9: '°C', 10: 'currency',
  11: 'm', 12: 'm/s', 13: 'm³', 14: 'm³', 15: 'm³/h', 16: 'm³/h', 17: 'm³/d', 18: 'm³/d', 19: 'l', 20: 'kg',
  21: 'N', 22: 'Nm', 23: 'Pa', 24: 'bar', 25: 'J', 26: 'J/h', 27: 'W', 28: 'VA', 29: 'var', 30: 'Wh',
  31: 'VAh', 32: 'varh', 33: 'A', 34: 'C', 35: 'V', 36: 'V/m', 37: 'F', 38: 'Ω', 39: 'Ωm²/m', 40: 'Wb',
  41: 'T', 42: 'A/m', 43: 'H', 44: 'Hz', 45: '1/(Wh)', 46: '1/(varh)', 47: '1/(VAh)', 48: 'V²h', 49: 'A²h', 50: 'kg/s',
  51: 'S', 52: 'K', 53: '1/(V²h)', 54: '1/(A²h)', 55: '1/m³', 56: '%', 57: 'Ah',
  254: 'other', 255: '',
};

export interface ScalerUnit {
  /** Power of ten applied to the raw value (integer, −128..127). */
  readonly scaler: number;
  /** Unit code of the Blue Book's unit enumeration; 255 = count (no unit). */
  readonly unit: number;
}

export function unitSymbol(code: number): string {
  return UNIT_SYMBOLS[code] ?? `unit(${code})`;
}

/** value × 10^scaler, computed so that common scalers give exact decimals (−2 → /100, not ×0.01). */
export function applyScaler(raw: number | bigint, scaler: number): number {
  const v = typeof raw === 'bigint' ? Number(raw) : raw;
  return scaler >= 0 ? v * 10 ** scaler : v / 10 ** -scaler;
}

/**
 * The power of ten from a COSEM unit to a catalogue unit (W → kW is −3, V → V is 0);
 * undefined when they do not match. An exponent rather than a factor, so that it joins the
 * register's scaler and the value is computed with one exact division (1392100 Wh → 1392.1 kWh).
 */
export function catalogueExponent(unitCode: number, catalogueUnit: string): number | undefined {
  const symbol = unitSymbol(unitCode);
  if (symbol === catalogueUnit) return 0;
  const kilo: Readonly<Record<string, string>> = { W: 'kW', Wh: 'kWh', var: 'kvar', varh: 'kvarh', VA: 'kVA', VAh: 'kVAh' };
  if (kilo[symbol] === catalogueUnit) return -3;
  // Power factor is dimensionless: the meter may label it "count" or "other".
  if (catalogueUnit === '' && (unitCode === 255 || unitCode === 254)) return 0;
  return undefined;
}
