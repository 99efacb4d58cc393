/**
 * Device events in: `recordEvents(batch, source)` resolves each event's meter through the
 * registry (terminal + address), maps its code onto the closed vocabulary, stores the batch
 * and hands each stored event to `onEvent` (the rule engine's `onDeviceEvent` subscribes
 * through `createAlarms`). An unknown sender is stored with meterId null and counted; a code outside the
 * vocabulary is stored as 'other' with the device's code in `detail`.
 */
import type { RawDeviceEvent } from '../../protocols/adapter.js';
import { isDeviceEventCode, terminalId, type DeviceEvent, type Meter } from '../domain/index.js';
import type { Db } from '../storage/db.js';
import { DeviceEventStore, type DeviceEventPage, type DeviceEventQuery, type StoredDeviceEvent } from './store.js';

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
  private readonly store: DeviceEventStore;
  private readonly now: () => number;
  private retentionTimer: NodeJS.Timeout | undefined;
  private counts = { stored: 0, unknownMeter: 0, unknownCode: 0, callbackErrors: 0, pruned: 0 };

  constructor(db: Db, private readonly options: EventRecorderOptions) {
    this.store = new DeviceEventStore(db);
    this.now = options.now ?? Date.now;
  }

  /** Stores the batch in one transaction, then hands each event to `onEvent`. Returns what was stored. */
  recordEvents(batch: readonly RawDeviceEvent[], source: DeviceEvent['source']): StoredDeviceEvent[] {
    const receivedAt = this.now();
    const events = batch.map((raw) => this.toEvent(raw, source, receivedAt));
    const stored = this.store.insert(events);
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

  list(query: DeviceEventQuery): DeviceEventPage {
    return this.store.query(query);
  }

  /** Deletes what retention no longer keeps; returns how many. */
  prune(): number {
    const keepMs = (this.options.retentionDays ?? 90) * 86_400_000;
    const n = this.store.prune(this.now() - keepMs, this.options.maxRows ?? 5_000_000);
    this.counts.pruned += n;
    return n;
  }

  /** Prunes now and then every `intervalMs` until `close()`. */
  startRetention(intervalMs = 3_600_000): void {
    if (this.retentionTimer !== undefined) return;
    const run = () => {
      try {
        this.prune();
      } catch (err) {
        this.report('PRUNE_FAILED', null, err instanceof Error ? err.message : String(err));
      }
    };
    run();
    this.retentionTimer = setInterval(run, intervalMs);
    this.retentionTimer.unref();
  }

  stats(): EventRecorderStats {
    return { ...this.counts };
  }

  close(): void {
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
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
