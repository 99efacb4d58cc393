/**
 * scaler_unit for pushed register values. A push carries attribute 2 only (the raw value),
 * so the head-end needs each register's attribute 3 from elsewhere: read it from the meter
 * on the meter's first push (through its terminal's collection lane, intake.ts), and keep it
 * per meter.
 *
 * Per meter, not per meter type: scaler_unit is an attribute of each register instance
 * (IEC 62056-6-2 §4.3.2, Register attribute 3), and meters of one type differ in it when
 * the resolution is a setting (direct vs CT-connected, residential vs industrial; the
 * simulated fleet has both under one type). Applying one meter's scaler to another's raw
 * value is off by a power of ten with nothing to show it.
 *
 * Before reading, `known` is asked (the DLMS adapter's cache, which polling fills), so a
 * meter that is also polled costs no extra association. A failed read is not retried for
 * `retryAfterMs`; meanwhile that meter's pushed registers are dropped and counted by the
 * receiver. One read per meter at a time, `maxConcurrentLoads` in all: a fleet pushing for
 * the first time must not fill every collection slot with scaler reads and hold up polling
 * (each read queues in its terminal's lane like an operator's). The cache is bounded.
 */
import type { ScalerUnit } from '../cosem/units.js';

/** The terminal a pushing meter sits on, as far as the cache needs it. */
export interface ScalerTerminal {
  readonly id: string;
}

export interface PushScalerSource {
  /** scaler_unit per OBIS for the meter at (terminal, address); OBIS codes it has none for are absent. */
  get(terminal: ScalerTerminal, address: string, obis: readonly string[]): Promise<ReadonlyMap<string, ScalerUnit>>;
}

export interface PushScalerCacheOptions {
  /** Already known for this meter (e.g. the DLMS adapter's cache), without I/O. */
  readonly known?: (terminalId: string, address: string, obis: string) => ScalerUnit | undefined;
  /** Reads attribute 3 of `obis` from the meter; resolves with what it got. */
  readonly load: (terminal: ScalerTerminal, address: string, obis: readonly string[]) => Promise<ReadonlyMap<string, ScalerUnit>>;
  readonly retryAfterMs?: number;
  /** Meters kept (default 100,000: one entry per pushing meter, so a fleet fits and is not re-read). */
  readonly maxKeys?: number;
  /** Scaler reads (associations) in progress at once (default 4); other meters' pushes wait their turn. */
  readonly maxConcurrentLoads?: number;
  readonly now?: () => number;
}

export class PushScalerCache implements PushScalerSource {
  private readonly byKey = new Map<string, Map<string, ScalerUnit>>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private readonly now: () => number;
  /** Loads running now, and the ones waiting for a turn (bounded by the pushes in progress: the listeners pause a sender until its push is handled). */
  private running = 0;
  private readonly turns: (() => void)[] = [];

  constructor(private readonly o: PushScalerCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  async get(terminal: ScalerTerminal, address: string, obis: readonly string[]): Promise<ReadonlyMap<string, ScalerUnit>> {
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

  private loadOnce(key: string, terminal: ScalerTerminal, address: string, obis: readonly string[]): Promise<void> {
    let p = this.loading.get(key);
    if (p === undefined) {
      p = this.limited(() => this.o.load(terminal, address, obis)).then(
        (got) => {
          const entry = this.entry(key);
          for (const [o, su] of got) entry.set(o, su);
          if (obis.some((o) => !got.has(o))) this.failed(key);
          else this.failedAt.delete(key);
        },
        (err: unknown) => {
          this.failed(key);
          throw err;
        },
      ).finally(() => { this.loading.delete(key); });
      this.loading.set(key, p);
    }
    return p;
  }

  private async limited<T>(run: () => Promise<T>): Promise<T> {
    if (this.running >= (this.o.maxConcurrentLoads ?? 4)) await new Promise<void>((resolve) => { this.turns.push(resolve); });
    else this.running += 1;
    try {
      return await run();
    } finally {
      // The turn passes straight to the next waiter, so `running` stays counted for it.
      const next = this.turns.shift();
      if (next === undefined) this.running -= 1;
      else next();
    }
  }

  private failed(key: string): void {
    this.failedAt.delete(key);
    this.failedAt.set(key, this.now());
    if (this.failedAt.size > (this.o.maxKeys ?? 100_000)) {
      const oldest = this.failedAt.keys().next();
      if (oldest.done !== true) this.failedAt.delete(oldest.value);
    }
  }

  private entry(key: string): Map<string, ScalerUnit> {
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = new Map();
      this.byKey.set(key, e);
      if (this.byKey.size > (this.o.maxKeys ?? 100_000)) {
        const oldest = this.byKey.keys().next();
        if (oldest.done !== true) this.byKey.delete(oldest.value);
      }
    }
    return e;
  }
}

function keyOf(terminal: ScalerTerminal, address: string): string {
  return `${terminal.id}/${address}`;
}
