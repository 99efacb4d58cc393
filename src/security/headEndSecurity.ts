/**
 * The head-end's side of DLMS security: for an association, the ClientSecurity the DLMS
 * adapter needs (our system title, the meter's keys from the key store, its persisted
 * counters, security events into the event log); for a ciphered push, the meter, keys and
 * counters that belong to the system title it came from.
 *
 * A DLMS terminal is one meter (its management logical device, address 1) or a gateway;
 * keys belong to the meter, so a terminal's association uses the keys of the meter at
 * address 1, else of its only meter. The low-level security password is asked per logical
 * device: that of the meter at the address, else of the terminal's meter as above.
 */
import type { ClientSecurity, SecurityCounters, SuiteZeroKeys } from '../../protocols/dlms/security/settings.js';
import type { DlmsEndpoint, Meter, Terminal } from '../domain/index.js';
import type { CounterStore } from './counterStore.js';
import type { KeyStore } from './keyStore.js';
import type { SecurityEventLog } from './securityEvents.js';

/** What the DLMS push listener asks of the head-end (structurally the push side's PushKeyLookup). */
export interface PushSecurity {
  forSystemTitle(systemTitle: Uint8Array): Promise<{ meterId: string; keys: SuiteZeroKeys; counters: SecurityCounters } | undefined>;
}

/** A terminal needs security but no keys are stored for its meter or the meter's key group. */
export class MissingKeysError extends Error {
  readonly code = 'DLMS_KEYS_MISSING';
  constructor(readonly terminalId: string, readonly meterId: string | undefined, readonly keyGroup: string | undefined) {
    super(`no EK and AK stored for ${meterId === undefined ? `terminal ${terminalId}` : `meter ${meterId}`}${keyGroup === undefined ? '' : ` or key group ${keyGroup}`}; PUT them to /api/v1/meters/:id/keys`);
    this.name = 'MissingKeysError';
  }
}

/** A terminal uses low-level security but no password is stored for the meter or its key group. */
export class MissingPasswordError extends Error {
  readonly code = 'DLMS_PASSWORD_MISSING';
  constructor(readonly terminalId: string, readonly address: string, readonly meterId: string | undefined, readonly keyGroup: string | undefined) {
    super(`no low-level security password stored for ${meterId === undefined ? `terminal ${terminalId}, address ${address}` : `meter ${meterId}`}`
      + `${keyGroup === undefined ? '' : ` or key group ${keyGroup}`}; PUT {"password"} to /api/v1/meters/:id/keys${keyGroup === undefined ? '' : ' or /api/v1/key-groups/:name/keys'}`);
    this.name = 'MissingPasswordError';
  }
}

export interface TopologyLookup {
  findTerminal(id: string): Terminal | undefined;
  listTerminals(): readonly Terminal[];
  meterAt(terminalId: string, address: string): Meter | undefined;
  metersOfTerminal(terminalId: string): readonly Meter[];
}

export interface HeadEndSecurityOptions {
  readonly topology: TopologyLookup;
  readonly keys: KeyStore;
  readonly counters: CounterStore;
  readonly events: SecurityEventLog;
  /** The station's (client's) system title, 8 octets. */
  readonly systemTitle: Uint8Array;
}

export class HeadEndSecurity implements PushSecurity {
  /** System title (hex, lower case) → terminal id; rebuilt after a registry change. */
  private byTitle: Map<string, string> | undefined;

  constructor(private readonly o: HeadEndSecurityOptions) {
    if (o.systemTitle.length !== 8) throw new RangeError('a system title has 8 octets');
  }

