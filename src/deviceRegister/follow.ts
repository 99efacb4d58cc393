/**
 * Installation and removal as the registry tells them: each change notification marks a device
 * installed or removed, written in batches one at a time (so a removal and a re-creation of the
 * same id land in the order they happened). What changed while nobody listened (the station
 * down, a batch that could not be written, more changes pending than `maxPending`) is caught up
 * by a reconciliation against the registry's tables.
 */
import type { RegistryChange } from '../registry/registry.js';
import type { DeviceKind } from './model.js';
import type { DeviceRegisterStore } from './store.js';

/** Changes waiting to be written, at most; past it they are dropped and a reconciliation stands for them. */
export const MAX_PENDING_CHANGES = 10_000;

export interface RegistryFollowerOptions {
  readonly store: Pick<DeviceRegisterStore, 'installed' | 'removed' | 'reconcile'>;
  readonly onChange: (listener: (c: RegistryChange) => void) => () => void;
  readonly now: () => number;
  /** A batch or a reconciliation failed; a reconciliation is tried at the next change or start. */
  readonly onError: (err: unknown) => void;
  /** Devices were installed: meters may be due for a nameplate read. */
  readonly onInstalled?: () => void;
}

export class RegistryFollower {
  readonly #o: RegistryFollowerOptions;
  /** `kind \0 id` → the last operation heard. */
  #pending = new Map<string, 'upsert' | 'delete'>();
  #reconcile = true;
  #flushing: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: RegistryFollowerOptions) {
    this.#o = options;
  }

  /** Listens, and reconciles what changed before; resolves once that is written. */
  async start(): Promise<void> {
    this.#unsubscribe ??= this.#o.onChange((c) => { this.#heard(c); });
    this.#reconcile = true;
    await this.flush();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#flushing;
  }

  /** Writes what is pending; resolves when nothing is. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => { this.#flushing = undefined; });
    return this.#flushing;
  }

  #heard(c: RegistryChange): void {
    if (c.kind === 'area') return;
    if (this.#pending.size >= MAX_PENDING_CHANGES) {
      this.#pending.clear();
      this.#reconcile = true;
    } else {
      this.#pending.set(`${c.kind}\0${c.id}`, c.op);
    }
    void this.flush();
  }

  async #drain(): Promise<void> {
    while (this.#reconcile || this.#pending.size > 0) {
      const at = this.#o.now();
      let installed: boolean;
      try {
        if (this.#reconcile) {
          this.#reconcile = false;
          this.#pending.clear();
          const meters = await this.#o.store.reconcile('meter', at);
          await this.#o.store.reconcile('terminal', at);
          installed = meters.adopted > 0;
        } else {
          const batch = this.#pending;
          this.#pending = new Map();
          installed = await this.#write(batch, at);
        }
      } catch (err) {
        this.#reconcile = true;
        this.#o.onError(err);
        return;
      }
      if (installed) this.#o.onInstalled?.();
    }
  }

  /** One batch: per kind, installs then removals (an id appears once, with its last operation). */
  async #write(batch: ReadonlyMap<string, 'upsert' | 'delete'>, at: number): Promise<boolean> {
    const ids: Record<DeviceKind, { upsert: string[]; delete: string[] }> = { meter: { upsert: [], delete: [] }, terminal: { upsert: [], delete: [] } };
    for (const [key, op] of batch) {
      const cut = key.indexOf('\0');
      ids[key.slice(0, cut) as DeviceKind][op].push(key.slice(cut + 1));
    }
    for (const kind of ['meter', 'terminal'] as const) {
      if (ids[kind].upsert.length > 0) await this.#o.store.installed(kind, ids[kind].upsert, at);
      if (ids[kind].delete.length > 0) await this.#o.store.removed(kind, ids[kind].delete, at);
    }
    return ids.meter.upsert.length > 0;
  }
}
