/** Test helper: feed a detector a timed sequence of inputs and collect its events. */
import type { DetectorEvent, DetectorResult } from '../../../../src/rules/detectors/index.js';

/** 2026-11-26T02:00:00Z: explanations in these tests read as times of that night. */
export const T0 = Date.UTC(2026, 10, 26, 2, 0, 0);
export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;

export interface Driven<S> {
  readonly state: S;
  readonly events: DetectorEvent[];
}

/**
 * Runs `detect` over `[offsetMs, input]` pairs (offsets from T0), round-tripping the state
 * through JSON between steps as the engine's persistence would.
 */
export function drive<S, I>(
  detect: (state: S, input: I, now: number) => DetectorResult<S>,
  initial: S,
  seq: readonly (readonly [number, I])[],
): Driven<S> {
  let state = initial;
  const events: DetectorEvent[] = [];
  for (const [offset, input] of seq) {
    const r = detect(JSON.parse(JSON.stringify(state)) as S, input, T0 + offset);
    state = r.state;
    if (r.event) events.push(r.event);
  }
  return { state, events };
}

/** `[offset, value]` pairs every `stepMs` from `fromMs`, one per value. */
export function series<I>(fromMs: number, stepMs: number, values: readonly I[]): [number, I][] {
  return values.map((v, i) => [fromMs + i * stepMs, v]);
}

/** Event kinds with their offsets from T0 in minutes: `['raise@5', 'clear@12']`. */
export function timeline(events: readonly DetectorEvent[]): string[] {
  return events.map((e) => `${e.kind}@${(e.at - T0) / MIN}`);
}
