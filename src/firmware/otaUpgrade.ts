/**
 * One device's upgrade through the MQTT OTA channel: the terminal is offered the image (a URL
 * with a per-offer token, the SHA-256, the size, the version) and downloads it itself; its
 * reports move the device's row. The runner takes the row up again only when its notBefore
 * passes without a report: that try timed out (OTA_TIMEOUT, retried like a lost connection).
 */
import { randomUUID } from 'node:crypto';
import { OtaFailed, OtaReportTimeout } from './errors.js';
import type { Campaign, CampaignDevice, DevicePatch, FirmwareImageRecord } from './model.js';
import type { OtaReport } from './ota/channel.js';
import type { OtaLink } from './ports.js';

/** The report's progress as blocks of a thousandth, so the device list shows it like a transfer. */
const PROGRESS_STEPS = 1000;

export async function offerOverOta(
  link: OtaLink, campaign: Campaign, image: FirmwareImageRecord, device: CampaignDevice, reportTimeoutMs: number, now: number,
): Promise<DevicePatch> {
  if (device.offerId !== null && device.state !== 'pending') throw new OtaReportTimeout(device.terminalId, reportTimeoutMs);
  const offerId = randomUUID();
  const url = await link.imageUrl(image.id, offerId);
  await link.channel.offer(device.terminalId, {
    offerId, url, sha256: image.sha256, size: image.size, version: image.version, activate: campaign.activation.at === 'now' ? 'now' : 'later',
  });
  return { state: 'transferring', offerId, blocksHeld: 0, blocksTotal: PROGRESS_STEPS, notBefore: now + reportTimeoutMs };
}

/** What a report does to the device's row; `failure` ends the try. */
export function reportPatch(
  report: OtaReport, device: CampaignDevice, image: FirmwareImageRecord, reportTimeoutMs: number, now: number,
): { readonly patch: DevicePatch; readonly failure?: Error; readonly done?: boolean } {
  const waitMore = now + reportTimeoutMs;
  switch (report.state) {
    case 'downloading':
      return { patch: { state: 'transferring', blocksHeld: Math.round(Math.min(1, Math.max(0, report.progress ?? 0)) * PROGRESS_STEPS), notBefore: waitMore } };
    case 'downloaded':
      return { patch: { state: 'verifying', blocksHeld: PROGRESS_STEPS, notBefore: waitMore } };
    case 'verified':
      return { patch: { state: 'activating', blocksHeld: PROGRESS_STEPS, notBefore: waitMore } };
    case 'activated':
      if (report.version !== undefined && report.version !== image.version) {
        return { patch: {}, failure: new OtaFailed(device.terminalId, `activated version ${JSON.stringify(report.version)}, not ${JSON.stringify(image.version)}`) };
      }
      return { patch: { state: 'done', toVersion: report.version ?? image.version, blocksHeld: PROGRESS_STEPS, reason: null, code: null }, done: true };
    case 'failed':
      return { patch: {}, failure: new OtaFailed(device.terminalId, report.reason ?? 'no reason given') };
  }
}
