/**
 * Firmware images and campaigns as the station keeps them. Times are ms since the epoch.
 *
 * Campaign states: draft → running ⇄ paused → completed; cancelled from draft, running or
 * paused. Device states: pending → transferring → verifying → verified → activating → done;
 * failed (with the error's code) and skipped (already on the target) end a device too.
 */

/** An uploaded image without its bytes. */
export interface FirmwareImageRecord {
  readonly id: string;
  readonly name: string;
  /** image_identifier (Blue Book IC 18 method 1) as text. */
  readonly identifier: string;
  /** The version a device reports once the image is active. */
  readonly version: string;
  readonly size: number;
  /** SHA-256 of the bytes, hex. */
  readonly sha256: string;
  /** The vendor's signature, hex, passed through to the meter's verification. */
  readonly signature: string | null;
  readonly uploadedAt: number;
  readonly uploadedBy: string;
}

export const CAMPAIGN_STATES = ['draft', 'running', 'paused', 'completed', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export const DEVICE_STATES = ['pending', 'transferring', 'verifying', 'verified', 'activating', 'done', 'failed', 'skipped'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** States a device leaves by itself: the runner takes these up. */
export const DEVICE_OPEN_STATES: readonly DeviceState[] = ['pending', 'transferring', 'verifying', 'verified', 'activating'];

export type PauseReason = 'operator' | 'failure-budget';

/** Which devices a campaign targets; every given criterion must hold. */
export interface CampaignGroup {
  /** The DLMS endpoint's meterType. */
  readonly meterType?: string;
  /** An area and its sub-areas. */
  readonly areaId?: string;
  readonly meterIds?: readonly string[];
  /** The firmware version the device register knows for the meter. */
  readonly currentVersion?: string;
  readonly protocol?: 'dlms' | 'modbus' | 'mqtt';
}

export interface CampaignWindow {
  readonly notBefore?: number;
  readonly notAfter?: number;
  /** Station local time (station.utcOffsetMinutes), 'HH:MM'; from > to spans midnight. */
  readonly daily?: { readonly from: string; readonly to: string };
}

export interface CampaignRate {
  /** Devices in transfer at once behind one terminal. */
  readonly perTerminal: number;
  /** Devices in transfer at once in the campaign. */
  readonly total: number;
}

export type CampaignActivation = { readonly at: 'now' } | { readonly at: 'scheduled'; readonly time: number };

export interface FailureBudget {
  /** The campaign pauses itself once failed / finished devices exceeds this share, in percent… */
  readonly percent: number;
  /** …and at least this many devices failed. */
  readonly minFailed: number;
}

export interface CampaignSpec {
  readonly name: string;
  readonly imageId: string;
  readonly group: CampaignGroup;
  readonly window: CampaignWindow;
  readonly rate: CampaignRate;
  readonly activation: CampaignActivation;
  readonly failureBudget: FailureBudget;
}

export interface Campaign extends CampaignSpec {
  readonly id: string;
  readonly state: CampaignState;
  readonly pauseReason: PauseReason | null;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

export type DeviceCounts = Readonly<Record<DeviceState, number>> & { readonly total: number };

export interface CampaignDevice {
  readonly campaignId: string;
  readonly meterId: string;
  readonly terminalId: string;
  readonly state: DeviceState;
  readonly blocksHeld: number;
  readonly blocksTotal: number;
  /** image_block_size the meter reported; 0 before the first slice. */
  readonly blockSize: number;
  /** The transfer was (or may have been) initiated on the meter: it may hold part of the image, so a restart resumes. */
  readonly initiated: boolean;
  readonly reason: string | null;
  readonly code: string | null;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  /** Tries taken up so far. */
  readonly attempts: number;
  /** Not taken up again before this time (a retry's backoff, a scheduled activation). */
  readonly notBefore: number;
  /** The offer an MQTT terminal was sent (OtaChannel), null for session transfers. */
  readonly offerId: string | null;
  readonly updatedAt: number;
}

/** The fields a step of the runner changes. */
export type DevicePatch = Partial<Pick<CampaignDevice,
  'state' | 'blocksHeld' | 'blocksTotal' | 'blockSize' | 'initiated' | 'reason' | 'code' | 'fromVersion' | 'toVersion' | 'attempts' | 'notBefore' | 'offerId'>>;

export function emptyCounts(): Record<DeviceState, number> & { total: number } {
  return { pending: 0, transferring: 0, verifying: 0, verified: 0, activating: 0, done: 0, failed: 0, skipped: 0, total: 0 };
}
