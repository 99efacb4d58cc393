/**
 * Scaler and unit of value attributes (Blue Book IC 3 Register, IC 4 Extended Register,
 * IC 5 Demand Register: value × 10^scaler in unit), and a bounded cache of them per meter.
 */
import type { DlmsData } from '../axdr/data.js';
import { asNumber } from '../axdr/describe.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import { applyScaler, type ScalerUnit } from '../cosem/units.js';
import { fieldsOf } from './cosemAccess.js';

/** scaler_unit ::= structure { scaler integer, unit enum }. */
export function parseScalerUnit(d: DlmsData): ScalerUnit {
  const [scaler, unit] = fieldsOf(d, 2, 'scaler_unit');
  return { scaler: asNumber(scaler, 'scaler'), unit: asNumber(unit, 'unit') };
}

/** A numeric value × 10^scaler; 64-bit values are scaled from their bigint. */
export function scaled(raw: DlmsData, scaler: number): number {
  if (raw.type === 'long64' || raw.type === 'long64-unsigned') return applyScaler(raw.value, scaler);
  return applyScaler(asNumber(raw, 'register value'), scaler);
}

/**
 * The scaler_unit attribute that qualifies `attribute` of a class, or undefined when the
 * attribute carries no scaler: value (2) of IC 3/4 → 3; current/last_average_value (2/3)
 * of IC 5 → 4.
 */
export function scalerAttributeOf(classId: number, attribute: number): number | undefined {
  if ((classId === 3 || classId === 4) && attribute === INTERFACE_CLASSES.register.attributes.value) {
    return INTERFACE_CLASSES.register.attributes.scaler_unit;
  }
  const demand = INTERFACE_CLASSES.demandRegister.attributes;
  if (classId === 5 && (attribute === demand.current_average_value || attribute === demand.last_average_value)) return demand.scaler_unit;
  return undefined;
}

/**
 * scaler_unit per (meter, OBIS): fixed for a meter's firmware, so reading it once saves a
 * request per register. Bounded: past `maxEntries` the least recently stored goes.
 * `entries()` and the constructor let the caller persist it.
 */
export class ScalerUnitCache {
  private readonly map = new Map<string, ScalerUnit>();

  constructor(readonly maxEntries = 10_000, entries: Iterable<readonly [string, ScalerUnit]> = []) {
    for (const [k, v] of entries) this.put(k, v);
  }

  get size(): number {
    return this.map.size;
  }

  get(meter: string, obis: string): ScalerUnit | undefined {
    return this.map.get(cacheKey(meter, obis));
  }

  set(meter: string, obis: string, su: ScalerUnit): void {
    this.put(cacheKey(meter, obis), su);
  }

  entries(): [string, ScalerUnit][] {
    return [...this.map.entries()];
  }

  private put(k: string, su: ScalerUnit): void {
    this.map.delete(k);
    this.map.set(k, su);
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }
}

function cacheKey(meter: string, obis: string): string {
  return `${meter}|${obis}`;
}
