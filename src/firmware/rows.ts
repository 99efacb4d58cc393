/**
 * Images, campaigns and devices as both stores hold them (snake_case columns) and back. A
 * campaign's definition (group, window, rate, activation, failure budget) is one JSON value:
 * text on SQLite, jsonb on PostgreSQL, so each store hands `campaignOf` the parsed value.
 */
import { emptyCounts, type Campaign, type CampaignDevice, type CampaignSpec, type DeviceCounts, type DevicePatch, type DeviceState, type FirmwareImageRecord } from './model.js';

export interface ImageRow {
  id: string; name: string; identifier: string; version: string; size: number; sha256: string; signature: string | null;
  uploaded_at: number; uploaded_by: string;
}

export interface CampaignRow {
  id: string; name: string; image_id: string; state: Campaign['state']; pause_reason: Campaign['pauseReason'];
  created_at: number; created_by: string; started_at: number | null; finished_at: number | null;
}

export interface DeviceRow {
  campaign_id: string; meter_id: string; terminal_id: string; state: DeviceState; blocks_held: number; blocks_total: number; block_size: number;
  initiated: number | boolean; reason: string | null; code: string | null; from_version: string | null; to_version: string | null;
  attempts: number; not_before: number; offer_id: string | null; updated_at: number;
}

/** The definition fields kept as one JSON value. */
export type CampaignDefinition = Pick<CampaignSpec, 'group' | 'window' | 'rate' | 'activation' | 'failureBudget'>;

export const IMAGE_COLUMNS = 'id, name, identifier, version, size, sha256, signature, uploaded_at, uploaded_by';
export const CAMPAIGN_COLUMNS = 'id, name, image_id, definition, state, pause_reason, created_at, created_by, started_at, finished_at';
export const DEVICE_COLUMNS = 'campaign_id, meter_id, terminal_id, state, blocks_held, blocks_total, block_size, initiated, reason, code, from_version, to_version, attempts, not_before, offer_id, updated_at';

export function imageOf(r: ImageRow): FirmwareImageRecord {
  return {
    id: r.id, name: r.name, identifier: r.identifier, version: r.version, size: r.size, sha256: r.sha256, signature: r.signature,
    uploadedAt: r.uploaded_at, uploadedBy: r.uploaded_by,
  };
}

export function campaignOf(r: CampaignRow, d: CampaignDefinition): Campaign {
  return {
    id: r.id, name: r.name, imageId: r.image_id, ...d, state: r.state, pauseReason: r.pause_reason, createdAt: r.created_at, createdBy: r.created_by,
    startedAt: r.started_at, finishedAt: r.finished_at,
  };
}

export function definitionOf(c: CampaignSpec): CampaignDefinition {
  return { group: c.group, window: c.window, rate: c.rate, activation: c.activation, failureBudget: c.failureBudget };
}

export function deviceOf(r: DeviceRow): CampaignDevice {
  return {
    campaignId: r.campaign_id, meterId: r.meter_id, terminalId: r.terminal_id, state: r.state, blocksHeld: r.blocks_held, blocksTotal: r.blocks_total,
    blockSize: r.block_size, initiated: r.initiated === true || r.initiated === 1, reason: r.reason, code: r.code, fromVersion: r.from_version,
    toVersion: r.to_version, attempts: r.attempts, notBefore: r.not_before, offerId: r.offer_id, updatedAt: r.updated_at,
  };
}

/** The device after `patch`, at `at`. */
export function patchedDevice(d: CampaignDevice, patch: DevicePatch, at: number): CampaignDevice {
  return { ...d, ...patch, updatedAt: at };
}

/** The columns of a device as a row to write (initiated as the driver wants it). */
export function deviceParams(d: CampaignDevice, initiated: (b: boolean) => number | boolean): Record<string, string | number | boolean | null> {
  return {
    campaign_id: d.campaignId, meter_id: d.meterId, terminal_id: d.terminalId, state: d.state, blocks_held: d.blocksHeld, blocks_total: d.blocksTotal,
    block_size: d.blockSize, initiated: initiated(d.initiated), reason: d.reason, code: d.code, from_version: d.fromVersion, to_version: d.toVersion,
    attempts: d.attempts, not_before: d.notBefore, offer_id: d.offerId, updated_at: d.updatedAt,
  };
}

/** A snapshot device as first stored. */
export function newDevice(campaignId: string, meterId: string, terminalId: string, at: number): CampaignDevice {
  return {
    campaignId, meterId, terminalId, state: 'pending', blocksHeld: 0, blocksTotal: 0, blockSize: 0, initiated: false, reason: null, code: null,
    fromVersion: null, toVersion: null, attempts: 0, notBefore: 0, offerId: null, updatedAt: at,
  };
}

/** The counts of a campaign's devices from its `state, count` rows. */
export function countsOf(rows: readonly { state: DeviceState; n: number }[]): DeviceCounts {
  const counts = emptyCounts();
  for (const { state, n } of rows) {
    counts[state] = n;
    counts.total += n;
  }
  return counts;
}
