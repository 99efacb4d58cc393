/**
 * On-demand reads (an operator's "read this meter now") and control commands: queued in the terminal's lane
 * ahead of scheduled cycles but behind the request in flight, withdrawn if the caller gives
 * up while still queued, aborted if it gives up while running.
 */
import type { DeviceCommand, DeviceControlState, ProfileOutcome, ProfileRequest, RawReading, ReadItem, TerminalSession } from '../../protocols/adapter.js';
import { abortReason, linkSignals, toError } from './clock.js';
import { errorCode } from './errors.js';
import type { LaneJob, LanePriority, PollResult, RequestPolicy, TerminalLane } from './terminalLane.js';

export interface OnDemandRequest {
  /** Default: every quantity of the terminal's profiles. */
  readonly quantities?: readonly string[];
  /** Meter addresses to read; default every meter of the terminal. */
  readonly addresses?: readonly string[];
  readonly signal?: AbortSignal;
  /** Per attempt; default the timeout of the terminal's first profile. */
  readonly timeoutMs?: number;
}

export interface OnDemandResult {
  readonly terminalId: string;
  readonly readings: readonly RawReading[];
  readonly failures: readonly { readonly item: ReadItem; readonly code: string; readonly message: string }[];
}

/**
 * Queues the read in `lane`; resolves with what it read (failed items included), rejects
 * with the abort reason when the caller, the terminal's removal or stop() ends it first.
 */
export function queueOnDemand(lane: TerminalLane, items: readonly ReadItem[], policy: RequestPolicy, caller: AbortSignal | undefined): Promise<PollResult> {
  return queueUrgent(lane, (signal) => lane.poll(items, policy, signal, true), caller);
}

/**
 * Queues one control command in `lane`, like an on-demand read (ahead of cycles, behind the
 * request in flight); settles with the state the device read back or the command's error.
 */
export function queueCommand(lane: TerminalLane, command: DeviceCommand, timeoutMs: number, caller: AbortSignal | undefined): Promise<DeviceControlState> {
  return queueUrgent(lane, (signal) => lane.execute(command, timeoutMs, signal), caller);
}

/** Queues `work` on the lane's session (TerminalLane.withSession), like a command. */
export function queueSessionWork<T>(
  lane: TerminalLane, what: string, timeoutMs: number, caller: AbortSignal | undefined, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return queueUrgent(lane, (signal) => lane.withSession(what, timeoutMs, signal, work), caller);
}

/**
 * Queues `work` on the lane's session behind every read and command, under a non-urgent
 * permit: one slice of long background work (a firmware transfer), which the caller keeps
 * short so that what queues behind it waits at most one slice.
 */
export function queueBackgroundWork<T>(
  lane: TerminalLane, what: string, timeoutMs: number, caller: AbortSignal | undefined, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return queueJob(lane, 'background', (signal) => lane.withSession(what, timeoutMs, signal, work, false), caller);
}

/** Queues a stored-profile read of one meter in `lane`, like an on-demand read; entries also go to the sink. */
export function queueProfile(lane: TerminalLane, request: ProfileRequest, policy: RequestPolicy, caller: AbortSignal | undefined): Promise<ProfileOutcome> {
  return queueUrgent(lane, (signal) => lane.readProfile(request, policy, signal), caller);
}

function queueUrgent<T>(lane: TerminalLane, work: (signal: AbortSignal) => Promise<T>, caller: AbortSignal | undefined): Promise<T> {
  return queueJob(lane, 'urgent', work, caller);
}

/** Runs `work` as a lane job: withdrawn if the caller gives up while queued, aborted if while running. */
function queueJob<T>(lane: TerminalLane, priority: LanePriority, work: (signal: AbortSignal) => Promise<T>, caller: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (caller?.aborted === true) {
      reject(abortReason(caller));
      return;
    }
    const onCallerAbort = (): void => {
      if (caller !== undefined && lane.withdraw(job)) reject(abortReason(caller));
    };
    const job: LaneJob = {
      run: async (laneSignal) => {
        const link = linkSignals([laneSignal, caller]);
        try {
          const result = await work(link.signal);
          if (link.signal.aborted) reject(abortReason(link.signal));
          else resolve(result);
        } catch (err) {
          reject(link.signal.aborted ? abortReason(link.signal) : toError(err));
        } finally {
          link.dispose();
          caller?.removeEventListener('abort', onCallerAbort);
        }
      },
      cancel: (reason) => {
        caller?.removeEventListener('abort', onCallerAbort);
        reject(reason);
      },
    };
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    lane.enqueue(job, priority);
  });
}

export function toOnDemandResult(terminalId: string, result: PollResult): OnDemandResult {
  return {
    terminalId,
    readings: result.readings,
    failures: result.failures.map((f) => ({ item: f.item, code: errorCode(f.error), message: f.error.message })),
  };
}
