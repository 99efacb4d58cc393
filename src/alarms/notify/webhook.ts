/**
 * Alarm notifications to one HTTP endpoint: a JSON POST per alarm change, signed with
 * HMAC-SHA256 over the raw body, retried with exponential backoff and jitter.
 *
 * Never blocks alarm handling: `notify` only enqueues. The queue is bounded and drops its
 * oldest entry when full (counted, reported); one delivery is in flight at a time, so the
 * receiver sees changes in order. Deliveries run between `start` and `close` (the leader's
 * duty roster calls both, and may start it again); what is notified meanwhile waits. The delivery id stays the same across retries, so a
 * receiver can discard a duplicate after a response that was lost.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { SEVERITIES, type Severity } from '../../domain/index.js';
import type { AlarmNotice } from '../view.js';
import { sleep } from '../../../protocols/timers.js';

export interface WebhookTarget {
  readonly url: string;
  /** HMAC key; the receiver checks `X-Gridhead-Signature` with it. */
  readonly secret: string;
  /** Changes of alarms less severe than this are not sent. */
  readonly minSeverity: Severity;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Attempts per notification, the first included. Default 8. */
  readonly maxAttempts?: number;
  /** First retry delay; doubled per attempt up to `retryMaxMs`, with jitter. Default 1 s. */
  readonly retryMinMs?: number;
  /** Default 5 min. */
  readonly retryMaxMs?: number;
  /** Notifications waiting, at most; the oldest is dropped beyond. Default 1000. */
  readonly queueCapacity?: number;
}

export interface WebhookProblem {
  readonly url: string;
  /** QUEUE_FULL: oldest dropped. ATTEMPT_FAILED: will retry. REJECTED: a 3xx or 4xx (not 408/429), not retried. GAVE_UP: attempts exhausted. */
  readonly code: 'QUEUE_FULL' | 'ATTEMPT_FAILED' | 'REJECTED' | 'GAVE_UP';
  readonly message: string;
}

export interface WebhookStats {
  readonly queued: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly failedAttempts: number;
  readonly rejected: number;
  readonly gaveUp: number;
}

export interface WebhookNotifierOptions {
  readonly onProblem?: (problem: WebhookProblem) => void;
  /** In [0, 1); default Math.random. Spreads retries of many stations hitting one receiver. */
  readonly random?: () => number;
}

export const SIGNATURE_HEADER = 'x-gridhead-signature';
export const DELIVERY_HEADER = 'x-gridhead-delivery';

/** `sha256=<hex HMAC-SHA256 of body with secret>`. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `severity` is `min` or more severe (SEVERITIES runs from most to least severe). */
export function severityAtLeast(severity: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(min);
}

export class WebhookNotifier {
  private readonly queue: { readonly id: string; readonly body: string }[] = [];
  /** Aborted while stopped: before the first `start` and after `close`. */
  private closing = stopped();
  private pumping: Promise<void> | undefined;
  private counts = { delivered: 0, dropped: 0, failedAttempts: 0, rejected: 0, gaveUp: 0 };
  private readonly maxAttempts: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly capacity: number;

  constructor(private readonly target: WebhookTarget, private readonly options: WebhookNotifierOptions = {}) {
    this.maxAttempts = target.maxAttempts ?? 8;
    this.retryMinMs = target.retryMinMs ?? 1_000;
    this.retryMaxMs = target.retryMaxMs ?? 300_000;
    this.capacity = target.queueCapacity ?? 1_000;
  }

  notify(notice: AlarmNotice): void {
    if (!severityAtLeast(notice.alarm.severity, this.target.minSeverity)) return;
    this.post(notice);
  }

  /** Queues any JSON payload for delivery, with no severity filter: fee-control notices ride the same signed, retried delivery. */
  post(payload: unknown): void {
    if (this.queue.length >= this.capacity) {
      // The head is in flight while the pump runs: drop the oldest one still waiting.
      this.queue.splice(this.pumping !== undefined && this.queue.length > 1 ? 1 : 0, 1);
      this.counts.dropped += 1;
      this.report('QUEUE_FULL', `${this.capacity} notifications waiting; dropped the oldest`);
    }
    this.queue.push({ id: randomUUID(), body: JSON.stringify(payload) });
    this.kick();
  }

  /** Starts delivering what is queued and what comes; a start while started does nothing. */
  start(): void {
    if (!this.closing.signal.aborted) return;
    this.closing = new AbortController();
    this.kick();
  }

  stats(): WebhookStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Stops sending; what is still queued is dropped (counted). `start` may follow. */
  async close(): Promise<void> {
    this.closing.abort();
    this.counts.dropped += this.queue.splice(0).length;
    await this.pumping;
  }

  /** One pump at a time, and only while started; a pump of a stop that a start followed hands over to a new one. */
  private kick(): void {
    if (this.closing.signal.aborted || this.queue.length === 0) return;
    this.pumping ??= this.pump(this.closing.signal).finally(() => {
      this.pumping = undefined;
      this.kick();
    });
  }

  private async pump(signal: AbortSignal): Promise<void> {
    for (let item = this.queue[0]; item !== undefined && !signal.aborted; item = this.queue[0]) {
      await this.deliver(item, signal);
      // The item may already have been dropped by a full queue while it was retried.
      if (this.queue[0] === item) this.queue.shift();
    }
  }

  private async deliver(item: { readonly id: string; readonly body: string }, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const outcome = await this.attempt(item, signal);
      if (outcome.kind === 'ok') {
        this.counts.delivered += 1;
        return;
      }
      if (signal.aborted) return;
      if (outcome.kind === 'rejected') {
        this.counts.rejected += 1;
        this.report('REJECTED', `${outcome.reason}; not retried`);
        return;
      }
      this.counts.failedAttempts += 1;
      if (attempt === this.maxAttempts) break;
      this.report('ATTEMPT_FAILED', `attempt ${attempt}: ${outcome.reason}`);
      if (!(await sleep(this.backoff(attempt), signal))) return;
      if (this.queue[0] !== item) return; // dropped while we waited
    }
    this.counts.gaveUp += 1;
    this.report('GAVE_UP', `no success after ${this.maxAttempts} attempts; notification ${item.id} dropped`);
  }

  private async attempt(item: { readonly id: string; readonly body: string }, signal: AbortSignal): Promise<{ kind: 'ok' | 'retry' | 'rejected'; reason: string }> {
    try {
      const res = await fetch(this.target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signBody(this.target.secret, item.body),
          [DELIVERY_HEADER]: item.id,
        },
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.target.timeoutMs)]),
      });
      // Free the connection; the receiver's answer text is not ours to keep.
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', reason: '' };
      const reason = `HTTP ${res.status}`;
      // 408 and 429 say "try again later"; any other 4xx will not get better by repeating it,
      // nor will a redirect (not followed: the signed body must not travel to another host).
      if (res.status >= 300 && res.status < 500 && res.status !== 408 && res.status !== 429) return { kind: 'rejected', reason };
      return { kind: 'retry', reason };
    } catch (err) {
      return { kind: 'retry', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }

  /** Exponential with "equal jitter": half the step fixed, half random. */
  private backoff(attempt: number): number {
    const step = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** (attempt - 1));
    return step / 2 + (this.options.random ?? Math.random)() * (step / 2);
  }

  private report(code: WebhookProblem['code'], message: string): void {
    try {
      this.options.onProblem?.({ url: this.target.url, code, message });
    } catch (err) {
      process.emitWarning(`webhook onProblem threw while reporting ${code}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function stopped(): AbortController {
  const c = new AbortController();
  c.abort();
  return c;
}
