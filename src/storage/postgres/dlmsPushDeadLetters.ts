/**
 * DLMS push dead letters in PostgreSQL, shared by every node: the embedded store's table and
 * queries (../dlmsPushDeadLetters.ts). A batch is one multi-row insert and one prune, in one
 * transaction; ids come from one identity column, so "newest first" and the row cap mean the
 * same across nodes.
 */
import type { PushDeadLetter } from '../../../protocols/dlms/push/receiver.js';
import { recordOf, type PushDeadLetterFilter, type PushDeadLetterRecord, type PushDeadLetterRow, type PushDeadLetterStore } from '../dlmsPushDeadLetters.js';
import type { PostgresDatabase } from './connection.js';

export class PostgresPushDeadLetterStore implements PushDeadLetterStore {
  constructor(private readonly db: PostgresDatabase) {}

  async append(letters: readonly PushDeadLetter[], maxRows: number): Promise<number> {
    if (letters.length === 0) return 0;
    const rows = letters.map((d) => ({
      received_at: d.receivedAt, origin: d.origin, peer: d.from, sender: d.sender, terminal_id: d.terminalId ?? null,
      code: d.code, reason: d.reason, apdu: Buffer.from(d.apdu),
    }));
    return this.db.run((sql) => sql.begin(async (tx) => {
      const ids = await tx<{ id: number }[]>`INSERT INTO dlms_push_dead_letters
        ${tx(rows, 'received_at', 'origin', 'peer', 'sender', 'terminal_id', 'code', 'reason', 'apdu')} RETURNING id`;
      const last = Math.max(...ids.map((r) => r.id));
      return (await tx`DELETE FROM dlms_push_dead_letters WHERE id <= ${last - maxRows}`).count;
    }));
  }

  async list(filter: PushDeadLetterFilter): Promise<PushDeadLetterRecord[]> {
    const rows = await this.db.run((sql) => sql<PushDeadLetterRow[]>`
      SELECT id, received_at, origin, peer, sender, terminal_id, code, reason, apdu FROM dlms_push_dead_letters
      ${filter.terminalId === undefined ? sql`` : sql`WHERE terminal_id = ${filter.terminalId}`}
      ORDER BY id DESC LIMIT ${filter.limit}`);
    return rows.map(recordOf);
  }
}
