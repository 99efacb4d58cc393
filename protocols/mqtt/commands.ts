/**
 * The MQTT command convention (README.md, "Commands"): the head-end publishes
 * `<prefix>/<terminal>/command` and the terminal answers on `<prefix>/<terminal>/command/response`
 * with the same `id`. Pure encoders and parsers, used by the adapter and the simulated terminal.
 */
import type { DeviceCommand, DeviceControlState } from '../adapter.js';

export const COMMAND_TYPES = ['disconnect', 'reconnect', 'set-limit', 'clear-limit', 'sync-clock', 'read-state'] as const;

export interface CommandMessage {
  /** Correlation id: the response carries it back. */
  readonly id: string;
  /** The meter's address on the terminal. */
  readonly meter: string;
  readonly type: DeviceCommand['type'];
  readonly params: { readonly limitKw?: number; readonly time?: number; readonly of?: 'relay' | 'limit' };
}

export type CommandResponse =
  | { readonly id: string; readonly status: 'ok'; readonly state: DeviceControlState }
  | { readonly id: string; readonly status: 'error'; readonly error: string; readonly state?: DeviceControlState };

export function commandTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/command`;
}

export function commandResponseTopic(prefix: string, terminalId: string): string {
  return `${prefix}/${terminalId}/command/response`;
}

/** The filter the head-end subscribes to for every terminal's responses. */
export function commandResponseFilter(prefix: string): string {
  return `${prefix}/+/command/response`;
}

export function toCommandMessage(id: string, command: DeviceCommand): CommandMessage {
  const base = { id, meter: command.address, type: command.type };
  switch (command.type) {
    case 'set-limit':
      return { ...base, params: { limitKw: command.limitKw } };
    case 'sync-clock':
      return { ...base, params: { time: command.time } };
    case 'read-state':
      return { ...base, params: { of: command.of } };
    case 'disconnect':
    case 'reconnect':
    case 'clear-limit':
      return { ...base, params: {} };
  }
}

export function encodeJson(message: CommandMessage | CommandResponse): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/** A command as a terminal receives it; undefined when the payload is not one. */
export function parseCommand(payload: Buffer): CommandMessage | undefined {
  const v = parseObject(payload);
  if (v === undefined || typeof v.id !== 'string' || typeof v.meter !== 'string' || typeof v.type !== 'string') return undefined;
  if (!(COMMAND_TYPES as readonly string[]).includes(v.type)) return undefined;
  const p = typeof v.params === 'object' && v.params !== null ? v.params as Record<string, unknown> : {};
  const of = p.of === 'relay' || p.of === 'limit' ? p.of : undefined;
  return {
    id: v.id, meter: v.meter, type: v.type as DeviceCommand['type'],
    params: {
      ...(typeof p.limitKw === 'number' ? { limitKw: p.limitKw } : {}),
      ...(typeof p.time === 'number' ? { time: p.time } : {}),
      ...(of === undefined ? {} : { of }),
    },
  };
}

/** A response as the head-end receives it; undefined when the payload is not one (it is then counted and dropped). */
export function parseCommandResponse(payload: Buffer): CommandResponse | undefined {
  const v = parseObject(payload);
  if (v === undefined || typeof v.id !== 'string' || v.id.length > 128) return undefined;
  const state = parseState(v.state);
  if (v.status === 'ok') return state === undefined ? undefined : { id: v.id, status: 'ok', state };
  if (v.status === 'error') {
    const error = typeof v.error === 'string' ? v.error.slice(0, 500) : 'the terminal reported an error';
    return { id: v.id, status: 'error', error, ...(state === undefined ? {} : { state }) };
  }
  return undefined;
}

function parseState(v: unknown): DeviceControlState | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  const out: { connected?: boolean; limitKw?: number | null; clock?: number } = {};
  if (typeof s.connected === 'boolean') out.connected = s.connected;
  if (s.limitKw === null || (typeof s.limitKw === 'number' && Number.isFinite(s.limitKw))) out.limitKw = s.limitKw;
  if (typeof s.clock === 'number' && Number.isFinite(s.clock)) out.clock = s.clock;
  return out;
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  if (payload.length > 16 * 1024) return undefined;
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
