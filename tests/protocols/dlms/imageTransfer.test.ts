/**
 * Firmware image transfer (Blue Book §4.4.6, IC 18) through the DLMS adapter's session, against
 * the simulated meter over real TCP: the TCP wrapper and HDLC, each with low-level security and
 * with HLS-GMAC + suite-0 authenticated encryption. What reached the meter is counted at its
 * object model, so "resumed from block k" is what the meter saw, not what the client says.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FirmwareTransferUnsupported, type FirmwareImage, type TerminalSession } from '../../../protocols/adapter.js';
import { DlmsAdapter } from '../../../protocols/dlms/adapter.js';
import {
  ImageBlockSizeChanged, ImageRefused, ImageTooLarge, ImageVerificationFailed,
} from '../../../protocols/dlms/client/imageErrors.js';
import type { DlmsEndpoint, DlmsMeterTypeSettings } from '../../../protocols/dlms/config.js';
import { MemorySecurityCounters } from '../../../protocols/dlms/security/memoryCounters.js';
import { QUANTITIES } from '../../../src/domain/quantity.js';
import type { FirmwareOptions } from '../../../simulators/dlms/imageTransfer.js';
import { DlmsMeterSimulator, HLS_CLIENT, MANAGEMENT_CLIENT } from '../../../simulators/dlms/server.js';

const never = new AbortController().signal;
const EK = randomBytes(16);
const AK = randomBytes(16);
const METER_TITLE = Uint8Array.from(Buffer.from('4D4D4D0000000012', 'hex'));
const STATION_TITLE = Uint8Array.from(Buffer.from('4752440000000000', 'hex'));

const VARIANTS = [
  { name: 'wrapper, LLS', framing: 'wrapper', hls: false },
  { name: 'HDLC, LLS', framing: 'hdlc', hls: false },
  { name: 'wrapper, HLS-GMAC auth-enc', framing: 'wrapper', hls: true },
  { name: 'HDLC, HLS-GMAC auth-enc', framing: 'hdlc', hls: true },
] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const firmwareImage = (size: number, identifier = 'GRD-FW-2.0.0'): FirmwareImage => ({
  identifier: Uint8Array.from(Buffer.from(identifier)),
  bytes: Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff),
});

describe.each(VARIANTS)('image transfer over $name', ({ framing, hls }) => {
  /** A simulated meter with these firmware options, an adapter session on it, and the block numbers the meter received. */
  async function meter(firmware: FirmwareOptions = {}, meterType: DlmsMeterTypeSettings = {}, seed = 18) {
    const sim = new DlmsMeterSimulator({
      framing, seed, serialNumber: `000000${seed}`, historyDays: 0, firmware: { verifyMs: 20, activateMs: 20, ...firmware },
      ...(hls ? { security: { systemTitle: METER_TITLE, keys: { ek: EK, ak: AK }, protection: 'auth-enc' as const } } : {}),
    });
    await sim.start();
    cleanups.push(() => sim.stop());
    const blocks: number[] = [];
    const action = sim.meter.action.bind(sim.meter);
    sim.meter.action = (ref, parameters, ctx) => {
      // Blue Book IC 18 method 2 image_block_transfer: structure { image_block_number, image_block_value }.
      if (ref.classId === 18 && ref.methodId === 2 && parameters?.type === 'structure' && parameters.value[0]?.type === 'double-long-unsigned') {
        blocks.push(parameters.value[0].value);
      }
      return action(ref, parameters, ctx);
    };
    const counters = new MemorySecurityCounters(1);
    const adapter = new DlmsAdapter({
      catalogue: QUANTITIES, timeoutMs: 3_000, meterTypes: { 'fw-test': meterType },
      passwordFor: () => '12345678',
      securityFor: () => ({ protection: 'auth-enc', systemTitle: STATION_TITLE, keys: { ek: EK, ak: AK }, counters }),
    });
    cleanups.push(() => adapter.close());
    const endpoint: DlmsEndpoint = {
      host: '127.0.0.1', port: sim.port, framing, meterType: 'fw-test',
      ...(hls ? { clientSap: HLS_CLIENT, auth: 'high-gmac', security: 'auth-enc' } : { clientSap: MANAGEMENT_CLIENT, auth: 'low' }),
    };
    const session = await adapter.open({ id: `fw-${seed}`, endpoint }, never);
    const firmwareOf = (s: TerminalSession) => {
      if (s.firmware === undefined) throw new Error('the DLMS session offers no firmware transfer');
      return s.firmware;
    };
    return { sim, session, firmware: firmwareOf(session), blocks, adapter };
  }

  it('transfers a whole image, verifies it, activates it now and reads the new version and the nameplate back', async () => {
    const { firmware, session, blocks } = await meter();
    const image = firmwareImage(5_000);
    const state = await firmware.readState('1', never);
    expect(state).toEqual({ enabled: true, blockSize: 192, status: 'image-transfer-not-initiated', firstNotTransferred: 0 });
    const seen: number[] = [];
    const progress = await firmware.send({ address: '1', image, resume: false, onBlock: (held) => seen.push(held) }, never);
    expect(progress).toEqual({ blockSize: 192, blocksTotal: 27, blocksHeld: 27, blocksSent: 27, complete: true, initiated: true });
    expect(blocks).toEqual([...Array(27).keys()]);
    expect(seen.at(-1)).toBe(27);
    await firmware.verify('1', image, never);
    await firmware.activate('1', { at: 'now' }, never);
    expect(await firmware.readFirmware('1', never)).toEqual({
      identifier: 'GRD-FW-2.0.0', signature: createHash('sha256').update(image.bytes).digest('hex'),
    });
    expect(await session.readNameplate?.('1', never)).toMatchObject({
      manufacturer: 'GRD', serial: expect.any(String) as unknown, model: 'GRD-SIM-3P', hardwareVersion: 'HW-1.0', firmwareVersion: 'GRD-FW-2.0.0',
    });
  });

  it('resumes after a connection dropped at block 10 from the meter\'s first not transferred block, not from 0', async () => {
    const { sim, firmware, blocks } = await meter();
    const image = firmwareImage(5_000);
    sim.meter.firmware.dropAtBlock = 10;
    await expect(firmware.send({ address: '1', image, resume: false }, never)).rejects.toThrow();
    expect(blocks).toEqual([...Array(11).keys()]);
    blocks.length = 0;
    const progress = await firmware.send({ address: '1', image, resume: true, expectedBlockSize: 192 }, never);
    expect(progress).toMatchObject({ blocksTotal: 27, blocksHeld: 27, blocksSent: 17, complete: true, initiated: false });
    expect(blocks).toEqual([...Array(17).keys()].map((i) => i + 10));
    await firmware.verify('1', image, never);
  });

  it('sends in slices of maxBlocks, each continuing where the meter stands', async () => {
    const { firmware, blocks } = await meter();
    const image = firmwareImage(2_000);
    const first = await firmware.send({ address: '1', image, resume: false, maxBlocks: 4 }, never);
    expect(first).toMatchObject({ blocksTotal: 11, blocksHeld: 4, blocksSent: 4, complete: false, initiated: true });
    const second = await firmware.send({ address: '1', image, resume: true, maxBlocks: 100, expectedBlockSize: first.blockSize }, never);
    expect(second).toMatchObject({ blocksHeld: 11, blocksSent: 7, complete: true, initiated: false });
    expect(blocks).toEqual([...Array(11).keys()]);
  });

  it('refills a block the meter acknowledged but does not hold, from image_transferred_blocks_status', async () => {
    const { sim, firmware, blocks } = await meter();
    const image = firmwareImage(2_000);
    const action = sim.meter.action.bind(sim.meter);
    let lost = false;
    // A meter that acknowledges block 5 once and loses it: its bit-string shows the gap.
    sim.meter.action = (ref, parameters, ctx) => {
      const n = parameters?.type === 'structure' && parameters.value[0]?.type === 'double-long-unsigned' ? parameters.value[0].value : -1;
      if (ref.classId === 18 && ref.methodId === 2 && n === 5 && !lost) {
        lost = true;
        return { result: 'success' };
      }
      return action(ref, parameters, ctx);
    };
    const progress = await firmware.send({ address: '1', image, resume: false }, never);
    expect(progress).toMatchObject({ blocksTotal: 11, blocksHeld: 11, blocksSent: 12, complete: true });
    // What the meter kept: every block in order but 5, then 5 again once the bit-string showed it missing.
    expect(blocks).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 5]);
    await firmware.verify('1', image, never);
  });

  it('reports a verification failure with the meter\'s image_transfer_status', async () => {
    const { firmware } = await meter({ failVerification: true });
    const image = firmwareImage(500);
    await firmware.send({ address: '1', image, resume: false }, never);
    const err = await firmware.verify('1', image, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageVerificationFailed);
    expect(err).toMatchObject({ code: 'IMAGE_VERIFICATION_FAILED', status: 'image-verification-failed' });
  });

  it('refuses an image larger than the meter takes: configured, before initiate; else as the meter answers', async () => {
    const configured = await meter({ maxImageBytes: 1_000 }, { maxImageBytes: 1_000 });
    await expect(configured.firmware.send({ address: '1', image: firmwareImage(1_001), resume: false }, never)).rejects.toBeInstanceOf(ImageTooLarge);
    expect(configured.blocks).toEqual([]);
    const unconfigured = await meter({ maxImageBytes: 1_000 }, {}, 19);
    const err = await unconfigured.firmware.send({ address: '1', image: firmwareImage(1_001), resume: false }, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRefused);
    expect(err).toMatchObject({ code: 'IMAGE_REFUSED', result: 'other-reason' });
  });

  it('refuses a meter whose block size changes between reads', async () => {
    const { firmware, blocks } = await meter({ blockSizes: [192, 128] });
    const err = await firmware.send({ address: '1', image: firmwareImage(1_000), resume: false }, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBlockSizeChanged);
    expect(err).toMatchObject({ expected: 192, reported: 128 });
    expect(blocks).toEqual([]);
  });

  it('reports an activation the meter refuses (the image is not verified) with its action result and status', async () => {
    const { firmware } = await meter();
    await firmware.send({ address: '1', image: firmwareImage(300), resume: false }, never);
    await expect(firmware.activate('1', { at: 'now' }, never))
      .rejects.toMatchObject({ code: 'IMAGE_ACTIVATION_FAILED', result: 'other-reason', status: 'image-transfer-initiated' });
  });

  it('reports an identifier the meter refuses with its action result', async () => {
    const { firmware } = await meter({ refuseIdentifiers: ['BAD-FW'] });
    await expect(firmware.send({ address: '1', image: firmwareImage(100, 'BAD-FW'), resume: false }, never))
      .rejects.toMatchObject({ code: 'IMAGE_REFUSED', result: 'other-reason', message: expect.stringContaining('BAD-FW') as unknown });
  });

  it('says a meter without an image transfer object cannot take firmware, and still reads its version', async () => {
    const { firmware } = await meter({ imageTransfer: false });
    await expect(firmware.readState('1', never)).rejects.toBeInstanceOf(FirmwareTransferUnsupported);
    expect((await firmware.readFirmware('1', never)).identifier).toBe('GRD-FW-1.0.0');
  });
});
