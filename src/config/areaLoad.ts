/**
 * The station's one area-load definition (src/domain/areaLoad.ts) from its configuration:
 * the freshness and power factor of `station`, and the supply meters of `analysis`, which
 * measure what an area's customers draw and so are never summed with them.
 */
import type { AreaLoadSettings } from '../domain/areaLoad.js';
import type { GridheadConfig } from './schema.js';

export function areaLoadSettings(config: Pick<GridheadConfig, 'station' | 'analysis'>): AreaLoadSettings {
  return {
    freshMs: config.station.areaLoadFreshMs,
    powerFactor: config.station.transformerPowerFactor,
    excluded: new Set(Object.values(config.analysis.supplyMeters)),
  };
}
