/**
 * In-memory `PushSecurity`: for tests and tools that have no key store. Counters live as
 * long as the object, so a restart forgets them; the head-end uses the persisted key store
 * (src/security) instead.
 */
import { MemorySecurityCounters } from '../security/memoryCounters.js';
import type { SecurityCounters, SuiteZeroKeys } from '../security/settings.js';
import type { PushSecurity } from './notification.js';

export class MemoryPushSecurity implements PushSecurity {
  private readonly byTitle = new Map<string, { meterId: string; keys: SuiteZeroKeys; counters: SecurityCounters }>();

  /** Registers a meter's system title and keys; returns its counters (fresh). */
  add(systemTitle: Uint8Array, meterId: string, keys: SuiteZeroKeys): SecurityCounters {
    const counters = new MemorySecurityCounters();
    this.byTitle.set(Buffer.from(systemTitle).toString('hex'), { meterId, keys, counters });
    return counters;
  }

  forSystemTitle(systemTitle: Uint8Array): { meterId: string; keys: SuiteZeroKeys; counters: SecurityCounters } | undefined {
    return this.byTitle.get(Buffer.from(systemTitle).toString('hex'));
  }
}
