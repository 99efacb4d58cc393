import { readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../privateFiles.js';
import { HttpError, InfluxDB, type Transport } from '@influxdata/influxdb-client';
import type { InfluxConfig } from '../../config/schema.js';
import type { Reading } from '../../domain/reading.js';
import { encodeReadings, type MeterTagResolver } from './lineProtocol.js';
import { Spool, type SpoolBatch } from './spool.js';
import { InfluxSinkClosed, InfluxSpoolFull, InfluxWriteRejected, systemClock, type SinkClock, type SinkLogger } from './support.js';

export { InfluxSinkClosed, InfluxSpoolFull, InfluxWriteRejected, systemClock, type SinkClock, type SinkLogger } from './support.js';

export type InfluxSinkOptions = Omit<InfluxConfig, 'enabled'> & {
  /** The spool lives in `<dataDir>/influx-spool/`, rejected batches in its `rejected/`. */
  readonly dataDir: string;
  /** Extra tags per meter, e.g. `{ area }`. */
  readonly tagsFor?: MeterTagResolver;
  readonly clock?: SinkClock;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
  readonly logger?: SinkLogger;
  /** Called once per batch the server refused for good (4xx other than 429). */
  readonly onRejected?: (err: InfluxWriteRejected) => void;
  /** Request bodies above this many bytes are gzipped by the client transport. */
  readonly gzipThreshold?: number;
  /** Calls to `write` that may wait on a full spool at once; beyond it `write` throws InfluxSpoolFull. */
  readonly maxWaitingWrites?: number;
  /** Rejected-batch files kept; the oldest are deleted (and logged) beyond it. */
  readonly rejectedMaxFiles?: number;
};

export interface InfluxSinkStats {
  /** Bytes in the spool not yet acknowledged by the server. */
  readonly spooledBytes: number;
  readonly pendingPoints: number;
  readonly sentPoints: number;
  /** Failed attempts that will be (or were) retried. */
  readonly retries: number;
  readonly rejectedPoints: number;
  readonly rejectedBatches: number;
  /** Readings not encodable (non-finite value). */
  readonly invalidReadings: number;
  /** Spool bytes cut off as torn or corrupt. */
  readonly droppedBytes: number;
  readonly lastError: string | null;
  /** The last write request succeeded. */
  readonly connected: boolean;
}

/**
 * Streams readings to InfluxDB 2.x (or anything speaking `/api/v2/write`, such as
 * VictoriaMetrics) without losing any across outages or restarts.
 *
 * Every batch goes to the disk spool first; one sender loop reads it in order, POSTs up
 * to `batchSize` points and commits only after a 2xx. Retryable failures (no connection,
 * timeout, 429, 5xx) retry the same batch with capped exponential backoff and jitter for
 * as long as the process lives; the spool bound, not a retry count, limits the backlog.
 *
 * Why the client's `transport` rather than its `WriteApi`: the WriteApi re-batches and
 * keeps its own in-memory retry buffer, so a request's success cannot be tied to a spool
 * range — exactly what the commit needs. The transport does one HTTP request per call
 * and still gives us the client's auth header, gzip (`gzipThreshold`) and typed HttpError.
 */
export class InfluxSink {
  private readonly spool: Spool;
  private readonly transport: Transport;
  private readonly writePath: string;
  private readonly clock: SinkClock;
  private readonly random: () => number;
  private readonly rejectedDir: string;
  private readonly waiting: { body: string; points: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private readonly stop = new AbortController();
  private wake: { threshold: number; abort: AbortController } | undefined;
  /** A batch that failed retryably: sent again as is, not re-read (which could grow it). */
  private retrying: SpoolBatch | undefined;
  private loop: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private failures = 0;
  private lastFailureLog = Number.NEGATIVE_INFINITY;
  private counters = { sentPoints: 0, retries: 0, rejectedPoints: 0, rejectedBatches: 0, invalidReadings: 0 };
  private lastError: string | null = null;
  private connected = false;

  constructor(private readonly options: InfluxSinkOptions) {
    const dir = join(options.dataDir, 'influx-spool');
    this.rejectedDir = join(dir, 'rejected');
    // Segments of ~1/16 of the bound keep the sent-but-undeleted head small against it.
    const segmentMaxBytes = Math.min(64 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.spoolMaxBytes / 16)));
    this.spool = Spool.open(dir, { segmentMaxBytes });
    // The client's own retries stay off (WriteApi unused; maxRetries 0 for good measure): the spool retries.
    const client = new InfluxDB({ url: options.url, token: options.token, timeout: options.requestTimeoutMs, writeOptions: { maxRetries: 0 } });
    this.transport = client.transport;
    const q = new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ms' });
    this.writePath = `/api/v2/write?${q.toString()}`;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Starts the sender; what an earlier run left in the spool goes first, in order. */
  start(): void {
    if (this.loop !== undefined || this.closed) return;
    this.syncTimer = setInterval(() => {
      this.guard(() => { this.spool.sync(); });
    }, this.options.flushIntervalMs);
    this.syncTimer.unref();
    this.loop = this.run().catch((err: unknown) => {
      // A spool I/O failure stops the sender; readings stay on disk for the next start.
      this.lastError = errorText(err);
      this.options.logger?.error({ err }, 'influx sink stopped: spool failure');
      for (const w of this.waiting.splice(0)) w.reject(err);
    });
  }

  /**
   * Spools a batch. Returns a promise only when the spool is over `spoolMaxBytes`; it
   * resolves once the batch is on disk. Callers must await it before writing more.
   */
  write(batch: readonly Reading[]): void | Promise<void> {
    if (this.closing) throw new InfluxSinkClosed();
    const enc = encodeReadings(batch, this.options.tagsFor);
    this.counters.invalidReadings += enc.invalid;
    if (enc.points === 0) return;
    if (this.waiting.length === 0 && this.spool.stats().pendingBytes < this.options.spoolMaxBytes) {
      this.append(enc.body, enc.points);
      return;
    }
    if (this.waiting.length >= (this.options.maxWaitingWrites ?? 64)) throw new InfluxSpoolFull(this.options.spoolMaxBytes);
    return new Promise((resolve, reject) => this.waiting.push({ body: enc.body, points: enc.points, resolve, reject }));
  }

  stats(): InfluxSinkStats {
    const s = this.spool.stats();
    return { spooledBytes: s.pendingBytes, pendingPoints: s.pendingPoints, droppedBytes: s.droppedBytes, ...this.counters, lastError: this.lastError, connected: this.connected };
  }

  /**
   * Sends what it can within `timeoutMs`, then stops; the rest stays in the spool for the
   * next start. Writes waiting on a full spool are spooled (beyond the bound) first.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    for (const w of this.waiting.splice(0)) {
      this.append(w.body, w.points);
      w.resolve();
    }
    this.wake?.abort.abort();
    if (this.loop !== undefined) {
      const deadline = new AbortController();
      const timer = this.clock.sleep(timeoutMs, deadline.signal);
      await Promise.race([this.loop, timer]);
      deadline.abort();
      this.stop.abort();
      await this.loop;
    }
    clearInterval(this.syncTimer);
    this.closed = true;
    this.spool.close();
  }

  private async run(): Promise<void> {
    let lingered = false;
    while (!this.stop.signal.aborted) {
      const batch = this.retrying ?? this.spool.read(this.options.batchSize);
      this.retrying = undefined;
      if (batch === undefined) {
        if (this.closing) return;
        await this.waitForWork(1, this.options.flushIntervalMs);
        continue;
      }
      // A partial batch waits one flush interval for company, unless we are closing.
      if (batch.points < this.options.batchSize && !lingered && !this.closing && this.failures === 0) {
        lingered = true;
        await this.waitForWork(this.options.batchSize, this.options.flushIntervalMs);
        continue;
      }
      lingered = false;
      await this.deliver(batch);
    }
  }

  private async deliver(batch: SpoolBatch): Promise<void> {
    if (batch.corrupt || batch.points === 0) {
      if (batch.corrupt) this.options.logger?.error({ bytes: batch.bytes }, 'influx spool: skipped a corrupt range');
      this.commit(batch);
      return;
    }
    const outcome = await this.post(batch.body);
    if (outcome.ok) {
      this.commit(batch);
      this.counters.sentPoints += batch.points;
      if (!this.connected && this.failures > 0) this.options.logger?.info({ failures: this.failures }, 'influx write recovered');
      this.connected = true;
      this.failures = 0;
      return;
    }
    this.lastError = errorText(outcome.error);
    if (outcome.error instanceof HttpError && !retryable(outcome.error.statusCode)) {
      // The server answered: it is reachable, and this batch will never be accepted.
      this.connected = true;
      this.failures = 0;
      this.reject(batch, outcome.error);
      return;
    }
    this.retrying = batch;
    this.connected = false;
    this.counters.retries++;
    this.failures++;
    const delay = this.backoff(outcome.error);
    if (this.clock.now() - this.lastFailureLog >= 60_000) {
      this.lastFailureLog = this.clock.now();
      this.options.logger?.warn({ err: outcome.error, retries: this.counters.retries, pendingPoints: this.spool.stats().pendingPoints, delayMs: delay }, 'influx write failed, retrying');
    }
    await this.clock.sleep(delay, this.stop.signal);
  }

  private async post(body: string): Promise<{ ok: true } | { ok: false; error: unknown }> {
    const abort = new AbortController();
    const onStop = (): void => { abort.abort(); };
    this.stop.signal.addEventListener('abort', onStop);
    // The client's `timeout` is a socket idle timeout; this bounds the whole request.
    const timer = setTimeout(onStop, this.options.requestTimeoutMs);
    try {
      await this.transport.request(this.writePath, body, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        gzipThreshold: this.options.gzipThreshold ?? 64 * 1024,
        signal: abort.signal,
      });
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Capped exponential backoff with equal jitter; a server's Retry-After is honoured within the cap. */
  private backoff(error: unknown): number {
    const { retryMinMs, retryMaxMs } = this.options;
    const exp = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(this.failures - 1, 30));
    let delay = Math.max(retryMinMs, exp / 2 + (this.random() * exp) / 2);
    if (error instanceof HttpError && (error.statusCode === 429 || error.statusCode === 503)) delay = Math.max(delay, error.retryAfter());
    return Math.min(retryMaxMs, Math.round(delay));
  }

  /** Moves a batch the server refused for good to `rejected/` (replayable: `#` lines are comments). */
  private reject(batch: SpoolBatch, error: HttpError): void {
    makePrivateDir(this.rejectedDir);
    const file = join(this.rejectedDir, `${Date.now()}-${batch.end.segment}-${batch.end.offset}.lp`);
    const message = (error.body ?? error.message).replaceAll('\n', ' ');
    writeFileSync(file, `# status ${error.statusCode}\n# ${message}\n${batch.body}`, { flush: true, mode: PRIVATE_FILE_MODE });
    this.commit(batch);
    this.counters.rejectedPoints += batch.points;
    this.counters.rejectedBatches++;
    this.pruneRejected();
    const rejected = new InfluxWriteRejected(error.statusCode, message, batch.points, file);
    this.options.logger?.error({ err: rejected }, 'influx write rejected');
    this.options.onRejected?.(rejected);
  }

  private pruneRejected(): void {
    const files = readdirSync(this.rejectedDir).sort();
    const excess = files.length - (this.options.rejectedMaxFiles ?? 1_000);
    for (const f of files.slice(0, Math.max(0, excess))) {
      unlinkSync(join(this.rejectedDir, f));
      this.options.logger?.error({ file: f }, 'influx rejected/ is full: deleted the oldest rejected batch');
    }
  }

  private commit(batch: SpoolBatch): void {
    this.spool.commit(batch);
    while (this.waiting.length > 0 && this.spool.stats().pendingBytes < this.options.spoolMaxBytes) {
      const w = this.waiting.shift();
      if (w === undefined) break;
      this.append(w.body, w.points);
      w.resolve();
    }
  }

  /** Appends in records of at most `batchSize` lines, so a request never has to split a record. */
  private append(body: string, points: number): void {
    const size = this.options.batchSize;
    if (points <= size) {
      this.spool.append(body, points);
    } else {
      const lines = body.split('\n');
      for (let i = 0; i < points; i += size) {
        const part = lines.slice(i, Math.min(i + size, points));
        this.spool.append(`${part.join('\n')}\n`, part.length);
      }
    }
    const w = this.wake;
    if (w !== undefined && this.spool.stats().pendingPoints >= w.threshold) w.abort.abort();
  }

  private async waitForWork(threshold: number, ms: number): Promise<void> {
    const abort = new AbortController();
    const onStop = (): void => { abort.abort(); };
    this.stop.signal.addEventListener('abort', onStop);
    this.wake = { threshold, abort };
    try {
      await this.clock.sleep(ms, abort.signal);
    } finally {
      this.wake = undefined;
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.lastError = errorText(err);
      this.options.logger?.error({ err }, 'influx spool fsync failed');
    }
  }
}

/** 429 and 5xx are transient; any other 4xx means this batch will never be accepted as is. */
/**
 * Only a refusal of the data itself (400 bad line protocol, 413 too large, 422) sets a
 * batch aside. 401/403 (token) and 404 (org or bucket) are the station's configuration,
 * not the data's fault: the batch stays in the spool and is retried until an operator
 * fixes the setting, so a wrong token never diverts the whole stream into rejected/.
 */
function retryable(status: number): boolean {
  return status === 429 || status >= 500 || status < 400 || status === 401 || status === 403 || status === 404;
}

function errorText(err: unknown): string {
  if (err instanceof HttpError) return `HTTP ${err.statusCode}: ${err.body ?? err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
