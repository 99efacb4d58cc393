/**
 * What the campaigns ask of other modules, each optional where the station may run without it:
 * the device register (src/deviceRegister) for the version a meter runs and to record a change,
 * and the MQTT OTA link (src/firmware/ota) for terminals that download their image themselves.
 */
import type { OtaChannel } from './ota/channel.js';

/** A firmware change as the device register records it. */
export interface FirmwareChange {
  readonly version: string;
  readonly signature?: string;
  readonly at: number;
  readonly source: 'read' | 'campaign' | 'ota';
  readonly campaignId?: string;
  readonly actor?: string;
}

/** The device register as the campaigns use it. */
export interface DeviceFirmwareRegister {
  /** The firmware version last known for the meter; undefined when never read. */
  currentVersionOf(meterId: string): Promise<string | undefined>;
  recordFirmware(kind: 'meter' | 'terminal', id: string, change: FirmwareChange): Promise<void>;
}

/** The OTA channel and where its terminals download an image from. */
export interface OtaLink {
  readonly channel: OtaChannel;
  /** A download URL for the image, valid for this offer only (a random, expiring token). */
  imageUrl(imageId: string, offerId: string): Promise<string>;
}
