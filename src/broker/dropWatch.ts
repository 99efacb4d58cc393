/**
 * Judges the MQTT broker's dropped-message counter (Mosquitto publishes it as
 * `$SYS/broker/publish/messages/dropped`, cumulative since the broker started): any growth
 * means the broker threw away QoS 1 messages whose publishers it had already acknowledged,
 * so their readings are lost. Pure: observations and the clock come in, alarm signals go out.
 *
 * - Growth raises (and, while open, updates) one major alarm on the station's broker, with
 *   how many messages were dropped over which interval.
 * - A value lower than the last one is a broker restart: the counter started again from 0,
 *   so the whole new value is growth (a restart after which the broker dropped more than it
 *   had before reads as the difference only: still growth, still raised).
 * - The alarm clears once the counter has not grown for `clearAfterMs`.
 *
 * The interval: Mosquitto publishes its $SYS values in one pass every `sys_interval`, a
 * changed counter with them. When a pass's heartbeat (`$SYS/broker/uptime`) arrives, every
 * change of the pass before it has arrived too, so the counter held its value at least until
 * that earlier pass; growth seen later happened after it. Across a disconnection the interval
 * therefore spans the time the station was away, which is when a broker drops.
 */
import type { AlarmSignal } from '../domain/index.js';
import { explained } from '../rules/detectors/condition.js';
import { clause, duration, instant, say, value, type ExplanationPart } from '../rules/explanation.js';

export const BROKER_DROPS_RULE_ID = 'mqtt-broker-dropped-messages';
export const BROKER_DROPS_DETECTOR = 'broker-dropped-messages';
export const BROKER_SUBJECT = { kind: 'station', id: 'mqtt-broker' } as const;

/** The counter as last known, kept across station restarts so drops while it was down are noticed. */
export interface DropCounterMark {
  readonly value: number;
  /** The broker's counter held `value` at least until then (ms since the epoch). */
  readonly confirmedAt: number;
}

/** An alarm still open from before a station restart: its episode continues. */
export interface OpenDropEpisode {
  readonly since: number;
  readonly dropped: number;
}

export interface BrokerDropWatchOptions {
  /** The alarm clears once the counter has not grown for this long. */
  readonly clearAfterMs: number;
  /** Where the counter stood when the station last saw it; undefined on a first start. */
  readonly mark?: DropCounterMark;
  readonly open?: OpenDropEpisode;
  /** When the watch starts (an open episode's quiet period counts from here). */
  readonly now: number;
}

/** Messages the broker held in its store when last published (`$SYS/broker/store/messages/count`), for the explanation. */
export interface DropContext {
  readonly storedMessages?: number;
  /**
   * A retained copy, sent because the station just subscribed (MQTT 3.1.1 §3.3.1.3): it
   * tells the value at the broker's last pass, which may be a whole `sys_interval` old.
   */
  readonly retained?: boolean;
}

interface Episode {
  since: number;
  dropped: number;
  lastGrowthAt: number;
  resets: number;
}

export class BrokerDropWatch {
  private value: number | undefined;
  private confirmedAt: number | undefined;
  /** The last heartbeat's arrival: confirms the counter once the next heartbeat comes. */
  private lastHeartbeatAt: number | undefined;
  /** The counter was published on this connection: until then heartbeats confirm nothing (the value is from before). */
  private seenOnThisConnection = false;
  private episode: Episode | undefined;
  private totals = { dropped: 0, resets: 0 };

  constructor(private readonly options: BrokerDropWatchOptions) {
    this.value = options.mark?.value;
    this.confirmedAt = options.mark?.confirmedAt;
    if (options.open !== undefined) {
      this.episode = { since: options.open.since, dropped: options.open.dropped, lastGrowthAt: options.now, resets: 0 };
    }
  }

  /**
   * One $SYS pass seen (its heartbeat topic): the counter as known held until the previous
   * pass, provided the counter was published on this connection (a value kept from before a
   * restart or a disconnection says nothing about the time since).
   */
  heartbeat(at: number): void {
    if (this.seenOnThisConnection && this.lastHeartbeatAt !== undefined) this.confirmedAt = Math.max(this.confirmedAt ?? 0, this.lastHeartbeatAt);
    this.lastHeartbeatAt = at;
  }

