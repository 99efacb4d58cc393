/**
 * Dead-letter records: a refused message, copied with the reason so an operator can see
 * what a terminal sent and replay it once fixed. Pure.
 */
import { formatRfc3339 } from './timestamp.js';

/** Bytes of the original payload kept in a record; the rest is dropped and flagged. */
export const DEAD_LETTER_PAYLOAD_BYTES = 4096;

export interface DeadLetterRecord {
  readonly topic: string;
  readonly terminalId: string | null;
  readonly code: string;
  readonly reason: string;
  /** RFC 3339, station clock. */
  readonly receivedAt: string;
  readonly payloadBase64: string;
  readonly truncated: boolean;
}

export interface DeadLetterInput {
  readonly topic: string;
  readonly terminalId: string | null;
  readonly code: string;
  readonly reason: string;
  readonly receivedAt: number;
  readonly payload: Uint8Array;
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
  };
}

export function encodeDeadLetter(input: DeadLetterInput): Buffer {
  return Buffer.from(JSON.stringify(deadLetterRecord(input)));
}
