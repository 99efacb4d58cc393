/**
 * DLMS event codes as meters report them in the event log code objects (standard event log
 * 0.0.96.11.0.255 and its companions), mapped to gridhead's device event vocabulary
 * (src/domain/event.ts; protocols/ cannot import it, so the codes are plain strings here and
 * ingest checks them). The numbering is IDIS package 2's, one range per log: standard event
 * log 1..19, 47, 48, 51, 88, 89; fraud detection log 40..46, 49, 50; disconnector control log
 * 59..75; power quality log 76..87. Checked against the IDIS event tables as implemented in
 * the EnergyICT / Honeywell IDIS protocols (com.energyict.protocolimpl.dlms.idis.events:
 * StandardEventLog, FraudDetectionLog, DisconnectorControlLog, PowerQualityEventLog). Codes
 * that are not an event of our vocabulary map to 'other' with their text; a code not listed
 * maps to 'other' too, and the numeric code always travels in the event's detail.
 */

export interface DlmsEventMeaning {
  /** A code of the device event vocabulary. */
  readonly code: string;
  readonly text: string;
}

const other = (text: string): DlmsEventMeaning => ({ code: 'other', text });

const DLMS_EVENT_CODES: Readonly<Record<number, DlmsEventMeaning>> = {
  // Standard event log.
  1: { code: 'power-down', text: 'power down' },
  2: { code: 'power-up', text: 'power up' },
  3: other('daylight saving time enabled or disabled'),
  4: { code: 'clock-adjusted', text: 'clock adjusted (old date/time)' },
  5: { code: 'clock-adjusted', text: 'clock adjusted (new date/time)' },
  6: other('clock invalid'),
  7: other('replace battery'),
  8: other('battery voltage low'),
  9: other('TOU activated'),
  10: other('error register cleared'),
  11: other('alarm register cleared'),
  12: other('program memory error'),
  13: other('RAM error'),
  14: other('NV memory error'),
  15: other('watchdog error'),
  16: other('measurement system error'),
  17: other('firmware ready for activation'),
  18: other('firmware activated'),
  19: other('passive TOU programmed'),
  47: other('one or more parameters changed'),
  48: other('global key(s) changed'),
  51: other('firmware verification failed'),
  88: other('phase sequence reversal'),
  89: other('missing neutral'),
  // Fraud detection log.
  40: { code: 'terminal-cover-open', text: 'terminal cover removed' },
  41: other('terminal cover closed'),
  42: { code: 'magnetic-tamper', text: 'strong DC field detected' },
  43: other('no strong DC field anymore'),
  44: { code: 'cover-open', text: 'meter cover removed' },
  45: other('meter cover closed'),
  46: other('association authentication failure'),
  49: other('decryption or authentication failure'),
  50: other('replay attack'),
  // Disconnector control log.
  59: { code: 'relay-disconnected', text: 'disconnector ready for manual reconnection' },
  60: { code: 'relay-disconnected', text: 'manual disconnection' },
  61: { code: 'relay-connected', text: 'manual connection' },
  62: { code: 'relay-disconnected', text: 'remote disconnection' },
  63: { code: 'relay-connected', text: 'remote connection' },
  64: { code: 'relay-disconnected', text: 'local disconnection' },
  65: { code: 'limiter-tripped', text: 'limiter threshold exceeded' },
  // Only the threshold: whether the relay closes again is event 69.
  66: other('limiter threshold ok'),
  67: other('limiter threshold changed'),
  68: other('disconnect/reconnect failure'),
  69: { code: 'relay-connected', text: 'local reconnection' },
  70: other('supervision monitor 1 threshold exceeded'),
  71: other('supervision monitor 1 threshold ok'),
  72: other('supervision monitor 2 threshold exceeded'),
  73: other('supervision monitor 2 threshold ok'),
  74: other('supervision monitor 3 threshold exceeded'),
  75: other('supervision monitor 3 threshold ok'),
  // Power quality log.
  76: other('under voltage L1'),
  77: other('under voltage L2'),
  78: other('under voltage L3'),
  79: other('over voltage L1'),
  80: other('over voltage L2'),
  81: other('over voltage L3'),
  82: { code: 'voltage-loss', text: 'missing voltage L1' },
  83: { code: 'voltage-loss', text: 'missing voltage L2' },
  84: { code: 'voltage-loss', text: 'missing voltage L3' },
  85: { code: 'voltage-restored', text: 'voltage L1 normal' },
  86: { code: 'voltage-restored', text: 'voltage L2 normal' },
  87: { code: 'voltage-restored', text: 'voltage L3 normal' },
};

/** The codes the simulated meter raises, by name, so sender and tests agree. */
export const DLMS_EVENT = {
  /** Fraud detection log (Blue Book event codes 44, 45). */
  meterCoverRemoved: 44,
  meterCoverClosed: 45,
  manualDisconnection: 60,
  manualConnection: 61,
  remoteDisconnection: 62,
  remoteConnection: 63,
  localDisconnection: 64,
  limiterThresholdExceeded: 65,
  limiterThresholdOk: 66,
  localReconnection: 69,
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
