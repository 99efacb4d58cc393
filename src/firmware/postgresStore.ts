/**
 * The firmware store (src/firmware/store.ts) on PostgreSQL, migration 31, shared by every node.
 * A campaign change locks the campaign's row (SELECT … FOR UPDATE) for its transaction, so a
 * pause on one node and the leader's runner completing the campaign never both pass from the
 * same state. Devices have one writer, the leader's runner.
 */
import { refusalsKept, type PostgresDatabase } from '../storage/postgres/connection.js';
import type { Campaign, CampaignDevice, CampaignState, DeviceCounts, DevicePatch, DeviceState, FirmwareImageRecord } from './model.js';
import {
  CAMPAIGN_COLUMNS, DEVICE_COLUMNS, IMAGE_COLUMNS, campaignOf, countsOf, definitionOf, deviceOf, deviceParams, imageOf, newDevice, patchedDevice,
  type CampaignDefinition, type CampaignRow, type DeviceRow, type ImageRow,
} from './rows.js';
import {
  DUE_ORDER, MAX_FIRMWARE_PAGE, devicePageOf, pageLimit,
  type CampaignDecision, type DevicePage, type DeviceQuery, type FirmwareStore, type NewCampaignDevice, type NewFirmwareImage,
} from './store.js';

type StoredCampaign = CampaignRow & { definition: CampaignDefinition };

/** Devices per INSERT of a campaign's snapshot: 16 columns each stays far under the 65,535 parameters of one statement. */
const SNAPSHOT_BATCH = 1_000;

