/**
 * Moves the LLS passwords an older station kept in stored DLMS endpoints (terminals created
 * through the API) into the key store, once at start: the secret is sealed under the master
 * key and leaves the registry row. Each move is audited and logged as a warning, so an
 * operator learns that the terminal API no longer takes a password.
 *
 * A terminal's password served every logical device behind it, so it goes to each of the
 * terminal's meters, replacing a password stored for the meter before: the row's password
 * is the one the meter was answering to. A terminal without a meter keeps its row as it is
 * (there is no meter to hold the secret) and is named in a warning at every start.
 */
import { SYSTEM_ACTOR, type AuditInput } from '../control/audit.js';
import type { Meter, TerminalId } from '../domain/index.js';
import type { KeyStore } from './keyStore.js';

export interface StoredEndpointPasswords {
  storedEndpointPasswords(): Promise<readonly { readonly terminalId: TerminalId; readonly password: string }[]>;
  dropStoredEndpointPassword(id: string): Promise<void>;
  metersOfTerminal(id: string): readonly Meter[];
}

export interface EndpointPasswordMoveOptions {
  readonly registry: StoredEndpointPasswords;
  readonly keys: Pick<KeyStore, 'set' | 'status'>;
  readonly audit: { append(input: AuditInput): Promise<unknown> };
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

/** What the start did: terminals whose password moved, and those left waiting for a meter. */
export interface EndpointPasswordMoves {
  readonly moved: readonly TerminalId[];
  readonly waiting: readonly TerminalId[];
}

export async function moveEndpointPasswords(o: EndpointPasswordMoveOptions): Promise<EndpointPasswordMoves> {
  const moved: TerminalId[] = [];
  const waiting: TerminalId[] = [];
  for (const { terminalId, password } of await o.registry.storedEndpointPasswords()) {
    const meters = o.registry.metersOfTerminal(terminalId);
    if (meters.length === 0) {
      waiting.push(terminalId);
      o.warn({ terminal: terminalId }, 'a stored DLMS endpoint still holds an LLS password and its terminal has no meter to take it; add the meter and restart, or PUT the password to /api/v1/meters/:id/keys');
      continue;
    }
    for (const meter of meters) {
      const scope = { kind: 'meter', id: meter.id } as const;
      const replaced = (await o.keys.status(scope))?.passwordSet ?? false;
      const status = await o.keys.set(scope, { password });
      await o.audit.append({
        actor: SYSTEM_ACTOR, source: null, action: 'keys.set', target: `meter:${meter.id}`, outcome: 'ok',
        detail: { keys: ['password'], generation: status.generation, replaced, reason: `moved from the stored endpoint of terminal ${terminalId}` },
      });
    }
    // Only once every meter holds it: a crash before this line repeats the move at the next start.
    await o.registry.dropStoredEndpointPassword(terminalId);
    moved.push(terminalId);
    o.warn({ terminal: terminalId, meters: meters.map((m) => m.id) }, 'moved the LLS password of a stored DLMS endpoint into the key store; a terminal no longer takes one, PUT it to /api/v1/meters/:id/keys');
  }
  return { moved, waiting };
}
