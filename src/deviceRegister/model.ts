/**
 * The device register (设备档案): what each meter and terminal says it is (its nameplate), when
 * the registry first and last had it, and the history of its firmware. Shared shapes of
 * src/deviceRegister; the store, the service, the refresh duty and the API speak these.
 */

export type DeviceKind = 'meter' | 'terminal';
export const DEVICE_KINDS: readonly DeviceKind[] = ['meter', 'terminal'];

/** How a firmware version became known: read from the device, set by a campaign, reported by an OTA terminal. */
export type FirmwareSource = 'read' | 'campaign' | 'ota';
export const FIRMWARE_SOURCES: readonly FirmwareSource[] = ['read', 'campaign', 'ota'];

export interface DeviceRecord {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  readonly firmwareVersion: string | null;
  /** Hex, as the device reports it (DLMS 1.0.0.2.8.255). */
  readonly firmwareSignature: string | null;
  readonly hardwareVersion: string | null;
  /** When the nameplate was last read from the device; null: never. */
  readonly nameplateReadAt: number | null;
  /** When the registry first had the device (its row's creation time where the registry keeps one). */
  readonly installedAt: number;
  /** When the registry dropped it; null while it is in the registry. The row stays. */
  readonly removedAt: number | null;
}

/** One line of a device's firmware history: a version that replaced another. */
export interface FirmwareChange {
  readonly at: number;
  /** The version before; null when none was known (a campaign or an OTA report on a device never read). */
  readonly from: string | null;
  readonly to: string;
  readonly source: FirmwareSource;
  readonly campaignId: string | null;
  readonly actor: string | null;
}

/** A firmware version a campaign or an OTA report says a device now runs. */
export interface FirmwareReport {
  readonly version: string;
  readonly signature?: string;
  readonly at: number;
  readonly source: FirmwareSource;
  readonly campaignId?: string;
  readonly actor?: string;
}

/** The register's filters: each an equality, `areaIds` the devices of those areas (meters in them, terminals of those meters). */
export interface DeviceFilter {
  readonly kind?: DeviceKind;
  readonly firmwareVersion?: string;
  readonly model?: string;
  readonly manufacturer?: string;
  readonly areaIds?: readonly string[];
}

/** Where a page ended: devices come by (kind, id), ids in byte order on both drivers. */
export interface DeviceCursor {
  readonly kind: DeviceKind;
  readonly id: string;
}

export interface DeviceQuery extends DeviceFilter {
  readonly after?: DeviceCursor;
  readonly limit: number;
}

export interface DevicePage {
  readonly items: DeviceRecord[];
  readonly next: DeviceCursor | null;
}
