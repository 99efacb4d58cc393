/**
 * DLMS event codes as meters report them in the standard event log code object
 * (0.0.96.11.0.255) and its companions, mapped to gridhead's device event vocabulary
 * (src/domain/event.ts; protocols/ cannot import it, so the codes are plain strings here and
 * ingest checks them). The numbers follow the IDIS event code tables (standard, disconnector
 * control and power quality logs) as companion specifications commonly number them; a code
 * not listed maps to 'other', and the numeric code always travels in the event's detail.
 */

export interface DlmsEventMeaning {
  /** A code of the device event vocabulary. */
  readonly code: string;
  readonly text: string;
}

export const DLMS_EVENT_CODES: Readonly<Record<number, DlmsEventMeaning>> = {
  1: { code: 'power-down', text: 'power down' },
  2: { code: 'power-up', text: 'power up' },
  4: { code: 'clock-adjusted', text: 'clock adjusted (old time)' },
  5: { code: 'clock-adjusted', text: 'clock adjusted (new time)' },
  40: { code: 'terminal-cover-open', text: 'terminal cover removed' },
  42: { code: 'magnetic-tamper', text: 'strong DC field detected' },
  44: { code: 'cover-open', text: 'meter cover removed' },
  59: { code: 'relay-disconnected', text: 'disconnector ready for manual reconnection' },
  60: { code: 'relay-disconnected', text: 'manual disconnection' },
  61: { code: 'relay-connected', text: 'manual connection' },
  62: { code: 'relay-disconnected', text: 'remote disconnection' },
  63: { code: 'relay-connected', text: 'remote connection' },
  64: { code: 'relay-disconnected', text: 'local disconnection' },
  65: { code: 'limiter-tripped', text: 'limiter threshold exceeded' },
  66: { code: 'relay-connected', text: 'limiter threshold ok, local reconnection' },
  82: { code: 'voltage-loss', text: 'missing voltage L1' },
  83: { code: 'voltage-loss', text: 'missing voltage L2' },
  84: { code: 'voltage-loss', text: 'missing voltage L3' },
  85: { code: 'voltage-restored', text: 'voltage L1 normal' },
  86: { code: 'voltage-restored', text: 'voltage L2 normal' },
  87: { code: 'voltage-restored', text: 'voltage L3 normal' },
};

/** The codes the simulated meter raises, by name, so sender and tests agree. */
export const DLMS_EVENT = {
  manualDisconnection: 60,
  manualConnection: 61,
  remoteDisconnection: 62,
  remoteConnection: 63,
  localDisconnection: 64,
  limiterThresholdExceeded: 65,
  limiterThresholdOk: 66,
  missingVoltageL1: 82,
  voltageNormalL1: 85,
} as const;

/** The vocabulary code and operator detail for a DLMS event code. */
export function describeDlmsEvent(dlmsCode: number): { code: string; detail: string } {
  const m = DLMS_EVENT_CODES[dlmsCode];
  return m === undefined
    ? { code: 'other', detail: `dlms event ${dlmsCode}` }
    : { code: m.code, detail: `dlms event ${dlmsCode}: ${m.text}` };
}
