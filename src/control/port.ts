/**
 * The control port: the one narrow way a load-control program acts on a meter. The command
 * service implements it with its full lifecycle (commands.ts); programs never see a session
 * or an adapter.
 *
 * Guard rail owned by every implementation: a protected meter (保电) refuses disconnect and
 * set-limit from a program (status 'refused'). Reconnect and clear-limit are never refused:
 * undoing a trip must always be possible.
 */
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { CommandOrigin, CommandType, TargetError } from './commandModel.js';

export type { DeviceControlState };

/**
 * What a program may ask of one meter: the command model's types less those only operators send.
 * read-account acts on nothing: fee control reads meters that keep their own account with it.
 */
export type ControlCommand = Exclude<CommandType, 'sync-clock' | 'add-credit'>;

export type ControlOrigin = CommandOrigin;

export interface ControlRequest {
  readonly meterId: string;
  readonly command: ControlCommand;
  /** Required for set-limit: the active power limit, kW. */
  readonly limitKw?: number;
  readonly origin: ControlOrigin;
  /** Why, in words an operator reads in the action log. */
  readonly reason: string;
  /**
   * Makes the request idempotent for its origin: a request with a key that already made a
   * command (on this node or another, before a restart or a takeover) creates no second one and
   * answers with that command's outcome, awaited. A program derives it from its stored state, so
   * a round resumed elsewhere asks with the same keys.
   */
  readonly idempotencyKey?: string;
}

export type ControlError = TargetError;

export interface ControlResult {
  /** verified: the device's read-back state matches the command; refused: a guard rail stopped it before the device. */
  readonly status: 'verified' | 'failed' | 'refused';
  /** The command the request made or found under its key, for tracing to the command log and audit; absent when none was made. */
  readonly commandId?: string;
  readonly state?: DeviceControlState;
  readonly error?: ControlError;
}

export interface ControlPort {
  /**
   * Never rejects: every outcome, including a refusal or a timeout, is a ControlResult. The
   * outcome is awaited wherever the command executes (the node its terminal is placed on), for a
   * bounded time when that is another node: past it, the result is failed (REMOTE_WAIT_TIMEOUT)
   * and the command finishes on its own.
   */
  execute(request: ControlRequest, signal?: AbortSignal): Promise<ControlResult>;
}

/** Commands a program may not send to a protected meter. */
export const TRIPPING_COMMANDS: ReadonlySet<ControlCommand> = new Set(['disconnect', 'set-limit']);
