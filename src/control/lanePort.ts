/**
 * The control port over the protocol adapters, until the command service of issue 6 takes
 * over: commands go through the collector's per-terminal lanes (CollectionScheduler
 * .executeNow), so they queue behind the request in flight on the terminal's one connection
 * instead of opening a second one. Each request is recorded before it is sent and finished
 * with its result; the device's read-back state decides 'verified'.
 */
import type { DeviceCommand, DeviceControlState } from '../../protocols/adapter.js';
import type { Meter } from '../domain/topology.js';
import type { ControlActionStore } from './actions.js';
import { TRIPPING_COMMANDS, verify, type ControlPort, type ControlRequest, type ControlResult } from './port.js';

/** Sends a device command to a terminal (the scheduler's lane in the station; a stand-in in tests). */
export type CommandRunner = (terminalId: string, command: DeviceCommand, signal: AbortSignal | undefined) => Promise<DeviceControlState>;

export interface LaneControlPortOptions {
  readonly meter: (id: string) => Meter | undefined;
  readonly run: CommandRunner;
  readonly actions: ControlActionStore;
  readonly now?: () => number;
  /** Told about every failed or refused result (the station logs them, rate-limited). */
  readonly onProblem?: (request: ControlRequest, result: ControlResult) => void;
}

export class LaneControlPort implements ControlPort {
  private readonly now: () => number;

  constructor(private readonly o: LaneControlPortOptions) {
    this.now = o.now ?? Date.now;
  }

  async execute(request: ControlRequest, signal?: AbortSignal): Promise<ControlResult> {
    const id = this.o.actions.begin(request, this.now());
    const result = await this.decide(request, signal);
    this.o.actions.finish(id, result, this.now());
    if (result.status !== 'verified') this.o.onProblem?.(request, result);
    return result;
  }

  private async decide(request: ControlRequest, signal: AbortSignal | undefined): Promise<ControlResult> {
    const meter = this.o.meter(request.meterId);
    if (meter === undefined) return fail('UNKNOWN_METER', `meter ${JSON.stringify(request.meterId)} does not exist`);
    if (meter.protected && request.origin.kind === 'program' && TRIPPING_COMMANDS.has(request.command)) {
      return {
        status: 'refused',
        error: { code: 'PROTECTED_METER', message: `meter ${meter.id} is protected (保电): a program may not ${request.command} it` },
      };
    }
    const command = toDeviceCommand(request, meter.address);
    if (command === undefined) return fail('BAD_PARAMS', `set-limit needs a finite limitKw ≥ 0, got ${String(request.limitKw)}`);
    let state: DeviceControlState;
    try {
      state = await this.o.run(meter.terminalId, command, signal);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      return fail(typeof code === 'string' ? code : e.name, e.message);
    }
    const check = verify(request, state);
    return check.ok ? { status: 'verified', state } : { status: 'failed', state, error: { code: 'NOT_VERIFIED', message: check.reason } };
  }
}

function toDeviceCommand(request: ControlRequest, address: string): DeviceCommand | undefined {
  switch (request.command) {
    case 'set-limit': {
      const kw = request.limitKw;
      if (kw === undefined || !Number.isFinite(kw) || kw < 0) return undefined;
      return { type: 'set-limit', address, limitKw: kw };
    }
    case 'disconnect':
    case 'reconnect':
    case 'clear-limit':
      return { type: request.command, address };
  }
}

function fail(code: string, message: string): ControlResult {
  return { status: 'failed', error: { code, message } };
}
