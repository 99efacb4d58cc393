/** Errors, clock and logger shapes of the InfluxDB sink. */

/** The server refused a batch for good (a 4xx other than 429); it was moved to `file`. */
export class InfluxWriteRejected extends Error {
  readonly code = 'INFLUX_WRITE_REJECTED';
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly points: number,
    readonly file: string,
  ) {
    super(`InfluxDB rejected ${points} points with HTTP ${status}: ${serverMessage} (kept in ${file})`);
    this.name = 'InfluxWriteRejected';
  }
}

/** `write` was called while earlier writes were still waiting for room in a full spool. */
export class InfluxSpoolFull extends Error {
  readonly code = 'INFLUX_SPOOL_FULL';
  constructor(readonly spoolMaxBytes: number) {
    super(`InfluxDB spool is over ${spoolMaxBytes} bytes and too many writes are waiting; await write() before writing more`);
    this.name = 'InfluxSpoolFull';
  }
}

export class InfluxSinkClosed extends Error {
  readonly code = 'INFLUX_SINK_CLOSED';
  constructor() {
    super('InfluxDB sink is closed');
    this.name = 'InfluxSinkClosed';
  }
}

/** Time as the sink sees it; tests inject one to observe or skip backoff delays. */
export interface SinkClock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: SinkClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    }),
};

/** The subset of a pino logger the sink uses. */
export interface SinkLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
