/**
 * The DLMS session's firmware capability: image transfer (Blue Book §4.4.6, IC 18) to one
 * meter at a time over its association, with the meter type's object names and largest image
 * (`dlms.meterTypes.<type>`, config.ts). client/imageTransfer.ts and imageActivation.ts do the COSEM.
 *
 * Before any request the association's object list (IC 15 attribute 2) must name the Image
 * transfer object with its class: a meter without one is FirmwareTransferUnsupported at once.
 */
import type { FirmwareTransfer } from '../adapter.js';
import { FirmwareTransferUnsupported } from '../adapter.js';
import { DLMS_METER_OBJECTS, type DlmsMeterTypeSettings } from './config.js';
import { activateImage, readActiveFirmware, verifyImage } from './client/imageActivation.js';
import { readImageTransferState, sendImage, type ImageTransferClient } from './client/imageTransfer.js';
import { INTERFACE_CLASSES } from './cosem/classes.js';

/** Runs `work` on the association with the meter at `address`, with the class of every object it lists. */
export type WithImageClient = <T>(address: string, signal: AbortSignal, work: (client: ImageTransferClient, classes: ReadonlyMap<string, number>) => Promise<T>) => Promise<T>;

export function dlmsFirmwareTransfer(terminalId: string, meterType: DlmsMeterTypeSettings | undefined, withMeter: WithImageClient): FirmwareTransfer {
  const objects = { ...DLMS_METER_OBJECTS, ...meterType?.objects };
  const obis = objects.imageTransfer;
  const base = { obis, terminalId, ...(meterType?.verifyTimeoutMs === undefined ? {} : { verifyTimeoutMs: meterType.verifyTimeoutMs }) };
  const onImage: WithImageClient = (address, signal, work) => withMeter(address, signal, (client, classes) => {
    if (classes.get(obis) !== INTERFACE_CLASSES.imageTransfer.classId) {
      throw new FirmwareTransferUnsupported(`the meter's object list has no IC 18 Image transfer at ${obis}`, terminalId);
    }
    return work(client, classes);
  });
  return {
    readState: (address, signal) => onImage(address, signal, (client) => readImageTransferState(client, { ...base, signal })),
    send: (request, signal) => onImage(request.address, signal, (client) => sendImage(client, {
      ...request,
      // The configured maximum applies unless the caller knows better.
      ...(request.maxImageBytes === undefined && meterType?.maxImageBytes !== undefined ? { maxImageBytes: meterType.maxImageBytes } : {}),
    }, { ...base, signal })),
    verify: (address, image, signal) => onImage(address, signal, (client) => verifyImage(client, image, { ...base, signal })),
    activate: (address, activation, signal) => onImage(address, signal, (client) =>
      activateImage(client, activation, { ...base, schedule: objects.activationSchedule, signal })),
    readFirmware: (address, signal) => withMeter(address, signal, (client) =>
      readActiveFirmware(client, { identifier: objects.firmwareIdentifier, signature: objects.firmwareSignature }, { terminalId, signal })),
  };
}