  /**
   * ClientSecurity for an association with the terminal; undefined when its endpoint asks
   * for neither HLS nor APDU protection. Rejects with MissingKeysError when it does and no
   * keys are stored. Resolves once the counters are ready (outgoing numbers reserved).
   */
  async securityFor(terminalId: string): Promise<ClientSecurity | undefined> {
    const terminal = this.o.topology.findTerminal(terminalId);
    if (terminal?.protocol !== 'dlms') return undefined;
    const e = terminal.dlms;
    const protection = e.security ?? 'none';
    if (e.auth !== 'high-gmac' && protection === 'none') return undefined;
    const meter = this.meterOf(terminalId);
    const resolved = meter === undefined ? undefined : await this.o.keys.resolve(meter.id, e.keyGroup);
    if (meter === undefined || resolved?.keys === undefined) throw new MissingKeysError(terminalId, meter?.id, e.keyGroup);
    const expected = e.systemTitle === undefined ? undefined : Buffer.from(e.systemTitle, 'hex');
    return {
      protection,
      systemTitle: this.o.systemTitle,
      keys: resolved.keys,
      ...(expected === undefined ? {} : { expectedServerSystemTitle: expected }),
      counters: await this.o.counters.countersFor(meter.id, resolved.scope, resolved.generation),
      onEvent: (event) => { this.o.events.record(event, { meterId: meter.id, terminalId }); },
    };
  }

  /**
   * The LLS password of the logical device at `address` on the terminal, from the key set
   * in force for its meter (the meter's own, else its key group's). Rejects with MissingPasswordError when none is stored.
   */
  async passwordFor(terminalId: string, address: string): Promise<string> {
    const terminal = this.o.topology.findTerminal(terminalId);
    const keyGroup = terminal?.protocol === 'dlms' ? terminal.dlms.keyGroup : undefined;
    const meter = this.o.topology.meterAt(terminalId, address) ?? this.meterOf(terminalId);
    const password = meter === undefined ? undefined : (await this.o.keys.resolve(meter.id, keyGroup))?.password;
    if (password === undefined) throw new MissingPasswordError(terminalId, address, meter?.id, keyGroup);
    return password;
  }

  /** The meter whose endpoint carries this system title, with its keys and counters; undefined for a stranger. */
  async forSystemTitle(systemTitle: Uint8Array): Promise<{ meterId: string; keys: SuiteZeroKeys; counters: SecurityCounters } | undefined> {
    const terminalId = this.titles().get(Buffer.from(systemTitle).toString('hex'));
    if (terminalId === undefined) return undefined;
    const terminal = this.o.topology.findTerminal(terminalId);
    const meter = this.meterOf(terminalId);
    if (terminal?.protocol !== 'dlms' || meter === undefined) return undefined;
    const resolved = await this.o.keys.resolve(meter.id, terminal.dlms.keyGroup);
    if (resolved?.keys === undefined) return undefined;
    return { meterId: meter.id, keys: resolved.keys, counters: await this.o.counters.countersFor(meter.id, resolved.scope, resolved.generation) };
  }

  /** Call after a registry change: endpoints' system titles may have changed. */
  invalidate(): void {
    this.byTitle = undefined;
  }

  private titles(): Map<string, string> {
    if (this.byTitle === undefined) {
      this.byTitle = new Map();
      for (const t of this.o.topology.listTerminals()) {
        const st = t.protocol === 'dlms' ? endpointTitle(t.dlms) : undefined;
        if (st !== undefined) this.byTitle.set(st, t.id);
      }
    }
    return this.byTitle;
  }

  private meterOf(terminalId: string): Meter | undefined {
    const atOne = this.o.topology.meterAt(terminalId, '1');
    if (atOne !== undefined) return atOne;
    const all = this.o.topology.metersOfTerminal(terminalId);
    return all.length === 1 ? all[0] : undefined;
  }
}

function endpointTitle(e: DlmsEndpoint): string | undefined {
  return e.systemTitle?.toLowerCase();
}

/** Parses a configured system title (16 hex digits). */
export function parseSystemTitle(hex: string): Uint8Array {
  if (!/^[0-9A-Fa-f]{16}$/.test(hex)) throw new RangeError('a system title is 16 hex digits');
  return Buffer.from(hex, 'hex');
}
