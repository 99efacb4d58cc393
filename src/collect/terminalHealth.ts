/**
 * Online/offline bookkeeping of one terminal. A polled terminal goes offline after
 * `offlineAfterFailures` consecutive failed cycles and online on its first success; a
 * pushing terminal goes offline on silence or its last will and online on any message.
 * Methods return the transition, if any, so the caller emits one event per change and
 * never one per failure.
 */
import { errorCode } from './errors.js';

/** `unknown` until the terminal is first heard from or first given up on. */
export type LinkStatus = 'unknown' | 'online' | 'offline';

export interface TerminalState {
  readonly terminalId: string;
  readonly status: LinkStatus;
  readonly online: boolean;
  /** Last time a cycle or read collected something (push: last message), ms since epoch. */
  readonly lastSuccessTs: number | null;
  /** Last time a cycle or on-demand read started. */
  readonly lastAttemptTs: number | null;
  readonly consecutiveFailures: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly ts: number };
}

export interface StateChange {
  readonly terminalId: string;
  readonly online: boolean;
  readonly previous: LinkStatus;
  readonly reason: string;
  readonly ts: number;
}

export class TerminalHealth {
  status: LinkStatus = 'unknown';
  lastSuccessTs: number | null = null;
  lastAttemptTs: number | null = null;
  consecutiveFailures = 0;
  lastError: { code: string; message: string; ts: number } | undefined;

  constructor(readonly terminalId: string) {}

  attempted(ts: number): void {
    this.lastAttemptTs = ts;
  }

  /** Records an error without judging the terminal (a partial cycle, an on-demand read). */
  noteError(err: Error, ts: number): void {
    this.lastError = { code: errorCode(err), message: err.message, ts };
  }

  succeeded(ts: number, reason: string): StateChange | undefined {
    this.lastSuccessTs = Math.max(ts, this.lastSuccessTs ?? ts);
    this.consecutiveFailures = 0;
    return this.#moveTo('online', reason, ts);
  }

  /** A whole cycle failed (nothing collected). */
  cycleFailed(ts: number, err: Error, offlineAfterFailures: number): StateChange | undefined {
    this.noteError(err, ts);
    this.consecutiveFailures++;
    if (this.consecutiveFailures < offlineAfterFailures) return undefined;
    return this.#moveTo('offline', `${this.consecutiveFailures} consecutive failed cycles, last: ${errorCode(err)}: ${err.message}`, ts);
  }

  /** Forced transition: a push terminal's status message or its silence. */
  set(online: boolean, reason: string, ts: number): StateChange | undefined {
    if (online) this.lastSuccessTs = Math.max(ts, this.lastSuccessTs ?? ts);
    return this.#moveTo(online ? 'online' : 'offline', reason, ts);
  }

  snapshot(): TerminalState {
    return {
      terminalId: this.terminalId,
      status: this.status,
      online: this.status === 'online',
      lastSuccessTs: this.lastSuccessTs,
      lastAttemptTs: this.lastAttemptTs,
      consecutiveFailures: this.consecutiveFailures,
      ...(this.lastError === undefined ? {} : { lastError: { ...this.lastError } }),
    };
  }

  #moveTo(status: 'online' | 'offline', reason: string, ts: number): StateChange | undefined {
    if (this.status === status) return undefined;
    const previous = this.status;
    this.status = status;
    return { terminalId: this.terminalId, online: status === 'online', previous, reason, ts };
  }
}
