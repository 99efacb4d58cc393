/**
 * The station's own reading path stalled: while a sink ahead of the rules (the store; on
 * PostgreSQL, the database) fails and the pipeline retries the same batch, the rules hear
 * nothing. Judged from the absence of readings, communication loss would then raise every
 * meter, and abnormal-area every area counting it: the station blaming the devices for its
 * own stall. This watch says what is true instead, in one alarm on the station, and tells
 * the silence-based judgements when silence is evidence again. Pure: the stall as the
 * pipeline reports it and the engine's clock come in, alarm signals go out.
 *
 * The rule, and why:
 * - While the path is stalled, silence proves nothing about a device: no meter is raised for
 *   communication loss, and an abnormal-area rule counting communication loss is not judged
 *   (neither raised, updated nor cleared).
 * - A stall that began at S and ended at E suspends that judgement until E + (E − S). The
 *   readings the pipeline held are written first, and those it could not take meanwhile
 *   wait upstream (MQTT messages the broker keeps unacknowledged, polls retried): they
 *   arrive over about as long again. A meter still silent after that grace is raised, with
 *   the silence it really has. Overlapping stalls extend the suspension, never shorten it.
 * - Alarms open before the stall stay as they were: no data came, so a meter in
 *   communication loss is neither cleared nor raised anew by the stall.
 * - An alarm an earlier run left open (the station stopped mid-stall) clears on the first
 *   look that finds the path flowing, without a grace: the new run watches silence from its
 *   own start.
 */
import type { AlarmSignal } from '../domain/index.js';
import type { PipelineStall } from '../ingest/pipeline.js';
import { explained } from './detectors/condition.js';
import { duration, instant, say, term, value, type ExplanationPart } from './explanation.js';

export const READING_PATH_RULE_ID = 'station-reading-path-stalled';
export const READING_PATH_DETECTOR = 'reading-path-stalled';
export const READING_PATH_SUBJECT = { kind: 'station', id: 'reading-path' } as const;

/**
 * An open alarm is brought up to date (waiting readings, error code) at most this often: the
 * figures change every second, and each update is a write to an alarm store that may be the
 * very database that is failing.
 */
export const STALL_UPDATE_MS = 60_000;

interface Episode {
  readonly since: number;
  /** The alarm was raised by this run (an episode from an earlier run gets no grace). */
  readonly seen: boolean;
  updatedAt: number;
  errorCode: string;
  held: number;
}

export class ReadingPathStallWatch {
  private episode: Episode | undefined;
  /** Silence is judged again from this instant (engine clock). */
  private silenceFrom = Number.NEGATIVE_INFINITY;

  /** `openSince`: when the alarm an earlier run left open was raised. */
  constructor(openSince?: number) {
    if (openSince !== undefined) this.episode = { since: openSince, seen: false, updatedAt: openSince, errorCode: '', held: 0 };
  }

  /** Whether silence is evidence at `now`: the path flows and the grace after the last stall is over. */
  judgesSilence(now: number): boolean {
    return this.episode?.seen !== true && now >= this.silenceFrom;
  }

  /** The path as the pipeline reports it now: a raise when it stalls, an update now and then, a clear when it flows. */
  observe(stall: PipelineStall | undefined, now: number): AlarmSignal | undefined {
    const e = this.episode;
    if (stall === undefined) {
      if (e === undefined) return undefined;
      this.episode = undefined;
      if (!e.seen) return this.signal('clear', now, e, say('reading-path.cleared-at-start')`the reading path flows: the store writes readings again (this alarm was left open by an earlier run of the station)`);
      this.silenceFrom = Math.max(this.silenceFrom, now + (now - e.since));
      return this.signal('clear', now, e, say('reading-path.clear')`the store writes readings again after ${duration(now - e.since)} (stalled since ${instant(e.since)}); the readings held are being written, and meters are judged for communication loss again from ${instant(this.silenceFrom)}, after a grace as long as the stall`);
    }
    if (e?.seen !== true) {
      // Never later than the first look: the pipeline's clock may run ahead of the engine's.
      const since = Math.min(stall.since, now);
      const next: Episode = { since, seen: true, updatedAt: now, errorCode: stall.errorCode, held: stall.held };
      this.episode = next;
      return this.signal('raise', now, next, this.raiseText(stall, next, now));
    }
    const changed = stall.errorCode !== e.errorCode || stall.held !== e.held;
    if (!changed || now - e.updatedAt < STALL_UPDATE_MS) return undefined;
    e.updatedAt = now;
    e.errorCode = stall.errorCode;
    e.held = stall.held;
    return this.signal('raise', now, e, this.raiseText(stall, e, now));
  }

  private raiseText(stall: PipelineStall, e: Episode, now: number): ExplanationPart {
    return say('reading-path.raise')`the station's reading path is stalled: the ${term(stall.sink)} has failed to write readings since ${instant(e.since)} (${duration(now - e.since)}; ${value(stall.attempts, 0, '')} attempts, last error ${stall.errorCode}), so ${value(stall.held, 0, '')} readings are held in the ingest pipeline and written once it recovers. Live values, rules and OPC UA see nothing new meanwhile. The devices are not blamed for the silence: communication loss and abnormal areas are not judged while the path is stalled, nor for as long again after it recovers`;
  }

  private signal(kind: 'raise' | 'clear', at: number, e: Episode, explanation: ExplanationPart): AlarmSignal {
    return {
      ruleId: READING_PATH_RULE_ID, detector: READING_PATH_DETECTOR, subject: READING_PATH_SUBJECT, kind, severity: 'major',
      at, since: e.since, ...explained(at, [explanation]), value: e.held, areaId: null,
    };
  }
}
