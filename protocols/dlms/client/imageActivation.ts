/**
 * The end of an image transfer (DLMS UA Blue Book §4.4.6, IC 18, process steps 5 to 8):
 * image_verify, a check of image_to_activate_info against the image sent, image_activate now
 * or at an instant through the Single action schedule (Blue Book §4.5.7, IC 22), and the
 * active firmware read back.
 *
 * image_verify and image_activate may answer `temporary-failure` while the meter is still at
 * it: the client then polls image_transfer_status, a bounded number of times, and a poll the
 * meter answers with `temporary-failure` (busy verifying) is just another poll.
 */
import { FirmwareTransferUnsupported, TimeoutError, type FirmwareImage, type ImageActivation, type ImageTransferStatus } from '../../adapter.js';
import { asDateTime, asNumber } from '../axdr/describe.js';
import { hex } from '../bytes.js';
import type { DlmsData } from '../axdr/data.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import {
  decodeImageToActivateInfo, encodeExecutionTime, IMAGE_METHOD_NO_DATA, IMAGE_OBIS, imageInfoDifferences, imageTransferStatusOf,
} from '../cosem/imageTransfer.js';
import { COSEM_OBIS, type CosemClient } from './cosemAccess.js';
import { DataAccessError } from './errors.js';
import { ImageActivationFailed, ImageInfoMismatch, ImageVerificationFailed } from './imageErrors.js';
import { identifierText, pause, readImageAttributes, type ImageTransferOptions } from './imageTransfer.js';

export interface ImagePollOptions extends ImageTransferOptions {
  /** How long verification (or activation) may take before TimeoutError; default 120 000 ms. */
  readonly verifyTimeoutMs?: number;
  /** Between two reads of image_transfer_status; default 250 ms. */
  readonly pollIntervalMs?: number;
}

export interface ActivationOptions extends ImagePollOptions {
  /** The IC 22 Single action schedule of image activation; default 0.0.15.0.2.255. */
  readonly schedule?: string;
}

const IMAGE = INTERFACE_CLASSES.imageTransfer;
const SCHEDULE = INTERFACE_CLASSES.singleActionSchedule;
const CLOCK = INTERFACE_CLASSES.clock;
const DATA = INTERFACE_CLASSES.data;

/**
 * Method 3 image_verify; until the meter reports image-verification-successful, then
 * image_to_activate_info (attribute 7) must name the image: its identifier, its size, and its
 * signature when both sides have one.
 */
export async function verifyImage(client: CosemClient, image: FirmwareImage, options: ImagePollOptions = {}): Promise<void> {
  const reply = await client.action(imageMethod(IMAGE.methods.image_verify, options), IMAGE_METHOD_NO_DATA, options.signal);
  if (!reply.ok && reply.error !== 'temporary-failure') throw new ImageVerificationFailed(await readStatus(client, options), reply.error, options.terminalId);
  const status = reply.ok
    ? await readStatus(client, options)
    : await pollStatus(client, 'image-verification-initiated', 'image verification', options);
  if (status === 'image-verification-failed' || (!reply.ok && status !== 'image-verification-successful')) {
    throw new ImageVerificationFailed(status, undefined, options.terminalId);
  }
  const [info] = await readImageAttributes(client, [IMAGE.attributes.image_to_activate_info], options);
  const entries = decodeImageToActivateInfo(info);
  const differs = imageInfoDifferences(entries, { identifier: image.identifier, size: image.bytes.length, signature: image.signature });
  if (differs.length > 0) {
    const reported = entries.map((e) => `${identifierText(e.identification)} (${e.size} octets)`).join(', ') || 'nothing';
    throw new ImageInfoMismatch(differs, `${differs.join(' and ')} differ: sent ${identifierText(image.identifier)} (${image.bytes.length} octets), the meter reports ${reported}`, options.terminalId);
  }
}

/**
 * Now: method 4 image_activate, polled until image-activation-successful. Scheduled: IC 22
 * attribute 4 execution_time set to the instant, in the meter's local time (the deviation its
 * clock reports); the meter then activates by itself.
 */
export async function activateImage(client: CosemClient, activation: ImageActivation, options: ActivationOptions = {}): Promise<void> {
  if (activation.at === 'scheduled') {
    await scheduleActivation(client, activation.time, options);
    return;
  }
  const reply = await client.action(imageMethod(IMAGE.methods.image_activate, options), IMAGE_METHOD_NO_DATA, options.signal);
  if (reply.ok) return;
  if (reply.error !== 'temporary-failure') throw new ImageActivationFailed(await readStatus(client, options), reply.error, 'image_activate', options.terminalId);
  const status = await pollStatus(client, 'image-activation-initiated', 'image activation', options);
  if (status !== 'image-activation-successful') throw new ImageActivationFailed(status, undefined, 'image_activate', options.terminalId);
}

