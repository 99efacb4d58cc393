/**
 * Device events in: `recordEvents(batch, source)` resolves each event's meter through the
 * registry (terminal + address), maps its code onto the closed vocabulary, stores the batch
 * and hands each stored event to `onEvent` (the rule engine's `onDeviceEvent` subscribes
 * through `createAlarms`). An unknown sender is stored with meterId null and counted; a code outside the
 * vocabulary is stored as 'other' with the device's code in `detail`.
 *
 * `recordEvents` resolves once the batch is committed: the push sinks await it, so a device
 * event is acknowledged to its sender only once stored, on either driver.
 */
import type { RawDeviceEvent } from '../../protocols/adapter.js';
import { isDeviceEventCode, terminalId, type DeviceEvent, type Meter } from '../domain/index.js';
import type { DeviceEventPage, DeviceEventQuery, DeviceEventStore, StoredDeviceEvent } from './store.js';

export interface EventRecorderOptions {
  readonly meterAt: (terminalId: string, address: string) => Meter | undefined;
  /** Called for every stored event; a throw is counted and reported, never propagated. */
  readonly onEvent?: (event: DeviceEvent) => void;
  /** Events are kept this long after they arrived. Default 90. */
  readonly retentionDays?: number;
  /** And at most this many, the oldest deleted first. Default 5,000,000. */
  readonly maxRows?: number;
  readonly onProblem?: (problem: { readonly code: 'UNKNOWN_METER' | 'UNKNOWN_CODE' | 'CALLBACK_FAILED' | 'PRUNE_FAILED'; readonly terminalId: string | null; readonly message: string }) => void;
  readonly now?: () => number;
}

export interface EventRecorderStats {
  readonly stored: number;
  readonly unknownMeter: number;
  readonly unknownCode: number;
  readonly callbackErrors: number;
  readonly pruned: number;
}

export const MAX_DETAIL_LENGTH = 512;

export class EventRecorder {
  private readonly now: () => number;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** The retention run in progress, awaited by `close`. */
  private pruning: Promise<void> | undefined;
  private counts = { stored: 0, unknownMeter: 0, unknownCode: 0, callbackErrors: 0, pruned: 0 };

  constructor(private readonly store: DeviceEventStore, private readonly options: EventRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Stores the batch in one transaction, then hands each event to `onEvent`. Returns what was stored. */
  async recordEvents(batch: readonly RawDeviceEvent[], source: DeviceEvent['source']): Promise<StoredDeviceEvent[]> {
    const receivedAt = this.now();
    const events = batch.map((raw) => this.toEvent(raw, source, receivedAt));
    const stored = await this.store.insert(events);
    this.counts.stored += stored.length;
    for (const e of stored) {
      try {
        this.options.onEvent?.(e);
      } catch (err) {
        this.counts.callbackErrors += 1;
        this.report('CALLBACK_FAILED', e.terminalId, err instanceof Error ? err.message : String(err));
      }
    }
    return stored;
  }

  list(query: DeviceEventQuery): Promise<DeviceEventPage> {
    return this.store.query(query);
  }

  /** Deletes what retention no longer keeps; resolves how many. */
  async prune(): Promise<number> {
    const keepMs = (this.options.retentionDays ?? 90) * 86_400_000;
    const n = await this.store.prune(this.now() - keepMs, this.options.maxRows ?? 5_000_000);
    this.counts.pruned += n;
    return n;
  }

  /** Prunes now and then every `intervalMs` until `close()`. */
  startRetention(intervalMs = 3_600_000): void {
    if (this.retentionTimer !== undefined) return;
    const run = () => {
      // A run still going (a slow database) is not doubled; the next interval tries again.
      if (this.pruning !== undefined) return;
      this.pruning = this.prune().then(
        () => undefined,
        (err: unknown) => { this.report('PRUNE_FAILED', null, err instanceof Error ? err.message : String(err)); },
      ).finally(() => { this.pruning = undefined; });
    };
    run();
    this.retentionTimer = setInterval(run, intervalMs);
    this.retentionTimer.unref();
  }

  stats(): EventRecorderStats {
    return { ...this.counts };
  }

  /** Stops retention and waits for a run in progress, so the store can be closed after. */
  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    await this.pruning;
  }

  private toEvent(raw: RawDeviceEvent, source: DeviceEvent['source'], receivedAt: number): DeviceEvent {
    const meter = this.options.meterAt(raw.terminalId, raw.address);
    if (meter === undefined) {
      this.counts.unknownMeter += 1;
      this.report('UNKNOWN_METER', raw.terminalId, `no meter at address ${JSON.stringify(raw.address)} of terminal ${raw.terminalId}; event ${raw.code} stored without a meter`);
    }
    let detail = raw.detail ?? null;
    let code = raw.code;
    if (!isDeviceEventCode(code)) {
      this.counts.unknownCode += 1;
      this.report('UNKNOWN_CODE', raw.terminalId, `event code ${JSON.stringify(code.slice(0, 64))} is not in the vocabulary; stored as 'other'`);
      detail = detail === null ? `code: ${code}` : `code: ${code}; ${detail}`;
      code = 'other';
    }
    const ts = raw.ts !== undefined && Number.isFinite(raw.ts) ? Math.round(raw.ts) : receivedAt;
    return {
      meterId: meter?.id ?? null,
      terminalId: terminalId(raw.terminalId),
      code: isDeviceEventCode(code) ? code : 'other',
      ts,
      receivedAt,
      source,
      detail: detail === null ? null : detail.slice(0, MAX_DETAIL_LENGTH),
    };
  }

  private report(code: 'UNKNOWN_METER' | 'UNKNOWN_CODE' | 'CALLBACK_FAILED' | 'PRUNE_FAILED', terminal: string | null, message: string): void {
    try {
      this.options.onProblem?.({ code, terminalId: terminal, message });
    } catch (err) {
      process.emitWarning(`event recorder onProblem threw while reporting ${code}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
