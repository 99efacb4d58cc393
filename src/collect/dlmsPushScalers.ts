/**
 * scaler_unit for pushed register values. A push carries attribute 2 only (the raw value),
 * so the head-end needs each register's attribute 3 from elsewhere. Chosen here: read it
 * from the meter over an ordinary association on the first push of a meter type (or of a
 * meter, when its endpoint names no `meterType`), and keep it per type: meters of one type
 * share firmware, hence scalers, which is what `meterType` already means for object lists.
 *
 * Before reading, `known` is asked (the DLMS adapter's cache, which polling fills), so a
 * meter that is also polled costs no extra association. A failed read is not retried for
 * `retryAfterMs`; meanwhile that type's pushed registers are dropped and counted by the
 * receiver. One read per key at a time; the cache is bounded.
 */
import type { ScalerUnit } from '../../protocols/dlms/cosem/units.js';
import type { Terminal } from '../domain/index.js';

export interface PushScalerSource {
  /** scaler_unit per OBIS for the meter at (terminal, address); OBIS codes it has none for are absent. */
  get(terminal: Terminal, address: string, obis: readonly string[]): Promise<ReadonlyMap<string, ScalerUnit>>;
}

export interface PushScalerCacheOptions {
  /** Already known for this meter (e.g. the DLMS adapter's cache), without I/O. */
  readonly known?: (terminalId: string, address: string, obis: string) => ScalerUnit | undefined;
  /** Reads attribute 3 of `obis` from the meter; resolves with what it got. */
  readonly load: (terminal: Terminal, address: string, obis: readonly string[]) => Promise<ReadonlyMap<string, ScalerUnit>>;
  readonly retryAfterMs?: number;
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export class PushScalerCache implements PushScalerSource {
  private readonly byKey = new Map<string, Map<string, ScalerUnit>>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: PushScalerCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  async get(terminal: Terminal, address: string, obis: readonly string[]): Promise<ReadonlyMap<string, ScalerUnit>> {
    const key = keyOf(terminal, address);
    const entry = this.entry(key);
    for (const o of obis) {
      if (entry.has(o)) continue;
      const su = this.o.known?.(terminal.id, address, o);
      if (su !== undefined) entry.set(o, su);
    }
    const missing = obis.filter((o) => !entry.has(o));
    if (missing.length > 0 && this.mayLoad(key)) await this.loadOnce(key, terminal, address, missing);
    const out = new Map<string, ScalerUnit>();
    for (const o of obis) {
      const su = this.entry(key).get(o);
      if (su !== undefined) out.set(o, su);
    }
    return out;
  }

  private mayLoad(key: string): boolean {
    const at = this.failedAt.get(key);
    return at === undefined || this.now() - at >= (this.o.retryAfterMs ?? 60_000);
  }

  private loadOnce(key: string, terminal: Terminal, address: string, obis: readonly string[]): Promise<void> {
    let p = this.loading.get(key);
    if (p === undefined) {
      p = this.o.load(terminal, address, obis).then(
        (got) => {
          const entry = this.entry(key);
          for (const [o, su] of got) entry.set(o, su);
          if (obis.some((o) => !got.has(o))) this.failedAt.set(key, this.now());
          else this.failedAt.delete(key);
        },
        (err: unknown) => {
          this.failedAt.set(key, this.now());
          throw err;
        },
      ).finally(() => { this.loading.delete(key); });
      this.loading.set(key, p);
    }
    return p;
  }

  private entry(key: string): Map<string, ScalerUnit> {
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = new Map();
      this.byKey.set(key, e);
      if (this.byKey.size > (this.o.maxKeys ?? 10_000)) {
        const oldest = this.byKey.keys().next();
        if (oldest.done !== true) this.byKey.delete(oldest.value);
      }
    }
    return e;
  }
}

function keyOf(terminal: Terminal, address: string): string {
  const type = terminal.protocol === 'dlms' ? terminal.dlms.meterType : undefined;
  return type === undefined ? `meter:${terminal.id}/${address}` : `type:${type}`;
}
