/**
 * A meter's operating state for the dashboard's meter page: online, last seen, relay and
 * power limit, open alarms, customer. The relay comes from whichever is newest: the latest
 * verified read-back of a command, or a relay/limiter event the meter reported.
 */
import type { Statement } from 'better-sqlite3';
import type { DeviceEventCode, LatestValue, Meter, MeterId } from '../domain/index.js';
import { settled, type Db } from '../storage/db.js';

export interface MeterState {
  readonly meterId: string;
  readonly online: boolean | null;
  readonly lastSeen: number | null;
  readonly relay: { readonly connected: boolean; readonly at: number; readonly source: 'command' | 'event' | 'read' } | null;
  readonly limitKw: { readonly value: number | null; readonly at: number } | null;
  readonly openAlarms: number;
  readonly customerRef: string | null;
  readonly protected: boolean;
}

export interface MeterStateSources {
  readonly meter: (id: string) => Meter;
  readonly latest: (id: MeterId) => Promise<readonly LatestValue[]>;
  readonly terminalOnline: (terminalId: string) => boolean | undefined;
  readonly readBacks: ControlReadBacks;
  /** The newest event of a code for a meter (device time), if any. */
  readonly lastEvent: (meterId: string, code: DeviceEventCode) => Promise<{ readonly ts: number } | undefined>;
  readonly openAlarms: (meterId: string) => number;
}

export async function meterState(s: MeterStateSources, id: string): Promise<MeterState> {
  const meter = s.meter(id);
  let lastSeen: number | null = null;
  for (const v of await s.latest(meter.id)) if (lastSeen === null || v.ts > lastSeen) lastSeen = v.ts;
  type Relay = NonNullable<MeterState['relay']>;
  const candidates: Relay[] = [];
  const cmd = await s.readBacks.relay(meter.id);
  if (cmd !== undefined) candidates.push({ connected: cmd.connected, at: cmd.at, source: 'command' });
  const on = await s.lastEvent(meter.id, 'relay-connected');
  if (on !== undefined) candidates.push({ connected: true, at: on.ts, source: 'event' });
  // A tripped limiter opens the relay (DLMS IC 71 drives the disconnect control, IC 70).
  for (const code of ['relay-disconnected', 'limiter-tripped'] as const) {
    const off = await s.lastEvent(meter.id, code);
    if (off !== undefined) candidates.push({ connected: false, at: off.ts, source: 'event' });
  }
  // Newest wins; on a tie the command's verified read-back (the station saw it) wins.
  let relay: Relay | null = null;
  for (const c of candidates) if (relay === null || c.at > relay.at) relay = c;
  const limit = await s.readBacks.limit(meter.id);
  return {
    meterId: meter.id,
    online: s.terminalOnline(meter.terminalId) ?? null,
    lastSeen,
    relay,
    limitKw: limit === undefined ? null : { value: limit.limitKw, at: limit.at },
    openAlarms: s.openAlarms(meter.id),
    customerRef: meter.customerRef,
    protected: meter.protected,
  };
}

/**
 * The latest verified read-back of each kind per meter, from the command store's targets: the
 * storage port, `SqliteControlReadBacks` here, `PostgresControlReadBacks` in postgresReadBacks.ts.
 * Asked only by the meter page's state (`meterState`, itself asynchronous: it awaits the event
 * store), one meter per request: a query per call is cheaper than an image of every meter's
 * targets kept in memory, and always agrees with the command store, whichever node wrote it.
 */
export interface ControlReadBacks {
  relay(meterId: string): Promise<{ connected: boolean; at: number } | undefined>;
  limit(meterId: string): Promise<{ limitKw: number | null; at: number } | undefined>;
}

/** Read-backs from the embedded store's command_targets (embedded migration 8). */
export class SqliteControlReadBacks implements ControlReadBacks {
  readonly #relay: Statement<[string], { connected: number; at: number }>;
  readonly #limit: Statement<[string], { limitKw: number | null; at: number }>;

  constructor(db: Db) {
    // Scans one meter's targets (index command_targets_meter); state is the read-back as JSON.
    this.#relay = db.prepare(`SELECT json_extract(state, '$.connected') AS connected, updated_at AS at FROM command_targets
      WHERE meter_id = ? AND status = 'verified' AND json_type(state, '$.connected') IN ('true', 'false')
      ORDER BY updated_at DESC LIMIT 1`);
    this.#limit = db.prepare(`SELECT json_extract(state, '$.limitKw') AS limitKw, updated_at AS at FROM command_targets
      WHERE meter_id = ? AND status = 'verified' AND json_type(state, '$.limitKw') IS NOT NULL
      ORDER BY updated_at DESC LIMIT 1`);
  }

  relay(meterId: string): Promise<{ connected: boolean; at: number } | undefined> {
    return settled(() => {
      const r = this.#relay.get(meterId);
      return r === undefined ? undefined : { connected: r.connected === 1, at: r.at };
    });
  }

  limit(meterId: string): Promise<{ limitKw: number | null; at: number } | undefined> {
    return settled(() => this.#limit.get(meterId));
  }
}
