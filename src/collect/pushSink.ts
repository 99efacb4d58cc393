/**
 * The one push sink the station hands every push adapter (`TransportAdapter.subscribe`):
 * readings go to the ingest pipeline, each terminal's pushes count towards its health once
 * per batch, and the batch's receipt (the readings normalisation refused) comes back after
 * the commit, so an adapter acknowledges a device only for what is stored. Events go to the
 * event recorder; status messages to the collector; and the collector lends a terminal's
 * own session (its lane) for the reads an adapter needs to make sense of a push.
 */
import type { DeviceNameplate, PushReceipt, PushSink, RawDeviceEvent, RawReading, TerminalSession } from '../../protocols/adapter.js';
import type { DeviceEvent, Protocol } from '../domain/index.js';

/** What the pipeline made of one offer (src/ingest/pipeline.ts `Offer`, as far as the sink reads it). */
export interface PushOffer {
  readonly rejections: readonly { readonly reason: string; readonly detail: string }[];
  /** Settles once the accepted readings went through every sink, the store first. */
  readonly committed: Promise<void>;
}

export interface PushSinkParts {
  /** The ingest pipeline's intake; its promise is the backpressure. */
  readonly offer: (batch: readonly RawReading[], protocol: Protocol, mode: 'push') => Promise<PushOffer>;
  /** The collector: push health, status messages and the terminals' lanes. */
  readonly collector: {
    notePush(terminalId: string, count: number): boolean;
    noteStatus(terminalId: string, online: boolean, ts: number): boolean;
    sessionNow<T>(
      terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
      options: { readonly timeoutMs?: number },
    ): Promise<T>;
  };
  /** Stores device events (the event recorder); the promise, if any, settles once stored. */
  readonly events: (batch: readonly RawDeviceEvent[], source: DeviceEvent['source']) => unknown;
  /** What terminals say of themselves in pushes (the device register); absent: dropped. */
  readonly nameplates?: (terminalId: string, nameplate: DeviceNameplate, ts: number) => void;
}

/** The push sink of one protocol; `eventSource` tags the events it stores. */
export function collectPushSink(protocol: Protocol, eventSource: DeviceEvent['source'], parts: PushSinkParts): PushSink {
  return {
    readings: async (batch): Promise<PushReceipt> => {
      const offer = await parts.offer(batch, protocol, 'push');
      notePushes(parts.collector, batch);
      await offer.committed;
      return { refused: offer.rejections.map((r) => ({ code: r.reason, reason: r.detail })) };
    },
    status: (terminalId, online, ts) => { parts.collector.noteStatus(terminalId, online, ts); },
    nameplate: (terminalId, nameplate, ts) => { parts.nameplates?.(terminalId, nameplate, ts); },
    events: async (batch) => { await parts.events(batch, eventSource); },
    session: (terminalId, what, work, options) => parts.collector.sessionNow(terminalId, what, work, options),
  };
}

/** Each terminal's pushes count once per batch, however many readings it sent. */
function notePushes(collector: PushSinkParts['collector'], batch: readonly RawReading[]): void {
  const perTerminal = new Map<string, number>();
  for (const r of batch) perTerminal.set(r.terminalId, (perTerminal.get(r.terminalId) ?? 0) + 1);
  for (const [terminalId, n] of perTerminal) collector.notePush(terminalId, n);
}