/** The active firmware identifier (required) and signature (hex, where the meter has one) of IC 1 Data objects. */
export async function readActiveFirmware(
  client: CosemClient, objects: { readonly identifier?: string; readonly signature?: string } = {}, options: ImageTransferOptions = {},
): Promise<{ readonly identifier: string; readonly signature?: string }> {
  const identifierObis = objects.identifier ?? IMAGE_OBIS.firmwareIdentifier;
  const refs = [identifierObis, objects.signature ?? IMAGE_OBIS.firmwareSignature].map((obis) => ({ classId: DATA.classId, obis, attribute: DATA.attributes.value }));
  const [identifier, signature] = await client.getList(refs, options.signal);
  if (identifier?.ok !== true) {
    const why = identifier === undefined ? 'no result' : identifier.error;
    throw new FirmwareTransferUnsupported(`the active firmware identifier ${identifierObis} cannot be read (${why})`, options.terminalId);
  }
  return {
    identifier: cosemText(identifier.value),
    ...(signature?.ok === true && signature.value.type !== 'null-data' ? { signature: cosemHex(signature.value) } : {}),
  };
}

/** A visible/utf8-string as itself; an octet-string as text when printable ASCII, else hex. */
export function cosemText(d: DlmsData): string {
  if (d.type === 'visible-string' || d.type === 'utf8-string') return d.value;
  if (d.type === 'octet-string') return identifierText(d.value);
  return String(asNumber(d, 'value'));
}

/** An octet-string as hex; a string as itself. */
export function cosemHex(d: DlmsData): string {
  return d.type === 'octet-string' ? hex(d.value) : cosemText(d);
}

async function scheduleActivation(client: CosemClient, time: number, options: ActivationOptions): Promise<void> {
  const c = CLOCK.attributes;
  const [now, zone] = await client.getList([
    { classId: CLOCK.classId, obis: COSEM_OBIS.clock, attribute: c.time },
    { classId: CLOCK.classId, obis: COSEM_OBIS.clock, attribute: c.time_zone },
  ], options.signal);
  // The clock's own deviation includes daylight saving; time_zone (attribute 3) is the fallback.
  const deviation = (now?.ok === true ? asDateTime(now.value, 'clock time').deviation : undefined)
    ?? (zone?.ok === true ? asNumber(zone.value, 'time_zone') : undefined);
  if (deviation === undefined) throw new ImageActivationFailed(undefined, undefined, 'the meter\'s clock gives no deviation to schedule in its local time', options.terminalId);
  const ref = { classId: SCHEDULE.classId, obis: options.schedule ?? IMAGE_OBIS.activationSchedule, attribute: SCHEDULE.attributes.execution_time };
  const result = await client.set(ref, encodeExecutionTime(time, deviation), options.signal);
  if (result.ok) return;
  if (result.error === 'object-undefined' || result.error === 'object-class-inconsistent') {
    throw new FirmwareTransferUnsupported(`IC 22 Single action schedule ${ref.obis} is not in the meter (${result.error})`, options.terminalId);
  }
  throw new ImageActivationFailed(undefined, result.error, `set execution_time of ${ref.obis}`, options.terminalId);
}

/** Reads image_transfer_status until it leaves `while`, at most verifyTimeoutMs / pollIntervalMs times. */
async function pollStatus(client: CosemClient, whileStatus: ImageTransferStatus, what: string, options: ImagePollOptions): Promise<ImageTransferStatus | number> {
  const timeoutMs = options.verifyTimeoutMs ?? 120_000;
  const interval = options.pollIntervalMs ?? 250;
  const polls = Math.max(1, Math.ceil(timeoutMs / interval));
  for (let i = 0; i < polls; i++) {
    await pause(options, interval);
    const status = await readStatus(client, options, true);
    if (status !== undefined && status !== whileStatus) return status;
  }
  throw new TimeoutError(options.terminalId, timeoutMs, `${what} (image_transfer_status still ${whileStatus})`);
}

async function readStatus(client: CosemClient, options: ImageTransferOptions, busyIsUnknown: true): Promise<ImageTransferStatus | number | undefined>;
async function readStatus(client: CosemClient, options: ImageTransferOptions): Promise<ImageTransferStatus | number>;
async function readStatus(client: CosemClient, options: ImageTransferOptions, busyIsUnknown = false): Promise<ImageTransferStatus | number | undefined> {
  const ref = { classId: IMAGE.classId, obis: options.obis ?? IMAGE_OBIS.imageTransfer, attribute: IMAGE.attributes.image_transfer_status };
  const result = await client.get(ref, undefined, options.signal);
  if (result.ok) return imageTransferStatusOf(result.value);
  if (busyIsUnknown && result.error === 'temporary-failure') return undefined;
  throw new DataAccessError(result.error, `get image_transfer_status of ${ref.obis}`, options.terminalId);
}

function imageMethod(method: number, options: ImageTransferOptions) {
  return { classId: IMAGE.classId, obis: options.obis ?? IMAGE_OBIS.imageTransfer, method };
}
