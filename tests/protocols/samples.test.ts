/**
 * Every protocol folder ships a sample.yaml of its configuration; each must load through the
 * station's own loader (schema, defaults, cross-checks), so a sample that drifts from the
 * schema fails here rather than in a reader's hands.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';

const PROTOCOLS = 'protocols';
const samples = readdirSync(PROTOCOLS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(PROTOCOLS, d.name, 'sample.yaml')))
  .map((d) => d.name)
  .sort();

describe('protocols/*/sample.yaml', () => {
  it('ships a sample for every protocol', () => {
    expect(samples).toEqual(['dlms', 'modbus', 'mqtt']);
  });

  it.each(samples)('%s/sample.yaml loads through the configuration loader', (protocol) => {
    const config = loadConfigFile(join(PROTOCOLS, protocol, 'sample.yaml'), {});
    const own = config.registry.terminals.filter((t) => t.protocol === protocol);
    expect(own.length).toBeGreaterThan(0);
    expect(config.registry.meters.filter((m) => own.some((t) => t.id === m.terminalId)).length).toBeGreaterThan(0);
  });
});
