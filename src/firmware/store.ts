/**
 * Where images, campaigns and their devices are kept: `FirmwareStore` is the port the service
 * and the runner use; src/firmware/sqliteStore.ts is the embedded implementation (migration 24),
 * src/firmware/postgresStore.ts the PostgreSQL one (migration 31). Images are kept whole in the
 * station database (a blob), so every node can send them.
 */
import type { Campaign, CampaignDevice, CampaignState, DeviceCounts, DevicePatch, DeviceState, FirmwareImageRecord, PauseReason } from './model.js';

/** Cap of one page of devices, and of the image and campaign lists. */
export const MAX_FIRMWARE_PAGE = 1000;

export interface NewFirmwareImage extends FirmwareImageRecord {
  readonly bytes: Uint8Array;
}

/** A device of a new campaign's snapshot. */
export interface NewCampaignDevice {
  readonly meterId: string;
  readonly terminalId: string;
}

export interface CampaignPatch {
  readonly state?: CampaignState;
  readonly pauseReason?: PauseReason | null;
  readonly startedAt?: number | null;
  readonly finishedAt?: number | null;
}

/**
 * Decides a campaign's change from the campaign as it is inside the write's transaction, with
 * its device counts: a patch, null for none, or a thrown refusal (CampaignStateConflict) that
 * rolls the write back.
 */
export type CampaignDecision = (current: Campaign, counts: DeviceCounts) => CampaignPatch | null;

export interface DeviceQuery {
  readonly state?: DeviceState;
  /** The previous page's `next`: devices come by meter id. */
  readonly after?: string;
  readonly limit: number;
}

export interface DevicePage {
  readonly items: CampaignDevice[];
  readonly next: string | null;
}

export interface FirmwareStore {
  insertImage(image: NewFirmwareImage): Promise<void>;
  image(id: string): Promise<FirmwareImageRecord | undefined>;
  imageBytes(id: string): Promise<Uint8Array | undefined>;
  /** Newest first, at most MAX_FIRMWARE_PAGE. */
  images(): Promise<FirmwareImageRecord[]>;
  /** The campaign and its device snapshot, in one transaction. */
  insertCampaign(campaign: Campaign, devices: readonly NewCampaignDevice[]): Promise<void>;
  campaign(id: string): Promise<Campaign | undefined>;
  /** Newest first, at most MAX_FIRMWARE_PAGE; only those in `states` when given. */
  campaigns(states?: readonly CampaignState[]): Promise<Campaign[]>;
  changeCampaign(id: string, decide: CampaignDecision, at: number): Promise<Campaign | undefined>;
  counts(campaignId: string): Promise<DeviceCounts>;
  devices(campaignId: string, query: DeviceQuery): Promise<DevicePage>;
  device(campaignId: string, meterId: string): Promise<CampaignDevice | undefined>;
  /**
   * Devices in `states` whose `notBefore` has passed, those furthest along first (a device
   * already in transfer before a pending one), then by meter id; at most `limit`.
   */
  dueDevices(campaignId: string, states: readonly DeviceState[], now: number, limit: number): Promise<CampaignDevice[]>;
  /** Writes what a step changed; answers the device as stored. */
  updateDevice(campaignId: string, meterId: string, patch: DevicePatch, at: number): Promise<CampaignDevice>;
  /** The device an MQTT offer was made for. */
  deviceByOffer(offerId: string): Promise<CampaignDevice | undefined>;
}

/** `limit` within 1 … MAX_FIRMWARE_PAGE. */
export function pageLimit(limit: number): number {
  return Math.max(1, Math.min(MAX_FIRMWARE_PAGE, Math.floor(limit)));
}

/** The page of `limit` devices out of `rows` (read one longer, which tells whether another page exists). */
export function devicePageOf(rows: readonly CampaignDevice[], limit: number): DevicePage {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? last.meterId : null };
}

/** Order of `dueDevices`: furthest along first. */
export const DUE_ORDER = `CASE state WHEN 'activating' THEN 0 WHEN 'verified' THEN 1 WHEN 'verifying' THEN 2 WHEN 'transferring' THEN 3 ELSE 4 END`;
