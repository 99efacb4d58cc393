/** Shared set-up of the alarm tests: a small area tree and signals with sensible defaults. */
import { areaId, meterId, type AlarmSignal } from '../../../src/domain/index.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import type { Db } from '../../../src/storage/db.js';

export async function seededRegistry(db: Db): Promise<Registry> {
  const r = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await r.seed({
    areas: [
      { id: 'region', name: 'Region', kind: 'region' },
      { id: 'sub', name: 'Substation', kind: 'substation', parentId: 'region' },
      { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'sub', transformerKva: 400 },
      { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'region', transformerKva: 400 },
    ],
    terminals: [{ id: 'q1', protocol: 'mqtt', enabled: true, profiles: [] }],
    meters: [
      { id: 'm1', terminalId: 'q1', address: '1', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx1' },
      { id: 'm2', terminalId: 'q1', address: '2', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx2' },
    ],
  });
  return r;
}

export function signal(overrides: Partial<AlarmSignal> & { meter?: string } = {}): AlarmSignal {
  const { meter = 'm1', ...rest } = overrides;
  return {
    ruleId: 'over-limit',
    detector: 'power-over-limit',
    subject: { kind: 'meter', id: meterId(meter) },
    kind: 'raise',
    severity: 'major',
    at: 1_750_000_000_000,
    since: 1_749_999_940_000,
    explanation: 'power 12.4 kW over the 10 kW limit for 60 s',
    value: 12.4,
    areaId: areaId(meter === 'm2' ? 'tx2' : 'tx1'),
    ...rest,
  };
}
