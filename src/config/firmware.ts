/**
 * The `firmware` section (read by src/firmware): how large an image may be, how a campaign's
 * runner slices transfers and paces retries, and how much a list or an export reads at a time.
 * Every queue, retry and wait of a campaign is bounded here.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';
import { FirmwareOtaConfig } from './firmwareOta.js';

export const FirmwareConfig = Type.Object(
  {
    /** Largest image accepted by POST /firmware/images (the request body limit of that route), bytes. */
    maxImageBytes: Type.Integer({ minimum: 1_024, maximum: 256 * 1024 * 1024, default: 8 * 1024 * 1024 }),
    /** Devices a campaign may target; a larger group is refused (422). */
    maxCampaignDevices: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100_000 }),
    /** How often the runner (leader only) looks for devices to take up, ms. */
    tickMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 1_000 }),
    /** Blocks per slice of a DLMS transfer: one slice holds the terminal's lane, so collection and commands wait at most one slice. */
    sliceBlocks: Type.Integer({ minimum: 1, maximum: 4_096, default: 32 }),
    /** Longest a slice (and a readState, a readFirmware) may take, ms. */
    sliceTimeoutMs: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 60_000 }),
    /** Longest image_verify or image_activate (with their polls) may take, ms. */
    verifyTimeoutMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 300_000 }),
    /** Tries per device; a transient failure (TIMEOUT, CONNECTION) after the last one fails the device. */
    maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
    /** Wait before the first retry of a device, doubled at each further try up to retryMaxBackoffMs, ms. */
    retryBackoffMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 30_000 }),
    retryMaxBackoffMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 600_000 }),
    /** Wait before trying a slice again when the terminal's background queue is full (COLLECT_BUSY; not counted as a try), ms. */
    busyBackoffMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 2_000 }),
    /** Devices in transfer at once over every campaign, whatever the campaigns' rates say. */
    maxConcurrentTransfers: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
    /** After a scheduled activation time, how long the runner waits to see the new version before the device fails, ms. */
    activationGraceMs: Type.Integer({ minimum: 1_000, maximum: 7 * 86_400_000, default: 3_600_000 }),
    /** How often a device waiting for a scheduled activation is read, ms. */
    activationPollMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 60_000 }),
    /** An MQTT terminal offered an image that reports nothing for this long fails its try (OTA_TIMEOUT, retried), ms. */
    otaReportTimeoutMs: Type.Integer({ minimum: 1_000, maximum: 7 * 86_400_000, default: 1_800_000 }),
    /** Devices read per batch of a CSV export (keyset pages, streamed). */
    exportBatch: Type.Integer({ minimum: 1, maximum: 1_000, default: 500 }),
    /** MQTT OTA offers and image downloads (src/config/firmwareOta.ts, read by src/firmware/ota). */
    ota: FirmwareOtaConfig,
  },
  { ...strict, default: {} },
);

export type FirmwareConfig = Static<typeof FirmwareConfig>;
