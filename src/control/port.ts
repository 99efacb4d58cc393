/**
 * The control port: the one narrow way a load-control program (or, until the command service
 * of issue 6 lands, anything else) acts on a meter. The command service will implement the
 * same interface with its full lifecycle; programs never see a session or an adapter.
 *
 * Guard rail owned by every implementation: a protected meter (保电) refuses disconnect and
 * set-limit from a program (status 'refused'). Reconnect and clear-limit are never refused:
 * undoing a trip must always be possible.
 */
import type { DeviceControlState } from '../../protocols/adapter.js';

export type { DeviceControlState };

export type ControlCommand = 'disconnect' | 'reconnect' | 'set-limit' | 'clear-limit';

export type ControlOrigin =
  | { readonly kind: 'program'; readonly id: string; readonly round: number }
  | { readonly kind: 'operator'; readonly actor: string };

export interface ControlRequest {
  readonly meterId: string;
  readonly command: ControlCommand;
  /** Required for set-limit: the active power limit, kW. */
  readonly limitKw?: number;
  readonly origin: ControlOrigin;
  /** Why, in words an operator reads in the action log. */
  readonly reason: string;
}

export interface ControlError {
  readonly code: string;
  readonly message: string;
}

export interface ControlResult {
  /** verified: the device's read-back state matches the command; refused: a guard rail stopped it before the device. */
  readonly status: 'verified' | 'failed' | 'refused';
  readonly state?: DeviceControlState;
  readonly error?: ControlError;
}

export interface ControlPort {
  /** Never rejects: every outcome, including a refusal or a timeout, is a ControlResult. */
  execute(request: ControlRequest, signal?: AbortSignal): Promise<ControlResult>;
}

/** Commands a program may not send to a protected meter. */
export const TRIPPING_COMMANDS: ReadonlySet<ControlCommand> = new Set(['disconnect', 'set-limit']);

/** Read-back limits within this of the request verify (a meter rounds to its own resolution). */
export const LIMIT_TOLERANCE = { relative: 0.01, absoluteKw: 0.001 } as const;

/** Whether the state read back shows the command took effect; the reason when it does not. */
export function verify(request: ControlRequest, state: DeviceControlState): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  switch (request.command) {
    case 'disconnect':
      return state.connected === false ? { ok: true } : { ok: false, reason: `relay reads ${relay(state.connected)} after disconnect` };
    case 'reconnect':
      return state.connected === true ? { ok: true } : { ok: false, reason: `relay reads ${relay(state.connected)} after reconnect (it may await a manual reconnect)` };
    case 'clear-limit':
      return state.limitKw === null ? { ok: true } : { ok: false, reason: `limit reads ${String(state.limitKw)} kW after clear-limit` };
    case 'set-limit': {
      const want = request.limitKw ?? Number.NaN;
      const got = state.limitKw;
      const tolerance = Math.max(LIMIT_TOLERANCE.absoluteKw, Math.abs(want) * LIMIT_TOLERANCE.relative);
      return typeof got === 'number' && Math.abs(got - want) <= tolerance
        ? { ok: true }
        : { ok: false, reason: `limit reads ${got === null ? 'none' : String(got)} kW, ${want} kW was set` };
    }
  }
}

function relay(connected: boolean | undefined): string {
  if (connected === undefined) return 'nothing';
  return connected ? 'connected' : 'disconnected';
}
