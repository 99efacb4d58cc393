/**
 * The one freshness and power factor of area load are station keys; the program key they
 * replaced still loads when it agrees, and is refused by name when it would judge differently.
 */
import { describe, expect, it } from 'vitest';
import { areaLoadSettings } from '../../../src/config/areaLoad.js';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

const PROGRAM = (extra: string) => `
loadControl:
  programs:
    - id: peak
      kind: rest-day
      weekdays: [0]
      limitKw: 100
      meters: [m1]
      rounds: [{ afterMs: 0, action: disconnect, meters: [m1] }]
${extra}`;

function issuesOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('area load configuration', () => {
  it('defaults to 15 min freshness and PF 0.9, and leaves the analysis supply meters out', () => {
    const c = parseConfig('analysis:\n  supplyMeters: { tx1: sm-1 }\n', 'test.yaml');
    expect(areaLoadSettings(c)).toEqual({ freshMs: 900_000, powerFactor: 0.9, excluded: new Set(['sm-1']) });
    const set = parseConfig('station:\n  areaLoadFreshMs: 120000\n  transformerPowerFactor: 0.85\n', 'test.yaml');
    expect(areaLoadSettings(set)).toMatchObject({ freshMs: 120_000, powerFactor: 0.85 });
  });

  it('refuses a load-control program freshness that differs from station.areaLoadFreshMs, naming the station key', () => {
    expect(issuesOf(PROGRAM('      freshMs: 180000'))).toEqual([
      'loadControl.programs[0].freshMs: superseded by station.areaLoadFreshMs (900000): set the freshness there, for every area load, or remove this key',
    ]);
    expect(issuesOf(PROGRAM('      freshMs: 180000\nstation:\n  areaLoadFreshMs: 180000'))).toEqual([]);
    expect(issuesOf(PROGRAM(''))).toEqual([]);
  });
});
