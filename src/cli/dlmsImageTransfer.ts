/**
 * `gridhead dlms image-transfer`: sends a firmware image to one meter over its association with
 * the head-end's own image transfer steps (protocols/dlms/client/imageTransfer.ts, Blue Book
 * §4.4.6 IC 18), verifies it, and activates it now (then reads the active firmware back) or at
 * an instant (IC 22). Progress goes to stderr: a bar redrawn in place on a terminal, a line
 * every 10 % otherwise; the result is one JSON document on stdout.
 */
import { createHash } from 'node:crypto';
import type { FirmwareImage } from '../../protocols/adapter.js';
import type { JsonValue } from '../../protocols/dlms/axdr/describe.js';
import type { DlmsClient } from '../../protocols/dlms/client/client.js';
import { activateImage, readActiveFirmware, verifyImage } from '../../protocols/dlms/client/imageActivation.js';
import { sendImage } from '../../protocols/dlms/client/imageTransfer.js';
import type { ImageTransferSpec } from './dlmsArgs.js';
import { percent, type ProgressOutput } from './importProgress.js';

/** Sends, verifies and (as asked) activates; returns the JSON the command prints. */
export async function runImageTransfer(client: DlmsClient, spec: ImageTransferSpec, bytes: Uint8Array, out: ProgressOutput, now: () => number = Date.now): Promise<Record<string, JsonValue>> {
  const image: FirmwareImage = { identifier: Uint8Array.from(Buffer.from(spec.identifier, 'utf8')), bytes };
  const progress = new BlockProgress(out, now);
  const sent = await sendImage(client, {
    address: '1', image, resume: spec.resume,
    onBlock: (held, total) => { progress.block(held, total); },
  }, spec.blockTimeoutMs === undefined ? {} : { blockTimeoutMs: spec.blockTimeoutMs });
  progress.done(sent.blocksHeld, sent.blocksTotal, sent.blocksSent);
  out.write('image-transfer: verifying\n');
  await verifyImage(client, image);
  const doc = {
    image: { identifier: spec.identifier, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    blockSize: sent.blockSize, blocksTotal: sent.blocksTotal, blocksSent: sent.blocksSent, initiated: sent.initiated, verified: true,
  };
  if (spec.activation.at === 'none') return { ...doc, activation: 'none' };
  out.write(spec.activation.at === 'now' ? 'image-transfer: activating\n' : `image-transfer: scheduling activation at ${new Date(spec.activation.time).toISOString()}\n`);
  await activateImage(client, spec.activation);
  if (spec.activation.at === 'scheduled') return { ...doc, activation: { at: new Date(spec.activation.time).toISOString() } };
  const firmware = await readActiveFirmware(client);
  return { ...doc, activation: 'now', firmware: { identifier: firmware.identifier, ...(firmware.signature === undefined ? {} : { signature: firmware.signature }) } };
}

/** A terminal is redrawn at most this often. */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;

class BlockProgress {
  private readonly tty: boolean;
  private readonly startedAt: number;
  private shownAt = 0;
  private lastDecile = -1;
  private firstHeld: number | undefined;

  constructor(private readonly out: ProgressOutput, private readonly now: () => number) {
    this.tty = out.isTTY === true;
    this.startedAt = now();
  }

  block(held: number, total: number): void {
    this.firstHeld ??= held - 1;
    if (this.tty) {
      const t = this.now();
      if (t - this.shownAt < REDRAW_MS && held < total) return;
      this.shownAt = t;
      const filled = Math.round((held / total) * BAR_WIDTH);
      // \r and erase-line: the bar is redrawn in place.
      this.out.write(`\r\x1b[2Kimage-transfer [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent(held, total).padStart(4)} ${held}/${total} blocks  ${this.rate(held)} blocks/s`);
      return;
    }
    const decile = Math.floor((held / total) * 10);
    if (decile === this.lastDecile) return;
    this.lastDecile = decile;
    this.out.write(`image-transfer: ${held}/${total} blocks (${percent(held, total)})\n`);
  }

  done(held: number, total: number, sent: number): void {
    if (this.tty && this.shownAt > 0) this.out.write('\n');
    const seconds = (this.now() - this.startedAt) / 1000;
    this.out.write(`image-transfer: the meter holds ${held}/${total} blocks; ${sent} sent in ${seconds.toFixed(1)} s\n`);
  }

  private rate(held: number): number {
    const seconds = (this.now() - this.startedAt) / 1000;
    return seconds <= 0 ? 0 : Math.round((held - (this.firstHeld ?? 0)) / seconds);
  }
}
