/**
 * The firmware store (src/firmware/store.ts) in the embedded SQLite file, migration 24.
 * better-sqlite3 is synchronous and the file has one writer: a campaign change reads and writes
 * in one transaction, so two steps never both pass from the same state.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../storage/db.js';
import type { Campaign, CampaignDevice, CampaignState, DeviceCounts, DevicePatch, DeviceState, FirmwareImageRecord } from './model.js';
import {
  CAMPAIGN_COLUMNS, DEVICE_COLUMNS, IMAGE_COLUMNS, campaignOf, countsOf, definitionOf, deviceOf, deviceParams, imageOf, newDevice, patchedDevice,
  type CampaignDefinition, type CampaignRow, type DeviceRow, type ImageRow,
} from './rows.js';
import {
  DUE_ORDER, MAX_FIRMWARE_PAGE, devicePageOf, pageLimit,
  type CampaignDecision, type DevicePage, type DeviceQuery, type FirmwareStore, type NewCampaignDevice, type NewFirmwareImage,
} from './store.js';

type StoredCampaign = CampaignRow & { definition: string };

export class SqliteFirmwareStore implements FirmwareStore {
  readonly #campaign: Statement<[string], StoredCampaign>;
  readonly #device: Statement<[string, string], DeviceRow>;
  readonly #counts: Statement<[string], { state: DeviceState; n: number }>;
  readonly #writeDevice: Statement<[Record<string, unknown>]>;

  constructor(private readonly db: Db) {
    this.#campaign = db.prepare(`SELECT ${CAMPAIGN_COLUMNS} FROM firmware_campaigns WHERE id = ?`);
    this.#device = db.prepare(`SELECT ${DEVICE_COLUMNS} FROM firmware_campaign_devices WHERE campaign_id = ? AND meter_id = ?`);
    this.#counts = db.prepare('SELECT state, COUNT(*) AS n FROM firmware_campaign_devices WHERE campaign_id = ? GROUP BY state');
    this.#writeDevice = db.prepare(`INSERT OR REPLACE INTO firmware_campaign_devices (${DEVICE_COLUMNS}) VALUES (@campaign_id, @meter_id, @terminal_id, @state,
      @blocks_held, @blocks_total, @block_size, @initiated, @reason, @code, @from_version, @to_version, @attempts, @not_before, @offer_id, @updated_at)`);
  }

  insertImage(i: NewFirmwareImage): Promise<void> {
    return settled(() => {
      this.db.prepare(`INSERT INTO firmware_images (${IMAGE_COLUMNS}, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(i.id, i.name, i.identifier, i.version, i.size, i.sha256, i.signature, i.uploadedAt, i.uploadedBy, Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength));
    });
  }

  image(id: string): Promise<FirmwareImageRecord | undefined> {
    return settled(() => {
      const row = this.db.prepare(`SELECT ${IMAGE_COLUMNS} FROM firmware_images WHERE id = ?`).get(id) as ImageRow | undefined;
      return row === undefined ? undefined : imageOf(row);
    });
  }

  imageBytes(id: string): Promise<Uint8Array | undefined> {
    return settled(() => (this.db.prepare('SELECT bytes FROM firmware_images WHERE id = ?').get(id) as { bytes: Buffer } | undefined)?.bytes);
  }

  images(): Promise<FirmwareImageRecord[]> {
    return settled(() => (this.db.prepare(`SELECT ${IMAGE_COLUMNS} FROM firmware_images ORDER BY uploaded_at DESC, id DESC LIMIT ?`)
      .all(MAX_FIRMWARE_PAGE) as ImageRow[]).map(imageOf));
  }

  insertCampaign(c: Campaign, devices: readonly NewCampaignDevice[]): Promise<void> {
    return settled(() => { this.db.transaction(() => {
      this.db.prepare(`INSERT INTO firmware_campaigns (${CAMPAIGN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(c.id, c.name, c.imageId, JSON.stringify(definitionOf(c)), c.state, c.pauseReason, c.createdAt, c.createdBy, c.startedAt, c.finishedAt);
      for (const d of devices) this.#writeDevice.run(deviceParams(newDevice(c.id, d.meterId, d.terminalId, c.createdAt), asInteger));
    })(); });
  }

  campaign(id: string): Promise<Campaign | undefined> {
    return settled(() => {
      const row = this.#campaign.get(id);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  campaigns(states?: readonly CampaignState[]): Promise<Campaign[]> {
    return settled(() => {
      const where = states === undefined ? '' : `WHERE state IN (${states.map(() => '?').join(', ')})`;
      return (this.db.prepare(`SELECT ${CAMPAIGN_COLUMNS} FROM firmware_campaigns ${where} ORDER BY created_at DESC, id DESC LIMIT ?`)
        .all(...(states ?? []), MAX_FIRMWARE_PAGE) as StoredCampaign[]).map(fromRow);
    });
  }

  changeCampaign(id: string, decide: CampaignDecision): Promise<Campaign | undefined> {
    return settled(() => this.db.transaction((): Campaign | undefined => {
      const row = this.#campaign.get(id);
      if (row === undefined) return undefined;
      const current = fromRow(row);
      const patch = decide(current, this.#countsOf(id));
      if (patch === null) return current;
      const next = { ...current, ...patch };
      this.db.prepare('UPDATE firmware_campaigns SET state = ?, pause_reason = ?, started_at = ?, finished_at = ? WHERE id = ?')
        .run(next.state, next.pauseReason, next.startedAt, next.finishedAt, id);
      return next;
    })());
  }

  counts(campaignId: string): Promise<DeviceCounts> {
    return settled(() => this.#countsOf(campaignId));
  }

  devices(campaignId: string, q: DeviceQuery): Promise<DevicePage> {
    return settled(() => {
      const limit = pageLimit(q.limit);
      const where = ['campaign_id = ?'];
      const args: (string | number)[] = [campaignId];
      if (q.state !== undefined) { where.push('state = ?'); args.push(q.state); }
      if (q.after !== undefined) { where.push('meter_id > ?'); args.push(q.after); }
      const rows = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM firmware_campaign_devices WHERE ${where.join(' AND ')} ORDER BY meter_id LIMIT ?`)
        .all(...args, limit + 1) as DeviceRow[];
      return devicePageOf(rows.map(deviceOf), limit);
    });
  }

  device(campaignId: string, meterId: string): Promise<CampaignDevice | undefined> {
    return settled(() => {
      const row = this.#device.get(campaignId, meterId);
      return row === undefined ? undefined : deviceOf(row);
    });
  }

  dueDevices(campaignId: string, states: readonly DeviceState[], now: number, limit: number): Promise<CampaignDevice[]> {
    return settled(() => (this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM firmware_campaign_devices
      WHERE campaign_id = ? AND state IN (${states.map(() => '?').join(', ')}) AND not_before <= ? ORDER BY ${DUE_ORDER}, meter_id LIMIT ?`)
      .all(campaignId, ...states, now, pageLimit(limit)) as DeviceRow[]).map(deviceOf));
  }

  updateDevice(campaignId: string, meterId: string, patch: DevicePatch, at: number): Promise<CampaignDevice> {
    return settled(() => this.db.transaction(() => {
      const row = this.#device.get(campaignId, meterId);
      if (row === undefined) throw new Error(`campaign ${campaignId} has no device ${meterId}`);
      const next = patchedDevice(deviceOf(row), patch, at);
      this.#writeDevice.run(deviceParams(next, asInteger));
      return next;
    })());
  }

  deviceByOffer(offerId: string): Promise<CampaignDevice | undefined> {
    return settled(() => {
      const row = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM firmware_campaign_devices WHERE offer_id = ?`).get(offerId) as DeviceRow | undefined;
      return row === undefined ? undefined : deviceOf(row);
    });
  }

  #countsOf(campaignId: string): DeviceCounts {
    return countsOf(this.#counts.all(campaignId));
  }
}

const asInteger = (b: boolean): number => (b ? 1 : 0);

function fromRow(row: StoredCampaign): Campaign {
  return campaignOf(row, JSON.parse(row.definition) as CampaignDefinition);
}
