/**
 * The DLMS event code table against IDIS package 2's numbering (standard, fraud detection,
 * disconnector control and power quality logs), as the IDIS protocols of EnergyICT / Honeywell
 * number them: each known code, its vocabulary code and its text.
 */
import { describe, expect, it } from 'vitest';
import { DLMS_EVENT, describeDlmsEvent } from '../../../../protocols/dlms/push/eventCodes.js';

describe('IDIS event codes', () => {
  it.each([
    [1, 'power-down', 'power down'],
    [2, 'power-up', 'power up'],
    [3, 'other', 'daylight saving time enabled or disabled'],
    [4, 'clock-adjusted', 'clock adjusted (old date/time)'],
    [5, 'clock-adjusted', 'clock adjusted (new date/time)'],
    [6, 'other', 'clock invalid'],
    [18, 'other', 'firmware activated'],
    [40, 'terminal-cover-open', 'terminal cover removed'],
    [41, 'other', 'terminal cover closed'],
    [42, 'magnetic-tamper', 'strong DC field detected'],
    [44, 'cover-open', 'meter cover removed'],
    [47, 'other', 'one or more parameters changed'],
    [59, 'relay-disconnected', 'disconnector ready for manual reconnection'],
    [60, 'relay-disconnected', 'manual disconnection'],
    [61, 'relay-connected', 'manual connection'],
    [62, 'relay-disconnected', 'remote disconnection'],
    [63, 'relay-connected', 'remote connection'],
    [64, 'relay-disconnected', 'local disconnection'],
    [65, 'limiter-tripped', 'limiter threshold exceeded'],
    [66, 'other', 'limiter threshold ok'],
    [67, 'other', 'limiter threshold changed'],
    [68, 'other', 'disconnect/reconnect failure'],
    [69, 'relay-connected', 'local reconnection'],
    [76, 'other', 'under voltage L1'],
    [79, 'other', 'over voltage L1'],
    [82, 'voltage-loss', 'missing voltage L1'],
    [84, 'voltage-loss', 'missing voltage L3'],
    [85, 'voltage-restored', 'voltage L1 normal'],
    [87, 'voltage-restored', 'voltage L3 normal'],
    [88, 'other', 'phase sequence reversal'],
    [89, 'other', 'missing neutral'],
  ])('code %i is %s: %s', (dlms, code, text) => {
    expect(describeDlmsEvent(dlms)).toEqual({ code, detail: `dlms event ${dlms}: ${text}` });
  });

  it('maps a code it does not know to other, keeping the number', () => {
    expect(describeDlmsEvent(231)).toEqual({ code: 'other', detail: 'dlms event 231' });
  });

  it('names the simulator codes by their IDIS numbers', () => {
    expect(DLMS_EVENT).toEqual({
      meterCoverRemoved: 44, meterCoverClosed: 45, manualDisconnection: 60, manualConnection: 61, remoteDisconnection: 62, remoteConnection: 63, localDisconnection: 64,
      limiterThresholdExceeded: 65, limiterThresholdOk: 66, localReconnection: 69, missingVoltageL1: 82, voltageNormalL1: 85,
    });
  });
});
