/**
 * The replies of /api/v1/firmware as the firmware contract declares them (images, campaigns,
 * per-device progress). Like src/web/workflows/replies.ts, these stand in until the routes'
 * TypeBox schemas are in src/api; then they become `Static<>` derivations in src/web/types.ts.
 */

/** POST /firmware/images (201), GET /firmware/images/:id */
export interface FirmwareImage {
  readonly id: string;
  readonly name: string;
  /** The image_identifier sent to the meter (DLMS IC 18 method 1). */
  readonly identifier: string;
  /** The firmware version the device reports once the image is active. */
  readonly version: string;
  readonly size: number;
  readonly sha256: string;
  readonly signature?: string;
  readonly uploadedAt: string;
  readonly uploadedBy: string;
}

/** GET /firmware/images, GET /firmware/campaigns */
export interface FirmwareList<T> { readonly items: readonly T[] }

export type CampaignState = 'draft' | 'running' | 'paused' | 'completed' | 'cancelled';

/** The devices a campaign covers: every given criterion must hold. */
export interface CampaignGroup {
  readonly meterType?: string;
  readonly areaId?: string;
  readonly meterIds?: string[];
  readonly currentVersion?: string;
  readonly protocol?: 'dlms' | 'modbus' | 'mqtt';
}

export interface CampaignWindow {
  readonly notBefore?: string;
  readonly notAfter?: string;
  /** Station local time of day, HH:MM; `to` before `from` spans midnight. */
  readonly daily?: { readonly from: string; readonly to: string };
}

/** The per-device states, in the order a device goes through them (failed and skipped end early). */
export const DEVICE_STATES = ['pending', 'transferring', 'verifying', 'verified', 'activating', 'done', 'failed', 'skipped'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export type CampaignCounts = Readonly<Record<DeviceState | 'total', number>>;

/** GET /firmware/campaigns/:id, POST /firmware/campaigns (201) and each step's reply: every setting with the station's defaults filled in. */
export interface Campaign {
  readonly id: string;
  readonly name: string;
  readonly imageId: string;
  readonly image: FirmwareImage;
  readonly group: CampaignGroup;
  readonly window: CampaignWindow;
  readonly rate: { readonly perTerminal: number; readonly total: number };
  readonly activation: { readonly at: 'now' | 'scheduled'; readonly time?: string };
  readonly failureBudget: { readonly percent: number; readonly minFailed: number };
  readonly state: CampaignState;
  readonly pauseReason?: 'operator' | 'failure-budget';
  readonly counts: CampaignCounts;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/** POST /firmware/campaigns: what is left out takes the station's default. */
export interface CampaignSpec {
  readonly name: string;
  readonly imageId: string;
  readonly group: CampaignGroup;
  readonly window?: CampaignWindow;
  readonly rate?: { readonly perTerminal?: number; readonly total?: number };
  readonly activation?: { readonly at: 'now' } | { readonly at: 'scheduled'; readonly time: string };
  readonly failureBudget?: { readonly percent?: number; readonly minFailed?: number };
}

/** One row of GET /firmware/campaigns/:id/devices. */
export interface CampaignDevice {
  readonly meterId: string;
  readonly terminalId: string;
  readonly state: DeviceState;
  readonly blocksHeld: number;
  readonly blocksTotal: number;
  readonly reason?: string;
  readonly code?: string;
  readonly fromVersion?: string;
  readonly toVersion?: string;
  readonly attempts: number;
  readonly updatedAt: string;
}

/** GET /firmware/campaigns/:id/devices: a keyset page; `next` is absent on the last. */
export interface DevicePage { readonly items: readonly CampaignDevice[]; readonly next?: string }
