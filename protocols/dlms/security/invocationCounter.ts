/**
 * Invocation counter rules (IEC 62056-5-3 §5.3.4.4 / Green Book §9.2.7.2.4.2): an IV must
 * never repeat under one key, so the sender increments its counter for every protected
 * APDU and must stop (and have the keys changed) rather than wrap; the receiver accepts a
 * counter only if it is greater than the last one it accepted from that sender, which
 * rejects replays. Pure: the caller stores the values (the head-end persists them per
 * meter, so a restart neither repeats an IV nor accepts a replay).
 */
import { DlmsSecurityError } from './securityError.js';
import { MAX_INVOCATION_COUNTER, checkCounter } from './securityHeader.js';

export type CounterCheck =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly error: DlmsSecurityError };

/**
 * Receiver side: `received` is accepted when it is strictly greater than `lastSeen`
 * (undefined: nothing seen yet from this sender, any valid counter is accepted).
 */
export function acceptCounter(lastSeen: number | undefined, received: number): CounterCheck {
  if (!Number.isInteger(received) || received < 0 || received > MAX_INVOCATION_COUNTER) {
    return { ok: false, error: new DlmsSecurityError('bad-parameter', `invocation counter ${received} is outside 0..2^32-1`) };
  }
  if (lastSeen !== undefined && received <= lastSeen) {
    return { ok: false, error: new DlmsSecurityError('replay', `invocation counter ${received} does not exceed the last accepted ${lastSeen}`) };
  }
  return { ok: true, value: received };
}

/**
 * Sender side: the counter to use after `current` (the last one used). Throws
 * DlmsSecurityError('counter-exhausted') at 2^32 - 1 instead of wrapping to 0.
 */
export function nextCounter(current: number): number {
  checkCounter(current);
  if (current >= MAX_INVOCATION_COUNTER) {
    throw new DlmsSecurityError('counter-exhausted', 'invocation counter reached 2^32-1; change the keys before sending again');
  }
  return current + 1;
}
