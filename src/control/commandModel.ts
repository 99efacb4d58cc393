/**
 * The command service's data: a command (what, to whom, on whose behalf) and one target per
 * meter with its lifecycle. Pure: no database, no device.
 *
 * Per-meter lifecycle (issue 6):
 *   pending → sent → acknowledged → verified            (the state read back shows the command took)
 *                               ↘ failed                (read back differs, or the device refused)
 *   pending → refused                                   (a guard rail: protected meter, before any send)
 *   pending → cancelled                                 (cancelled before it was sent)
 *   sent    → timed-out | failed                        (no answer in time; the device's error)
 *   sent | acknowledged → failed (INTERRUPTED) → verified?   (restart; see CommandService.recover)
 */
import type { DeviceCommand, DeviceControlState } from '../../protocols/adapter.js';
import { verify, type ControlCommand } from './port.js';

export const COMMAND_TYPES = ['disconnect', 'reconnect', 'set-limit', 'clear-limit', 'sync-clock'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export const TARGET_STATUSES = ['pending', 'sent', 'acknowledged', 'verified', 'failed', 'timed-out', 'cancelled', 'refused'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** Statuses a target never leaves (except an INTERRUPTED failure that a re-verification read proves verified). */
export const FINAL_STATUSES: ReadonlySet<TargetStatus> = new Set(['verified', 'failed', 'timed-out', 'cancelled', 'refused']);

export interface CommandParams {
  /** set-limit: the active power limit, kW. */
  readonly limitKw?: number;
  /** sync-clock: the time to set, ms since the epoch; absent: the station's time when sent. */
  readonly time?: number;
}

export type CommandScope = { readonly meterIds: readonly string[] } | { readonly areaId: string };

export type CommandOrigin =
  | { readonly kind: 'operator'; readonly actor: string }
  | { readonly kind: 'program'; readonly id: string; readonly round: number };

export interface Transition {
  readonly status: TargetStatus;
  readonly at: number;
}

export interface TargetError {
  readonly code: string;
  readonly message: string;
}

export interface CommandTarget {
  readonly meterId: string;
  readonly terminalId: string;
  readonly address: string;
  readonly status: TargetStatus;
  readonly transitions: readonly Transition[];
  readonly state: DeviceControlState | null;
  readonly error: TargetError | null;
  readonly updatedAt: number;
}

export interface Command {
  readonly id: string;
  readonly type: CommandType;
  readonly params: CommandParams;
  readonly scope: CommandScope;
  readonly reason: string | null;
  readonly overrideReason: string | null;
  readonly origin: CommandOrigin;
  readonly source: string | null;
  readonly createdAt: number;
  readonly targets: readonly CommandTarget[];
}

/** A command's overall status: open while a target is pending or in flight, else the worst outcome. */
export type CommandStatus = 'open' | 'verified' | 'partial' | 'failed' | 'cancelled';

export function commandStatus(targets: readonly Pick<CommandTarget, 'status'>[]): CommandStatus {
  if (targets.some((t) => !FINAL_STATUSES.has(t.status))) return 'open';
  const verified = targets.filter((t) => t.status === 'verified').length;
  if (targets.length > 0 && verified === targets.length) return 'verified';
  if (targets.length > 0 && targets.every((t) => t.status === 'cancelled')) return 'cancelled';
  return verified > 0 ? 'partial' : 'failed';
}

/** How far a meter clock may be from the time set (plus the time spent since) and still verify. */
export const CLOCK_TOLERANCE_MS = 5_000;

/** The device command for one target; `sentAt` fills sync-clock's default time. */
export function toDeviceCommand(type: CommandType, params: CommandParams, address: string, sentAt: number): DeviceCommand {
  switch (type) {
    case 'set-limit':
      return { type, address, limitKw: params.limitKw ?? Number.NaN };
    case 'sync-clock':
      return { type, address, time: params.time ?? sentAt };
    case 'disconnect':
    case 'reconnect':
    case 'clear-limit':
      return { type, address };
  }
}

/**
 * Whether the state read back shows the command took effect. `sentAt`/`now` bound the
 * clock check: the meter's clock moved on by the time it was read back.
 */
export function verifyCommand(type: CommandType, params: CommandParams, state: DeviceControlState, sentAt: number, now: number): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  if (type === 'sync-clock') {
    const wanted = (params.time ?? sentAt) + (now - sentAt);
    if (state.clock === undefined) return { ok: false, reason: 'the meter did not report its clock' };
    const off = Math.abs(state.clock - wanted);
    return off <= CLOCK_TOLERANCE_MS + (now - sentAt) ? { ok: true } : { ok: false, reason: `meter clock is ${Math.round(off / 1000)} s off after sync` };
  }
  const command: ControlCommand = type;
  return verify({ meterId: '', command, ...(params.limitKw === undefined ? {} : { limitKw: params.limitKw }), origin: { kind: 'operator', actor: '' }, reason: '' }, state);
}

/** What a re-verification read looks at, for commands whose effect can be read back without acting. */
export function readBackOf(type: CommandType): 'relay' | 'limit' | undefined {
  if (type === 'disconnect' || type === 'reconnect') return 'relay';
  if (type === 'set-limit' || type === 'clear-limit') return 'limit';
  return undefined;
}

/** Parameter problems of a command, as `[path, message]`; empty when it can be sent. */
export function paramProblems(type: CommandType, params: CommandParams): [string, string][] {
  const problems: [string, string][] = [];
  if (type === 'set-limit') {
    const kw = params.limitKw;
    if (kw === undefined || !Number.isFinite(kw) || kw < 0) problems.push(['params.limitKw', 'set-limit needs a finite limitKw ≥ 0']);
  } else if (params.limitKw !== undefined) {
    problems.push(['params.limitKw', `${type} takes no limitKw`]);
  }
  if (params.time !== undefined && type !== 'sync-clock') problems.push(['params.time', `${type} takes no time`]);
  if (params.time !== undefined && !Number.isFinite(params.time)) problems.push(['params.time', 'time must be a valid date-time']);
  return problems;
}
