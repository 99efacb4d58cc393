/**
 * One meter's upgrade over its terminal's session (DLMS image transfer, Blue Book §4.4.6 IC 18),
 * from the state its row holds, every slice through the lane's background priority
 * (`sessionInBackground`), so reads and operator commands on the terminal go first:
 *
 *   pending:      read the active firmware; already the image's version → skipped
 *   transferring: image_transfer_initiate once, then image_block_transfer in slices of
 *                 `firmware.sliceBlocks`; blocksHeld/blocksTotal/initiated written after each
 *   verifying:    image_verify (polled by the client until 3 verification-successful)
 *   verified:     image_activate now, or the activation schedule (IC 22) set
 *   activating:   read the active firmware until it is the image's version → done
 *
 * A row marked `initiated` resumes (`resume: true`): the meter continues from its own
 * image_first_not_transferred_block_number, so a restart never sends the image from block 0
 * again. `initiated` is written before the slice that initiates, so a crash inside that slice
 * resumes too; only a meter that reports image-transfer-not-initiated is initiated afresh.
 */
import type { FirmwareImage, FirmwareTransfer, TerminalSession } from '../../protocols/adapter.js';
import { FirmwareTransferUnsupported } from '../../protocols/adapter.js';
import { ActivationNotSeen, FirmwareVersionMismatch } from './errors.js';
import type { Campaign, CampaignDevice, DevicePatch, FirmwareImageRecord } from './model.js';

/** The collection lanes as the runner uses them. */
export interface SessionLanes {
  sessionInBackground<T>(
    terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<T>;
}

export interface SessionUpgrade {
  readonly lanes: SessionLanes;
  readonly campaign: Campaign;
  readonly image: FirmwareImageRecord;
  readonly firmware: FirmwareImage;
  /** The meter's address on its terminal. */
  readonly address: string;
  readonly limits: { readonly sliceBlocks: number; readonly sliceTimeoutMs: number; readonly verifyTimeoutMs: number; readonly activationGraceMs: number; readonly activationPollMs: number };
  readonly signal: AbortSignal;
  readonly now: () => number;
  /** Writes the step's changes; answers the device as stored. */
  save(patch: DevicePatch): Promise<CampaignDevice>;
  /** Whether another slice may start: the campaign still runs, inside its window, on a runner still active. */
  mayGoOn(): Promise<boolean>;
  /** An audit line of the device's step. */
  step(event: string, detail?: Record<string, unknown>): Promise<void>;
}

/** 'ended': done or skipped; 'waiting': come back at the row's notBefore; 'held': paused, cancelled or out of the window. */
export type UpgradeOutcome = 'ended' | 'waiting' | 'held';

export async function upgradeOverSession(u: SessionUpgrade, device: CampaignDevice): Promise<UpgradeOutcome> {
  let d = device;
  const inLane = <T>(what: string, timeoutMs: number, work: (fw: FirmwareTransfer, signal: AbortSignal) => Promise<T>): Promise<T> =>
    u.lanes.sessionInBackground(d.terminalId, what, (session, signal) => {
      if (session.firmware === undefined) throw new FirmwareTransferUnsupported('the session offers no image transfer', d.terminalId);
      return work(session.firmware, signal);
    }, { timeoutMs, signal: u.signal });
  const readVersion = () => inLane('firmware identity read', u.limits.sliceTimeoutMs, (fw, s) => fw.readFirmware(u.address, s));
  const version = u.image.version;

  if (d.state === 'pending') {
    if (!await u.mayGoOn()) return 'held';
    const current = await readVersion();
    if (current.identifier === version) {
      await u.save({ state: 'skipped', fromVersion: current.identifier, toVersion: current.identifier });
      await u.step('skipped', { version });
      return 'ended';
    }
    d = await u.save({ state: 'transferring', fromVersion: current.identifier, initiated: false, blocksHeld: 0 });
    await u.step('transfer-started', { fromVersion: current.identifier });
  }

  if (d.state === 'transferring') {
    let resume = d.initiated;
    if (resume) {
      const state = await inLane('firmware transfer state', u.limits.sliceTimeoutMs, (fw, s) => fw.readState(u.address, s));
      // Nothing held: initiating afresh loses nothing (Blue Book §4.4.6.4 step 2).
      if (state.status === 'image-transfer-not-initiated') resume = false;
    }
    for (;;) {
      if (!await u.mayGoOn()) return 'held';
      if (!resume && !d.initiated) d = await u.save({ initiated: true });
      const sliceResume = resume;
      const expected = d.blockSize > 0 ? d.blockSize : undefined;
      const progress = await inLane('firmware transfer slice', u.limits.sliceTimeoutMs, (fw, s) => fw.send({
        address: u.address, image: u.firmware, resume: sliceResume, maxBlocks: u.limits.sliceBlocks, ...(expected === undefined ? {} : { expectedBlockSize: expected }),
      }, s));
      resume = true;
      d = await u.save({ blocksHeld: progress.blocksHeld, blocksTotal: progress.blocksTotal, blockSize: progress.blockSize, initiated: true });
      if (progress.complete) break;
    }
    d = await u.save({ state: 'verifying' });
    await u.step('transferred', { blocks: d.blocksTotal, blockSize: d.blockSize });
  }

  if (d.state === 'verifying') {
    if (!await u.mayGoOn()) return 'held';
    await inLane('firmware verify', u.limits.verifyTimeoutMs, (fw, s) => fw.verify(u.address, u.firmware, s));
    d = await u.save({ state: 'verified' });
    await u.step('verified');
  }

  const activation = u.campaign.activation;
  if (d.state === 'verified') {
    if (!await u.mayGoOn()) return 'held';
    // A restart after the activation went out, before its state was written: the meter already runs the image.
    const before = await readVersion();
    if (before.identifier !== version) {
      await inLane('firmware activate', u.limits.verifyTimeoutMs, (fw, s) => fw.activate(u.address, activation, s));
    }
    d = await u.save({ state: 'activating', notBefore: activation.at === 'scheduled' ? activation.time : 0 });
    await u.step('activation', activation.at === 'scheduled' ? { at: new Date(activation.time).toISOString() } : { at: 'now' });
    if (activation.at === 'scheduled' && u.now() < activation.time) return 'waiting';
  }

  // activating
  const current = await readVersion();
  if (current.identifier === version) {
    await u.save({ state: 'done', toVersion: current.identifier, reason: null, code: null });
    await u.step('done', { version, ...(current.signature === undefined ? {} : { signature: current.signature }) });
    return 'ended';
  }
  if (activation.at === 'now') throw new FirmwareVersionMismatch(version, current.identifier);
  if (u.now() >= activation.time + u.limits.activationGraceMs) throw new ActivationNotSeen(version, current.identifier);
  await u.save({ notBefore: u.now() + u.limits.activationPollMs });
  return 'waiting';
}
