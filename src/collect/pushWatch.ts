/**
 * Health of terminals that push (MQTT): nothing is polled, so a terminal is online while
 * it speaks — any telemetry or an "online" status message — and offline after
 * `silenceMs` without a word, or at once on an "offline" status (its last will).
 * A terminal never heard from is given `silenceMs` from when it was added.
 */
import type { Terminal } from '../domain/topology.js';
import type { Clock, Timer } from './clock.js';
import { TerminalHealth, type StateChange, type TerminalState } from './terminalHealth.js';

export interface PushWatchDeps {
  readonly clock: Clock;
  readonly silenceMs: number;
  readonly emit: (change: StateChange | undefined) => void;
  readonly record: (terminalId: string, ts: number, count: number) => void;
}

interface Watched {
  terminal: Terminal;
  readonly health: TerminalHealth;
  lastHeard: number;
}

export class PushWatch {
  readonly #watched = new Map<string, Watched>();
  readonly #deps: PushWatchDeps;
  #timer: Timer | undefined;

  constructor(deps: PushWatchDeps) {
    this.#deps = deps;
  }

  has(terminalId: string): boolean {
    return this.#watched.has(terminalId);
  }

  ids(): IterableIterator<string> {
    return this.#watched.keys();
  }

  sync(terminal: Terminal): void {
    const w = this.#watched.get(terminal.id);
    if (w !== undefined) w.terminal = terminal;
    else this.#watched.set(terminal.id, { terminal, health: new TerminalHealth(terminal.id), lastHeard: this.#deps.clock.now() });
  }

  remove(terminalId: string): void {
    this.#watched.delete(terminalId);
  }

  /** `count` readings arrived at `ts` (station receive time). */
  notePush(terminalId: string, count: number, ts: number): boolean {
    const w = this.#watched.get(terminalId);
    if (w === undefined) return false;
    w.lastHeard = Math.max(w.lastHeard, ts);
    this.#deps.record(terminalId, ts, count);
    this.#deps.emit(w.health.succeeded(ts, 'telemetry received'));
    return true;
  }

  noteStatus(terminalId: string, online: boolean, ts: number): boolean {
    const w = this.#watched.get(terminalId);
    if (w === undefined) return false;
    if (online) w.lastHeard = Math.max(w.lastHeard, ts);
    this.#deps.emit(w.health.set(online, online ? 'status: online' : 'status: offline (last will or goodbye)', ts));
    return true;
  }

  /** Marks silent terminals offline; runs every quarter of the silence span (at least every second). */
  check(): void {
    const now = this.#deps.clock.now();
    for (const w of this.#watched.values()) {
      if (w.health.status !== 'offline' && now - w.lastHeard >= this.#deps.silenceMs) {
        this.#deps.emit(w.health.set(false, `silent for ${Math.round((now - w.lastHeard) / 1000)} s`, now));
      }
    }
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const every = Math.max(1_000, Math.floor(this.#deps.silenceMs / 4));
    const tick = (): void => {
      this.check();
      this.#timer = this.#deps.clock.setTimeout(tick, every);
    };
    this.#timer = this.#deps.clock.setTimeout(tick, every);
  }

  stop(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  state(terminalId: string): TerminalState | undefined {
    return this.#watched.get(terminalId)?.health.snapshot();
  }

  states(): TerminalState[] {
    return [...this.#watched.values()].map((w) => w.health.snapshot());
  }
}
