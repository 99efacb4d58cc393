/**
 * The `deviceRegister` section (read by src/deviceRegister): how often meters' nameplates are
 * read again, how many reads run at once, and how much history and how large a page it keeps.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';

export const DeviceRegisterConfig = Type.Object(
  {
    /** Off: no nameplate reads; the register still follows the registry and records firmware changes. */
    enabled: Type.Boolean({ default: true }),
    /** A meter's nameplate is read on first sight, then again every this many hours. */
    refreshHours: Type.Number({ minimum: 1, maximum: 24 * 366, default: 24 }),
    /** Nameplate reads in flight at once on this node, at most (never two on one terminal). */
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
    /** A failed read (or a busy terminal) is tried again after this many minutes. */
    retryMinutes: Type.Number({ minimum: 1, maximum: 24 * 60, default: 60 }),
    /** How often the duty looks for meters whose read is due, seconds. */
    scanSeconds: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
    /** Firmware history lines kept per device; older ones are dropped. */
    historyPerDevice: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    /** Devices read per batch of a CSV export (keyset pages, streamed). */
    exportBatch: Type.Integer({ minimum: 1, maximum: 1_000, default: 1_000 }),
  },
  { ...strict, default: {} },
);

export type DeviceRegisterConfig = Static<typeof DeviceRegisterConfig>;