export class PostgresFirmwareStore implements FirmwareStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insertImage(i: NewFirmwareImage): Promise<void> {
    await this.db.run((sql) => sql`INSERT INTO firmware_images (id, name, identifier, version, size, sha256, signature, uploaded_at, uploaded_by, bytes)
      VALUES (${i.id}, ${i.name}, ${i.identifier}, ${i.version}, ${i.size}, ${i.sha256}, ${i.signature}, ${i.uploadedAt}, ${i.uploadedBy},
        ${Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength)})`);
  }

  async image(id: string): Promise<FirmwareImageRecord | undefined> {
    const [row] = await this.db.run((sql) => sql<ImageRow[]>`SELECT ${sql.unsafe(IMAGE_COLUMNS)} FROM firmware_images WHERE id = ${id}`);
    return row === undefined ? undefined : imageOf(row);
  }

  async imageBytes(id: string): Promise<Uint8Array | undefined> {
    const [row] = await this.db.run((sql) => sql<{ bytes: Buffer }[]>`SELECT bytes FROM firmware_images WHERE id = ${id}`);
    return row?.bytes;
  }

  async images(): Promise<FirmwareImageRecord[]> {
    const rows = await this.db.run((sql) => sql<ImageRow[]>`SELECT ${sql.unsafe(IMAGE_COLUMNS)} FROM firmware_images
      ORDER BY uploaded_at DESC, id DESC LIMIT ${MAX_FIRMWARE_PAGE}`);
    return rows.map(imageOf);
  }

  async insertCampaign(c: Campaign, devices: readonly NewCampaignDevice[]): Promise<void> {
    await this.db.run((sql) => sql.begin(async (tx) => {
      await tx`INSERT INTO firmware_campaigns (id, name, image_id, definition, state, pause_reason, created_at, created_by, started_at, finished_at)
        VALUES (${c.id}, ${c.name}, ${c.imageId}, ${tx.json(definitionOf(c))}, ${c.state}, ${c.pauseReason}, ${c.createdAt}, ${c.createdBy}, ${c.startedAt}, ${c.finishedAt})`;
      for (let from = 0; from < devices.length; from += SNAPSHOT_BATCH) {
        const rows = devices.slice(from, from + SNAPSHOT_BATCH).map((d) => deviceParams(newDevice(c.id, d.meterId, d.terminalId, c.createdAt), asBoolean));
        await tx`INSERT INTO firmware_campaign_devices ${tx(rows)}`;
      }
    }));
  }

  async campaign(id: string): Promise<Campaign | undefined> {
    const [row] = await this.db.run((sql) => sql<StoredCampaign[]>`SELECT ${sql.unsafe(CAMPAIGN_COLUMNS)} FROM firmware_campaigns WHERE id = ${id}`);
    return row === undefined ? undefined : campaignOf(row, row.definition);
  }

  async campaigns(states?: readonly CampaignState[]): Promise<Campaign[]> {
    const rows = await this.db.run((sql) => (states === undefined
      ? sql<StoredCampaign[]>`SELECT ${sql.unsafe(CAMPAIGN_COLUMNS)} FROM firmware_campaigns ORDER BY created_at DESC, id DESC LIMIT ${MAX_FIRMWARE_PAGE}`
      : sql<StoredCampaign[]>`SELECT ${sql.unsafe(CAMPAIGN_COLUMNS)} FROM firmware_campaigns WHERE state IN ${sql([...states])}
          ORDER BY created_at DESC, id DESC LIMIT ${MAX_FIRMWARE_PAGE}`));
    return rows.map((r) => campaignOf(r, r.definition));
  }

  changeCampaign(id: string, decide: CampaignDecision): Promise<Campaign | undefined> {
    // A refusal thrown by `decide` (a DomainError) reaches the caller as itself, not as a query failure.
    return refusalsKept(this.db, (sql) => sql.begin(async (tx): Promise<Campaign | undefined> => {
      const [row] = await tx<StoredCampaign[]>`SELECT ${tx.unsafe(CAMPAIGN_COLUMNS)} FROM firmware_campaigns WHERE id = ${id} FOR UPDATE`;
      if (row === undefined) return undefined;
      const current = campaignOf(row, row.definition);
      const patch = decide(current, countsOf(await tx<{ state: DeviceState; n: number }[]>`SELECT state, count(*)::int AS n
        FROM firmware_campaign_devices WHERE campaign_id = ${id} GROUP BY state`));
      if (patch === null) return current;
      const next = { ...current, ...patch };
      await tx`UPDATE firmware_campaigns SET state = ${next.state}, pause_reason = ${next.pauseReason}, started_at = ${next.startedAt},
        finished_at = ${next.finishedAt} WHERE id = ${id}`;
      return next;
    }) as Promise<Campaign | undefined>);
  }

  async counts(campaignId: string): Promise<DeviceCounts> {
    return countsOf(await this.db.run((sql) => sql<{ state: DeviceState; n: number }[]>`SELECT state, count(*)::int AS n
      FROM firmware_campaign_devices WHERE campaign_id = ${campaignId} GROUP BY state`));
  }

  async devices(campaignId: string, q: DeviceQuery): Promise<DevicePage> {
    const limit = pageLimit(q.limit);
    const rows = await this.db.run((sql) => sql<DeviceRow[]>`SELECT ${sql.unsafe(DEVICE_COLUMNS)} FROM firmware_campaign_devices
      WHERE campaign_id = ${campaignId} ${q.state === undefined ? sql`` : sql`AND state = ${q.state}`} ${q.after === undefined ? sql`` : sql`AND meter_id > ${q.after}`}
      ORDER BY meter_id LIMIT ${limit + 1}`);
    return devicePageOf(rows.map(deviceOf), limit);
  }

  async device(campaignId: string, meterId: string): Promise<CampaignDevice | undefined> {
    const [row] = await this.db.run((sql) => sql<DeviceRow[]>`SELECT ${sql.unsafe(DEVICE_COLUMNS)} FROM firmware_campaign_devices
      WHERE campaign_id = ${campaignId} AND meter_id = ${meterId}`);
    return row === undefined ? undefined : deviceOf(row);
  }

  async dueDevices(campaignId: string, states: readonly DeviceState[], now: number, limit: number): Promise<CampaignDevice[]> {
    const rows = await this.db.run((sql) => sql<DeviceRow[]>`SELECT ${sql.unsafe(DEVICE_COLUMNS)} FROM firmware_campaign_devices
      WHERE campaign_id = ${campaignId} AND state IN ${sql([...states])} AND not_before <= ${now}
      ORDER BY ${sql.unsafe(DUE_ORDER)}, meter_id LIMIT ${pageLimit(limit)}`);
    return rows.map(deviceOf);
  }

  updateDevice(campaignId: string, meterId: string, patch: DevicePatch, at: number): Promise<CampaignDevice> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      const [row] = await tx<DeviceRow[]>`SELECT ${tx.unsafe(DEVICE_COLUMNS)} FROM firmware_campaign_devices
        WHERE campaign_id = ${campaignId} AND meter_id = ${meterId} FOR UPDATE`;
      if (row === undefined) throw new Error(`campaign ${campaignId} has no device ${meterId}`);
      const next = patchedDevice(deviceOf(row), patch, at);
      const { campaign_id: _c, meter_id: _m, ...columns } = deviceParams(next, asBoolean);
      await tx`UPDATE firmware_campaign_devices SET ${tx(columns)} WHERE campaign_id = ${campaignId} AND meter_id = ${meterId}`;
      return next;
    }) as Promise<CampaignDevice>);
  }

  async deviceByOffer(offerId: string): Promise<CampaignDevice | undefined> {
    const [row] = await this.db.run((sql) => sql<DeviceRow[]>`SELECT ${sql.unsafe(DEVICE_COLUMNS)} FROM firmware_campaign_devices WHERE offer_id = ${offerId}`);
    return row === undefined ? undefined : deviceOf(row);
  }
}

const asBoolean = (b: boolean): boolean => b;
