/**
 * The quantity catalogue: every reading carries one of these canonical names, each tied to
 * an OBIS code (IEC 62056-61) and a unit, so rules, storage and the API never care which
 * protocol a value came from. Modbus register maps and MQTT payloads translate into it.
 */
export const QUANTITIES = {
  'energy.active.import': { obis: '1.0.1.8.0.255', unit: 'kWh', kind: 'register' },
  'energy.active.import.t1': { obis: '1.0.1.8.1.255', unit: 'kWh', kind: 'register' },
  'energy.active.import.t2': { obis: '1.0.1.8.2.255', unit: 'kWh', kind: 'register' },
  'energy.active.import.t3': { obis: '1.0.1.8.3.255', unit: 'kWh', kind: 'register' },
  'energy.active.import.t4': { obis: '1.0.1.8.4.255', unit: 'kWh', kind: 'register' },
  'energy.active.export': { obis: '1.0.2.8.0.255', unit: 'kWh', kind: 'register' },
  'energy.reactive.import': { obis: '1.0.3.8.0.255', unit: 'kvarh', kind: 'register' },
  'energy.reactive.export': { obis: '1.0.4.8.0.255', unit: 'kvarh', kind: 'register' },
  'power.active': { obis: '1.0.1.7.0.255', unit: 'kW', kind: 'instant' },
  'power.active.l1': { obis: '1.0.21.7.0.255', unit: 'kW', kind: 'instant' },
  'power.active.l2': { obis: '1.0.41.7.0.255', unit: 'kW', kind: 'instant' },
  'power.active.l3': { obis: '1.0.61.7.0.255', unit: 'kW', kind: 'instant' },
  'power.reactive': { obis: '1.0.3.7.0.255', unit: 'kvar', kind: 'instant' },
  'voltage.l1': { obis: '1.0.32.7.0.255', unit: 'V', kind: 'instant' },
  'voltage.l2': { obis: '1.0.52.7.0.255', unit: 'V', kind: 'instant' },
  'voltage.l3': { obis: '1.0.72.7.0.255', unit: 'V', kind: 'instant' },
  'current.l1': { obis: '1.0.31.7.0.255', unit: 'A', kind: 'instant' },
  'current.l2': { obis: '1.0.51.7.0.255', unit: 'A', kind: 'instant' },
  'current.l3': { obis: '1.0.71.7.0.255', unit: 'A', kind: 'instant' },
  'power.factor': { obis: '1.0.13.7.0.255', unit: '', kind: 'instant' },
  'frequency': { obis: '1.0.14.7.0.255', unit: 'Hz', kind: 'instant' },
  'demand.active.max': { obis: '1.0.1.6.0.255', unit: 'kW', kind: 'register' },
  /** Meter clock minus station clock when the clock was read, seconds (positive: the meter is ahead). */
  'clock.drift': { obis: '0.0.1.0.0.255', unit: 's', kind: 'instant' },
} as const satisfies Record<string, QuantityInfo>;

export interface QuantityInfo {
  readonly obis: string;
  readonly unit: string;
  /** `register`: cumulative or billing value; `instant`: a sample of a varying value. */
  readonly kind: 'register' | 'instant';
}

export type Quantity = keyof typeof QUANTITIES;

export const QUANTITY_NAMES = Object.keys(QUANTITIES) as readonly Quantity[];

export function isQuantity(name: string): name is Quantity {
  return Object.hasOwn(QUANTITIES, name);
}

/** How a transformer's CT and PT ratios scale a quantity measured on its secondary side. */
export function transformerFactor(q: Quantity, ctRatio: number, ptRatio: number): number {
  if (q === 'power.factor' || q === 'frequency' || q === 'clock.drift') return 1;
  if (q.startsWith('voltage.')) return ptRatio;
  if (q.startsWith('current.')) return ctRatio;
  return ctRatio * ptRatio;
}
