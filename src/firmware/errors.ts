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
