/**
 * Dead-letter records: a refused message, copied with the reason so an operator can see
 * what a terminal sent and replay it once fixed. Pure.
 */
import { formatRfc3339 } from './timestamp.js';

/** Bytes of the original payload kept in a record; the rest is dropped and flagged. */
export const DEAD_LETTER_PAYLOAD_BYTES = 4096;
/** Refused readings listed in a record, at most; `refusedCount` gives the whole number. */
export const DEAD_LETTER_REFUSALS = 32;

export interface DeadLetterRecord {
  readonly topic: string;
  readonly terminalId: string | null;
  readonly code: string;
  readonly reason: string;
  /** RFC 3339, station clock. */
  readonly receivedAt: string;
  readonly payloadBase64: string;
  readonly truncated: boolean;
  /** For READINGS_REFUSED: the refused readings' codes and reasons (the first DEAD_LETTER_REFUSALS). */
  readonly refused?: readonly { readonly code: string; readonly reason: string }[];
  readonly refusedCount?: number;
}

export interface DeadLetterInput {
  readonly topic: string;
  readonly terminalId: string | null;
  readonly code: string;
  readonly reason: string;
  readonly receivedAt: number;
  readonly payload: Uint8Array;
  /** Readings of the message the station refused, when only some or all of its readings were. */
  readonly refused?: readonly { readonly code: string; readonly reason: string }[];
}

export function deadLetterRecord(input: DeadLetterInput): DeadLetterRecord {
  const truncated = input.payload.byteLength > DEAD_LETTER_PAYLOAD_BYTES;
  const kept = truncated ? input.payload.subarray(0, DEAD_LETTER_PAYLOAD_BYTES) : input.payload;
  return {
    // A topic is at most 65535 bytes (MQTT 3.1.1 §1.5.3); keep the record small.
    topic: input.topic.slice(0, 512),
    terminalId: input.terminalId,
    code: input.code,
    reason: input.reason.slice(0, 512),
    receivedAt: formatRfc3339(input.receivedAt),
    payloadBase64: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64'),
    truncated,
    ...(input.refused === undefined ? {} : {
      refused: input.refused.slice(0, DEAD_LETTER_REFUSALS).map((r) => ({ code: r.code.slice(0, 64), reason: r.reason.slice(0, 256) })),
      refusedCount: input.refused.length,
    }),
  };
}

export function encodeDeadLetter(input: DeadLetterInput): Buffer {
  return Buffer.from(JSON.stringify(deadLetterRecord(input)));
}