  /** The connection to the broker ended: heartbeats after it say nothing about the time between. */
  disconnected(): void {
    this.lastHeartbeatAt = undefined;
    this.seenOnThisConnection = false;
  }

  /** The counter's value as published; returns the raise (or update) when it grew. */
  dropped(value: number, at: number, context: DropContext = {}): AlarmSignal | undefined {
    const previous = this.value;
    const from = this.confirmedAt ?? at;
    this.value = value;
    // An old copy proves nothing about now: the value held at least until `confirmedAt` as before.
    if (context.retained !== true || this.confirmedAt === undefined) this.confirmedAt = at;
    this.seenOnThisConnection = true;
    if (previous === undefined) return undefined; // the first look: a baseline, not growth
    const reset = value < previous;
    const growth = reset ? value : value - previous;
    if (reset) this.totals.resets += 1;
    if (growth === 0) return undefined;
    this.totals.dropped += growth;
    const e = this.episode ?? { since: from, dropped: 0, lastGrowthAt: at, resets: 0 };
    e.dropped += growth;
    e.lastGrowthAt = at;
    if (reset) e.resets += 1;
    this.episode = e;
    return this.signal('raise', at, e, this.raiseText(e, growth, from, at, context));
  }

  /** Returns the clear once the counter has been quiet for `clearAfterMs`. */
  tick(now: number): AlarmSignal | undefined {
    const e = this.episode;
    if (e === undefined || now - e.lastGrowthAt < this.options.clearAfterMs) return undefined;
    this.episode = undefined;
    return this.signal('clear', now, e, say('broker-drops.clear')`the MQTT broker dropped no further messages for ${duration(now - e.lastGrowthAt)} (last drop seen ${instant(e.lastGrowthAt)}); ${count(e.dropped)} messages were lost in all since ${instant(e.since)}`);
  }

  /** What to persist: the counter and until when it held, undefined before the first value. */
  mark(): DropCounterMark | undefined {
    return this.value === undefined || this.confirmedAt === undefined ? undefined : { value: this.value, confirmedAt: this.confirmedAt };
  }

  state(): { readonly counter: number | undefined; readonly droppedSeen: number; readonly resets: number; readonly alarmOpen: boolean } {
    return { counter: this.value, droppedSeen: this.totals.dropped, resets: this.totals.resets, alarmOpen: this.episode !== undefined };
  }

  private raiseText(e: Episode, growth: number, from: number, at: number, context: DropContext): ExplanationPart {
    const earlier = clause(e.dropped > growth ? say('broker-drops.episode-total')` (${count(e.dropped)} since ${instant(e.since)})` : say('empty')``);
    const restarted = clause(e.resets > 0 ? say('broker-drops.restarted')`; the broker restarted meanwhile, so its counter began again from 0` : say('empty')``);
    const stored = clause(context.storedMessages === undefined ? say('empty')`` : say('broker-drops.stored')`; the broker holds ${count(context.storedMessages)} messages in its store now`);
    return say('broker-drops.raise')`the MQTT broker dropped ${count(growth)} QoS 1 messages between ${instant(from)} and ${instant(at)} (${duration(at - from)})${earlier}: the terminals that sent them were told they were delivered (PUBACK), so their readings are lost${restarted}. The station fell behind or was disconnected and its queue in the broker filled up: raise max_queued_messages in the broker configuration (config/mosquitto.conf), and check the station's broker connection and ingest${stored}`;
  }

  /** Instants in the explanation are written relative to `at`, the moment it was decided. */
  private signal(kind: 'raise' | 'clear', at: number, e: Episode, explanation: ExplanationPart): AlarmSignal {
    return {
      ruleId: BROKER_DROPS_RULE_ID, detector: BROKER_DROPS_DETECTOR, subject: BROKER_SUBJECT, kind, severity: 'major',
      at, since: e.since, ...explained(at, [explanation]), value: e.dropped, areaId: null,
    };
  }
}

const count = (n: number) => value(n, 0, '');
