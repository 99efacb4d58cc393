import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'gridhead' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * Lets one line through per key per interval, counting what it held back, so that a broken
 * meter is one line a minute in the log and not one per message.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    /** Keys remembered at most; the oldest are forgotten first. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Returns the number of suppressed events since the last pass, or -1 to stay quiet. */
  pass(key: string): number {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry !== undefined && t - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return -1;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: t, suppressed: 0 });
    if (this.last.size > this.maxKeys) {
      const oldest = this.last.keys().next();
      if (oldest.done !== true) this.last.delete(oldest.value);
    }
    return suppressed;
  }
}
