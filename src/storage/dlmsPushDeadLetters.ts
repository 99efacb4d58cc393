/**
 * Dead letters of DLMS pushes that arrived over TCP: a push that yielded nothing (could not be
 * deciphered, its sender or its list not identified, its list not read, ...) is kept with its
 * bytes and the reason, so an operator can see what a meter sent and feed it again once the
 * cause is fixed. Pushes over MQTT go to the broker's dead-letter topic instead (protocols/dlms/net/pushMqtt.ts),
 * as every refused MQTT message does.
 *
 * Bounded: `maxRows` rows (the oldest are dropped and counted); a store failure is counted,
 * never thrown into the receiver (protocols/dlms/push/receiver.ts).
 */
import type { PushDeadLetter } from '../../protocols/dlms/push/receiver.js';
import type { Db } from './db.js';

export interface PushDeadLetterRecord extends PushDeadLetter {
  readonly id: number;
}

export interface PushDeadLetterCounters {
  stored: number;
  /** Rows dropped, oldest first, to keep `maxRows`. */
  dropped: number;
  /** Dead letters the store refused (counted only). */
  failed: number;
}

const MAX_REASON = 500;

export class SqlitePushDeadLetters {
  readonly counters: PushDeadLetterCounters = { stored: 0, dropped: 0, failed: 0 };
  private readonly insert;
  private readonly prune;

  constructor(private readonly db: Db, private readonly maxRows = 10_000) {
    this.insert = db.prepare('INSERT INTO dlms_push_dead_letters (received_at, origin, peer, sender, terminal_id, code, reason, apdu) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.prune = db.prepare('DELETE FROM dlms_push_dead_letters WHERE id <= ?');
  }

  /** Keeps one dead letter; false when the store refused it (counted). */
  add(d: PushDeadLetter): boolean {
    try {
      const id = Number(this.insert.run(d.receivedAt, d.origin, d.from.slice(0, 200), d.sender.slice(0, 200), d.terminalId ?? null, d.code, d.reason.slice(0, MAX_REASON), Buffer.from(d.apdu)).lastInsertRowid);
      this.counters.stored += 1;
      this.counters.dropped += this.prune.run(id - this.maxRows).changes;
      return true;
    } catch {
      this.counters.failed += 1;
      return false;
    }
  }

  /** Newest first. */
  list(filter: { readonly terminalId?: string; readonly limit: number }): PushDeadLetterRecord[] {
    const rows = this.db.prepare(`SELECT id, received_at, origin, peer, sender, terminal_id, code, reason, apdu FROM dlms_push_dead_letters
      ${filter.terminalId === undefined ? '' : 'WHERE terminal_id = ?'} ORDER BY id DESC LIMIT ?`)
      .all(...(filter.terminalId === undefined ? [] : [filter.terminalId]), filter.limit) as {
        id: number; received_at: number; origin: 'tcp' | 'mqtt'; peer: string; sender: string; terminal_id: string | null; code: string; reason: string; apdu: Buffer;
      }[];
    return rows.map((r) => ({
      id: r.id, receivedAt: r.received_at, origin: r.origin, from: r.peer, sender: r.sender, code: r.code, reason: r.reason,
      apdu: new Uint8Array(r.apdu.buffer, r.apdu.byteOffset, r.apdu.byteLength),
      ...(r.terminal_id === null ? {} : { terminalId: r.terminal_id }),
    }));
  }
}
