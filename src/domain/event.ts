/**
 * Device events: what meters and terminals report happened to them (as opposed to the
 * alarms the station raises from readings). The vocabulary is closed so rules can match on
 * it; a code a device sends that is not here is stored as 'other' with the device's code
 * in `detail`.
 */
import type { MeterId, TerminalId } from './ids.js';

export const DEVICE_EVENT_CODES = [
  'power-down', 'power-up',
  'voltage-loss', 'voltage-restored',
  'cover-open', 'terminal-cover-open', 'magnetic-tamper',
  'relay-disconnected', 'relay-connected',
  'limiter-tripped',
  'clock-adjusted',
  'other',
] as const;

export type DeviceEventCode = (typeof DEVICE_EVENT_CODES)[number];

export function isDeviceEventCode(code: string): code is DeviceEventCode {
  return (DEVICE_EVENT_CODES as readonly string[]).includes(code);
}

export interface DeviceEvent {
  readonly meterId: MeterId | null;
  readonly terminalId: TerminalId;
  readonly code: DeviceEventCode;
  /** Device time when given, else the time the station received it; ms since the epoch. */
  readonly ts: number;
  readonly receivedAt: number;
  /** How it reached the station. */
  readonly source: 'dlms-push' | 'mqtt' | 'poll';
  readonly detail: string | null;
}
