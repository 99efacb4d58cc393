/**
 * Prometheus metrics. Values are read from the modules' own `stats()` at scrape time, so
 * no hot path pays for metrics bookkeeping twice.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSource {
  readonly name: string;
  readonly help: string;
  /** `counter`: a cumulative value that only grows; exposed with the `_total` suffix. */
  readonly type: 'gauge' | 'counter';
  readonly labelNames?: readonly string[];
  readonly read: () => readonly { readonly labels?: Readonly<Record<string, string>>; readonly value: number }[];
}

export function createMetrics(sources: readonly MetricSource[]): Registry {
  const registry = new Registry();
  // prom-client's default names already start with process_ or nodejs_: gridhead_process_cpu_…
  collectDefaultMetrics({ register: registry, prefix: 'gridhead_' });
  for (const s of sources) {
    // prom-client counters can only be incremented; a cumulative value read from a module is
    // exposed through a collector that sets it, under the counter's conventional name.
    new Gauge({
      name: s.type === 'counter' ? `${s.name}_total` : s.name,
      help: s.help,
      labelNames: [...(s.labelNames ?? [])],
      registers: [registry],
      collect() {
        this.reset();
        for (const v of s.read()) {
          if (v.labels === undefined) this.set(v.value);
          else this.set(v.labels, v.value);
        }
      },
    });
  }
  return registry;
}
