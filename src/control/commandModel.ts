/**
 * The command service's data: a command (what, to whom, on whose behalf) and one target per
 * meter with its lifecycle. Pure: no database, no device.
 *
 * Per-meter lifecycle:
 *   pending → sent → acknowledged → verified            (the state read back shows the command took)
 *                               ↘ failed                (read back differs, or the device refused)
 *   pending → refused                                   (a guard rail: protected meter, before any send)
 *   pending → cancelled                                 (cancelled before it was sent)
 *   sent    → timed-out | failed                        (no answer in time; the device's error)
 *   sent | acknowledged → failed (INTERRUPTED) → verified?   (restart; see CommandService.recover)
 */
import type { CreditTopUp, DeviceCommand, DeviceControlState } from '../../protocols/adapter.js';
import { currencyDigits, minorUnitsOf } from '../domain/currency.js';

export const COMMAND_TYPES = ['disconnect', 'reconnect', 'set-limit', 'clear-limit', 'sync-clock', 'read-account', 'add-credit'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Commands on a meter's own account: only terminals whose adapter offers payment metering take them. */
export const ACCOUNT_COMMANDS: ReadonlySet<CommandType> = new Set(['read-account', 'add-credit']);

/** A command on a meter's own account, as the route hands it to the terminal's session (its `payment` capability). */
export type AccountCommand =
  | { readonly type: 'read-account'; readonly address: string }
  | { readonly type: 'add-credit'; readonly address: string; readonly topUp: CreditTopUp };

/** What the dispatcher sends: a device control command, or a command on the meter's own account. */
export type StationCommand = DeviceCommand | AccountCommand;

/** The largest credit one add-credit may add, minor units: a meter's update_amount takes a double-long (Blue Book §4.6.3). */
export const MAX_CREDIT_MINOR = 0x7fffffff;

export const TARGET_STATUSES = ['pending', 'sent', 'acknowledged', 'verified', 'failed', 'timed-out', 'cancelled', 'refused'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** Statuses a target never leaves (except an INTERRUPTED failure that a re-verification read proves verified). */
export const FINAL_STATUSES: ReadonlySet<TargetStatus> = new Set(['verified', 'failed', 'timed-out', 'cancelled', 'refused']);

export interface CommandParams {
  /** set-limit: the active power limit, kW. */
  readonly limitKw?: number;
  /** sync-clock: the time to set, ms since the epoch; absent: the station's time when sent. */
  readonly time?: number;
  /** add-credit: the credit to add, an integer in minor units of `currency` (fen for CNY). */
  readonly amountMinor?: number;
  /** add-credit: ISO 4217 code; the meter's account must count in it. */
  readonly currency?: string;
  /** add-credit: the vending system's token (hex), for meters that take credit through a token gateway. */
  readonly token?: string;
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

/** Read-back limits within this of the request verify (a meter rounds to its own resolution). */
export const LIMIT_TOLERANCE = { relative: 0.01, absoluteKw: 0.001 } as const;

/** Read-back credit within this of the amount added verifies (consumption charged between the two reads). */
export const CREDIT_TOLERANCE = { relative: 0.01, absoluteMinor: 1 } as const;

/** The command for one target; `sentAt` fills sync-clock's default time. */
export function toDeviceCommand(type: CommandType, params: CommandParams, address: string, sentAt: number): StationCommand {
  switch (type) {
    case 'read-account':
      return { type, address };
    case 'add-credit': {
      const currency = (params.currency ?? '').toUpperCase();
      return {
        type, address,
        topUp: { address, units: params.amountMinor ?? Number.NaN, exponent: -(currencyDigits(currency) ?? 0), currency, ...(params.token === undefined ? {} : { token: params.token }) },
      };
    }
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

/** When a command went out and when its state was read back: the meter's clock moved on meanwhile. */
export interface SendTiming {
  readonly sentAt: number;
  readonly readAt: number;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether the state read back shows the command took effect; the reason when it does not.
 * Only sync-clock needs `timing` (its default time is the send time, and the clock ran on).
 */
export function verify(type: CommandType, params: CommandParams, state: DeviceControlState, timing?: SendTiming): Verification {
  switch (type) {
    case 'disconnect':
      return state.connected === false ? { ok: true } : { ok: false, reason: `relay reads ${relay(state.connected)} after disconnect` };
    case 'reconnect':
      return state.connected === true ? { ok: true } : { ok: false, reason: `relay reads ${relay(state.connected)} after reconnect (it may await a manual reconnect)` };
    case 'clear-limit':
      return state.limitKw === null ? { ok: true } : { ok: false, reason: `limit reads ${String(state.limitKw)} kW after clear-limit` };
    case 'set-limit': {
      const want = params.limitKw ?? Number.NaN;
      const got = state.limitKw;
      const tolerance = Math.max(LIMIT_TOLERANCE.absoluteKw, Math.abs(want) * LIMIT_TOLERANCE.relative);
      return typeof got === 'number' && Math.abs(got - want) <= tolerance
        ? { ok: true }
        : { ok: false, reason: `limit reads ${got === null ? 'none' : String(got)} kW, ${want} kW was set` };
    }
    case 'read-account':
      return state.account === undefined ? { ok: false, reason: 'the meter did not report its account' } : { ok: true };
    case 'add-credit':
      return verifyCredit(params, state);
    case 'sync-clock': {
      const set = params.time ?? timing?.sentAt;
      if (set === undefined) return { ok: false, reason: 'the time set is unknown' };
      if (state.clock === undefined) return { ok: false, reason: 'the meter did not report its clock' };
      const elapsed = timing === undefined ? 0 : timing.readAt - timing.sentAt;
      const off = Math.abs(state.clock - (set + elapsed));
      return off <= CLOCK_TOLERANCE_MS + elapsed ? { ok: true } : { ok: false, reason: `meter clock is ${Math.round(off / 1000)} s off after sync` };
    }
  }
}

/**
 * Whether the target's outcome is known for good: a final status, but not the INTERRUPTED mark a
 * takeover writes right after an orphaned send (the transition before it is that send's), which
 * the re-verification read of the relay or limit settles next. Sync-clock has no such read: its
 * mark is final.
 */
export function outcomeKnown(type: CommandType, t: Pick<CommandTarget, 'status' | 'transitions' | 'error'>): boolean {
  if (!FINAL_STATUSES.has(t.status)) return false;
  const markedInterrupted = t.status === 'failed' && t.error?.code === 'INTERRUPTED' && ['sent', 'acknowledged'].includes(t.transitions.at(-2)?.status ?? '');
  return !markedInterrupted || readBackOf(type) === undefined;
}

/** One command target's key in this node's maps (queued, awaited). */
export function targetKey(commandId: string, meterId: string): string {
  return `${commandId}/${meterId}`;
}

/** What a re-verification read looks at, for commands whose effect can be read back without acting. */
export function readBackOf(type: CommandType): 'relay' | 'limit' | undefined {
  if (type === 'disconnect' || type === 'reconnect') return 'relay';
  if (type === 'set-limit' || type === 'clear-limit') return 'limit';
  return undefined;
}

/** The available credit read back rose by the amount added (in minor units, within CREDIT_TOLERANCE). */
function verifyCredit(params: CommandParams, state: DeviceControlState): Verification {
  const want = params.amountMinor ?? Number.NaN;
  const before = state.availableCreditBefore;
  const after = state.account?.availableCredit;
  if (before === undefined || after === undefined) return { ok: false, reason: 'the meter did not report its available credit before and after' };
  const from = minorUnitsOf(before);
  const to = minorUnitsOf(after);
  if (from === undefined || to === undefined) return { ok: false, reason: `the meter's credit (${after.currency}, scale ${after.scale}) is not in whole minor units` };
  const rose = to - from;
  const tolerance = Math.max(CREDIT_TOLERANCE.absoluteMinor, Math.abs(want) * CREDIT_TOLERANCE.relative);
  return Math.abs(rose - want) <= tolerance
    ? { ok: true }
    : { ok: false, reason: `available credit rose by ${rose} minor units, ${want} were added` };
}

/** Parameter problems of a command, as `[path, message]`; empty when it can be sent. */
export function paramProblems(type: CommandType, params: CommandParams): [string, string][] {
  const problems: [string, string][] = [];
  if (type === 'add-credit') {
    const a = params.amountMinor;
    if (a === undefined || !Number.isSafeInteger(a) || a <= 0 || a > MAX_CREDIT_MINOR) {
      problems.push(['params.amountMinor', `add-credit needs an integer amountMinor from 1 to ${MAX_CREDIT_MINOR}`]);
    }
    if (params.currency === undefined || !/^[A-Za-z]{3}$/.test(params.currency) || currencyDigits(params.currency.toUpperCase()) === undefined) {
      problems.push(['params.currency', 'add-credit needs an ISO 4217 currency code']);
    }
  } else {
    for (const key of ['amountMinor', 'currency', 'token'] as const) if (params[key] !== undefined) problems.push([`params.${key}`, `${type} takes no ${key}`]);
  }
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

function relay(connected: boolean | undefined): string {
  if (connected === undefined) return 'nothing';
  return connected ? 'connected' : 'disconnected';
}
