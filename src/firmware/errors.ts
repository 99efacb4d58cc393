/**
 * Why the firmware service refused something: each a class with a stable `code` and the HTTP
 * status the API answers with (problem+json).
 */
import { DomainError } from '../domain/errors.js';
import type { CampaignState } from './model.js';

/** The group matched no device: a campaign with nothing to do is refused. */
export class CampaignGroupEmpty extends DomainError {
  readonly code = 'CAMPAIGN_GROUP_EMPTY';
  readonly status = 422;
  readonly field = 'group';
  constructor() {
    super('the group matches no device');
  }
}

/** The group matched more devices than `firmware.maxCampaignDevices`. */
export class CampaignGroupTooLarge extends DomainError {
  readonly code = 'CAMPAIGN_GROUP_TOO_LARGE';
  readonly status = 422;
  readonly field = 'group';
  constructor(readonly matched: number, readonly max: number) {
    super(`the group matches ${matched} devices; a campaign takes at most ${max} (firmware.maxCampaignDevices)`);
  }
}

/** The step is not allowed from the campaign's state (starting a running campaign, resuming a cancelled one). */
export class CampaignStateConflict extends DomainError {
  readonly code = 'CAMPAIGN_STATE';
  readonly status = 409;
  constructor(readonly id: string, readonly state: CampaignState, readonly step: string) {
    super(`campaign ${JSON.stringify(id)} is ${state}: it cannot ${step}`);
  }
}

/** An activation scheduled in the past, a window that ends before it begins, a daily window that is not HH:MM. */
export class CampaignSpecInvalid extends DomainError {
  readonly code = 'CAMPAIGN_INVALID';
  readonly status = 400;
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** A signature that is not hex, an empty image. */
export class FirmwareImageInvalid extends DomainError {
  readonly code = 'FIRMWARE_IMAGE_INVALID';
  readonly status = 400;
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Error codes worth another try of the device after a backoff: the meter or the link was away, not wrong. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['TIMEOUT', 'CONNECTION', 'OTA_TIMEOUT', 'COLLECT_STOPPED']);

/** The terminal's background queue was full: the device waits without spending a try. */
export const BUSY_CODE = 'COLLECT_BUSY';

/** After activation, the meter reports another version than the image's. */
export class FirmwareVersionMismatch extends Error {
  readonly code = 'FIRMWARE_VERSION_MISMATCH';
  constructor(readonly expected: string, readonly reported: string) {
    super(`the meter reports firmware ${JSON.stringify(reported)} after activation, not ${JSON.stringify(expected)}`);
    this.name = 'FirmwareVersionMismatch';
  }
}

/** A scheduled activation whose new version was not seen within firmware.activationGraceMs. */
export class ActivationNotSeen extends Error {
  readonly code = 'ACTIVATION_NOT_SEEN';
  constructor(readonly expected: string, readonly reported: string) {
    super(`the scheduled activation passed and the meter still reports ${JSON.stringify(reported)}, not ${JSON.stringify(expected)}`);
    this.name = 'ActivationNotSeen';
  }
}

/** An MQTT terminal offered the image reported nothing within firmware.otaReportTimeoutMs. */
export class OtaReportTimeout extends Error {
  readonly code = 'OTA_TIMEOUT';
  constructor(readonly terminalId: string, timeoutMs: number) {
    super(`terminal ${JSON.stringify(terminalId)} reported nothing on its firmware offer within ${timeoutMs} ms`);
    this.name = 'OtaReportTimeout';
  }
}

/** An MQTT terminal reported the offer failed (download, hash, activation). */
export class OtaFailed extends Error {
  readonly code = 'OTA_FAILED';
  constructor(readonly terminalId: string, reason: string) {
    super(`terminal ${JSON.stringify(terminalId)} reports the firmware offer failed: ${reason}`);
    this.name = 'OtaFailed';
  }
}

/** The device's terminal can neither take an image over a session nor through the OTA channel. */
export class NoFirmwarePath extends Error {
  readonly code = 'FIRMWARE_TRANSFER_UNSUPPORTED';
  constructor(readonly terminalId: string, why: string) {
    super(`terminal ${JSON.stringify(terminalId)} cannot take firmware: ${why}`);
    this.name = 'NoFirmwarePath';
  }
}
