/**
 * LISTEN/NOTIFY for the stores whose nodes each keep a copy in memory (the registry's image,
 * the meter replacements): a node that commits a change notifies a channel in the same
 * transaction, so the notification leaves at commit and a rolled-back change sends nothing;
 * every node listens and brings its copy up to date.
 *
 * The client (`postgres`) keeps one listening connection per pool and, when it is lost
 * (PostgreSQL restarted, the connection killed), listens again with the pool's backoff
 * (storage.postgres.reconnectMinMs … reconnectMaxMs). Notifications sent in between are lost
 * to this node, so `missed` is called each time listening is re-established: the caller
 * catches up from the tables, which stay the truth.
 */
import type { PostgresDatabase, Queryable } from './connection.js';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (SQL command NOTIFY, "Notes"). */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7_999;

export interface ChannelSink {
  /** A notification's payload, as sent; anything may be sent on a channel, so parse it with care. */
  heard(payload: string): void;
  /** Listening was re-established after a loss: notifications of the gap are gone. */
  missed(): void;
}

export interface Listening {
  /** Stops listening; the pool belongs to its opener. */
  stop(): Promise<void>;
}

/** Listens on `channel`; resolves once the first LISTEN is in place (notifications committed after it are heard). */
export async function listenTo(db: PostgresDatabase, channel: string, sink: ChannelSink): Promise<Listening> {
  let first = true;
  const listening = await db.run((sql) => sql.listen(channel, (payload) => { sink.heard(payload); }, () => {
    // Called at the first LISTEN and again after every re-established one.
    if (first) {
      first = false;
      return;
    }
    sink.missed();
  }));
  return { stop: () => listening.unlisten() };
}

/** Notifies `channel` from within the caller's transaction `tx`: sent at its commit, dropped by a rollback. */
export async function notifyInTransaction(tx: Queryable, channel: string, payload: string): Promise<void> {
  await tx`SELECT pg_notify(${channel}, ${payload})`;
}
