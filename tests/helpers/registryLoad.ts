/** What a registry store's streamed load hands over, gathered into one StoredTopology for comparisons. */
import type { StoredMeterRow } from '../../src/registry/image.js';
import { keyedMeterOf, type KeyedMeter, type RegistryStore, type StoredTopology } from '../../src/registry/store.js';
import type { Area } from '../../src/domain/index.js';
import type { TerminalSeed } from '../../src/config/schema.js';

export async function loadedTopology(store: RegistryStore): Promise<StoredTopology> {
  const areas: Area[] = [];
  const terminals: TerminalSeed[] = [];
  const meters: KeyedMeter[] = [];
  await store.load({
    area: (a) => { areas.push(a); },
    terminal: (t) => { terminals.push(t); },
    meter: (row) => { meters.push(keyedMeterOfRow(row)); },
  });
  return { areas, terminals, meters };
}

function keyedMeterOfRow(r: StoredMeterRow): KeyedMeter {
  const [key, id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, isProtected, customer_ref, account_ref] = r;
  return keyedMeterOf({
    key, id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id,
    protected: isProtected === true || isProtected === 1, customer_ref, account_ref,
  });
}
