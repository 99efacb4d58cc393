/**
 * One cycle of stored-profile collection for a terminal: for every meter, the entries
 * captured since the newest one collected (or `backfillHours` back the first time); the
 * cursor moves to the newest entry delivered. A failed read leaves the cursor where it was,
 * so the next cycle catches up without a gap.
 */
import type { ProfileKind } from '../../protocols/adapter.js';
import type { CollectProfileConfig } from '../config/schema.js';
import type { Meter } from '../domain/topology.js';
import { toError, type Clock } from './clock.js';
import type { ProfileCursorStore } from './profileCursors.js';
import type { CollectCounters } from './counters.js';
import type { CollectionStats } from './stats.js';
import type { StateChange } from './terminalHealth.js';
import type { TerminalLane } from './terminalLane.js';

export interface StoredProfileDeps {
  readonly clock: Clock;
  readonly cursors: ProfileCursorStore;
  readonly counters: CollectCounters;
  readonly stats: CollectionStats;
  readonly offlineAfterFailures: number;
  readonly emit: (change: StateChange | undefined) => void;
}

export async function runStoredProfileCycle(
  lane: TerminalLane, kind: ProfileKind, policy: CollectProfileConfig, meters: readonly Meter[], cycleStart: number,
  signal: AbortSignal, deps: StoredProfileDeps,
): Promise<void> {
  const { clock, cursors, counters } = deps;
  counters.cycles++;
  lane.health.attempted(clock.now());
  const read = new Set<Meter>();
  let lastError: Error | undefined;
  for (const m of meters) {
    // A lane handed over to another node finishes the read on the wire, not the cycle.
    if (signal.aborted || lane.retired) return;
    const now = clock.now();
    let cursor: number | undefined;
    try {
      cursor = await cursors.get(m.id, kind);
    } catch (err) {
      // Without its cursor the read could skip entries or re-read days: leave the meter to the next cycle.
      counters.itemsFailed++;
      lastError = toError(err);
      continue;
    }
    const from = cursor === undefined ? now - policy.backfillHours * 3_600_000 : cursor + 1;
    const outcome = await lane.readProfile({ address: m.address, profile: kind, from, to: now }, policy, signal);
    if (outcome.ok) {
      read.add(m);
      counters.itemsCollected += outcome.readings.length;
      // The sink has accepted the entries (readProfile resolves after it): only now may the cursor move.
      // If storing it fails the next cycle reads them again, which the reading store overwrites.
      try {
        if (outcome.lastCaptureTs !== undefined) await cursors.set(m.id, kind, outcome.lastCaptureTs);
      } catch (err) {
        lastError = toError(err);
      }
    } else {
      counters.itemsFailed++;
      lastError = outcome.error;
    }
  }
  // Ended by stop(), the terminal's removal or its handover: neither counted nor held against the terminal.
  if (signal.aborted || lane.retired) return;
  deps.stats.record(lane.terminal.id, cycleStart, meters.length, read.size);
  deps.stats.recordMeters(meters, cycleStart, (m) => read.has(m));
  const now = clock.now();
  if (read.size > 0) {
    if (lastError !== undefined) lane.health.noteError(lastError, now);
    deps.emit(lane.health.succeeded(now, `${kind} profile read`));
  } else {
    counters.cyclesFailed++;
    deps.emit(lane.health.cycleFailed(now, lastError ?? new Error('nothing collected'), deps.offlineAfterFailures));
  }
}
