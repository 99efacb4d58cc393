/**
 * One APDU out, one APDU in, within a deadline. The race is run here rather than trusted to
 * the transport: whatever the transport does with the abort signal, the caller is released
 * when the deadline passes, the caller's signal fires, or the client closes.
 */
import { ConnectionError, ProtocolError, TimeoutError } from '../../adapter.js';
import { RequestAborted } from './errors.js';
import type { ApduTransport } from './transport.js';

export interface ExchangeOptions {
  readonly timeoutMs: number;
  /** What is being done, for error messages ("get 3/1.0.1.8.0.255/2"). */
  readonly what: string;
  readonly terminalId: string | undefined;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** Aborted by the client's close(); its reason becomes the rejection. */
  readonly controller: AbortController;
}

/**
 * Resolves with the reply, or rejects with TimeoutError, RequestAborted, the reason the
 * controller was aborted with, or the transport's failure (a non-protocol error is wrapped
 * in ConnectionError so callers see one family of errors).
 */
export async function exchange(transport: ApduTransport, apdu: Uint8Array, o: ExchangeOptions): Promise<Uint8Array> {
  const ctl = o.controller;
  // Nothing is sent once aborted, so the caller may treat these two as leaving the link in step.
  if (o.signal?.aborted === true) throw new RequestAborted(o.what, o.terminalId, { cause: o.signal.reason });
  if (ctl.signal.aborted) throw ctl.signal.reason as Error;
  const stopped = new Promise<never>((_, reject) => {
    ctl.signal.addEventListener('abort', () => { reject(ctl.signal.reason as Error); }, { once: true });
  });
  // Settled either way later on; a rejection after the race is over is expected, not unhandled.
  stopped.catch(() => undefined);
  const timer = setTimeout(() => { ctl.abort(new TimeoutError(o.terminalId, o.timeoutMs, o.what)); }, o.timeoutMs);
  const onAbort = (): void => { ctl.abort(new RequestAborted(o.what, o.terminalId, { cause: o.signal?.reason })); };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const reply = transport.request(apdu, ctl.signal);
    reply.catch(() => undefined);
    return await Promise.race([reply, stopped]);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ConnectionError(`${o.what}: ${e instanceof Error ? e.message : String(e)}`, o.terminalId, { cause: e });
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}
