/**
 * The image transfer steps' decisions that a meter following the Blue Book can drive but our
 * simulated meter does not (a small PDU size, busy answers to polls, a meter that never
 * finishes verifying), against a scripted meter in memory. The transfer itself against a
 * simulated meter over TCP is in imageTransferSocket.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../../protocols/adapter.js';
import type { Apdu } from '../../../../protocols/dlms/apduCodec.js';
import type { DataAccessResult, ActionResult } from '../../../../protocols/dlms/apdu/results.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { DEFAULT_CLIENT_CONFORMANCE } from '../../../../protocols/dlms/client/client.js';
import { verifyImage } from '../../../../protocols/dlms/client/imageActivation.js';
import {
  ImageBlockExceedsPdu, ImageBlockSizeChanged, ImageInfoMismatch, ImageRefused, ImageTooLarge, ImageTransferDisabled, ImageVerificationFailed,
} from '../../../../protocols/dlms/client/imageErrors.js';
import { sendImage } from '../../../../protocols/dlms/client/imageTransfer.js';
import { aareAccepted, connect, invokeOf, type Step } from './scriptedServer.js';

const image = { identifier: Uint8Array.from(Buffer.from('FW-2')), bytes: Uint8Array.from({ length: 20 }, (_, i) => i) };
const noWait = { sleep: () => Promise.resolve() };

const u32 = (value: number): DlmsData => ({ type: 'double-long-unsigned', value });
const status = (n: number): DlmsData => ({ type: 'enum', value: n });

/** Attributes 2, 4, 5, 6 as a GET-with-list answer. */
function state(blockSize: number, first: number, enabled: boolean, st: number): Step {
  return (req) => ({
    type: 'get-response-with-list', invoke: invokeOf(req),
    results: ([u32(blockSize), u32(first), { type: 'boolean', value: enabled }, status(st)] satisfies DlmsData[]).map((data) => ({ ok: true as const, data })),
  });
}
const act = (result: ActionResult): Step => (req) => ({ type: 'action-response-normal', invoke: invokeOf(req), response: { result } });
const get = (data: DlmsData): Step => (req) => ({ type: 'get-response-normal', invoke: invokeOf(req), result: { ok: true, data } });
const refuseGet = (result: DataAccessResult): Step => (req) => ({ type: 'get-response-normal', invoke: invokeOf(req), result: { ok: false, result } });
const actions = (requests: readonly Apdu[]) => requests.flatMap((r) => (r.type === 'action-request-normal' ? [r] : []));

describe('image transfer against a scripted meter', () => {
  it('refuses an image larger than the configured maximum before asking the meter anything', async () => {
    const { client, server } = await connect([]);
    await expect(sendImage(client, { address: '1', image, resume: false, maxImageBytes: 19 })).rejects.toBeInstanceOf(ImageTooLarge);
    expect(server.requests.map((r) => r.type)).toEqual(['aarq']);
  });

  it('refuses a block size whose image_block_transfer request would not fit the meter\'s PDU, before initiating', async () => {
    const { client, server } = await connect([state(200, 0, true, 0)], {}, aareAccepted(DEFAULT_CLIENT_CONFORMANCE, 128));
    const err = await sendImage(client, { address: '1', image, resume: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBlockExceedsPdu);
    expect(err).toMatchObject({ blockSize: 200, maxRequestBytes: 128 });
    expect(actions(server.requests)).toEqual([]);
  });

  it('refuses a meter whose block size is not the one seen before, and one with transfer disabled', async () => {
    const { client } = await connect([state(16, 0, true, 1), state(8, 0, false, 1)]);
    await expect(sendImage(client, { address: '1', image, resume: true, expectedBlockSize: 8 })).rejects.toMatchObject({ code: 'IMAGE_BLOCK_SIZE_CHANGED', expected: 8, reported: 16 });
    await expect(sendImage(client, { address: '1', image, resume: true })).rejects.toBeInstanceOf(ImageTransferDisabled);
  });

  it('refuses a block size that changes between the reads before and after initiate', async () => {
    const { client } = await connect([state(8, 0, true, 0), act('success'), state(16, 0, true, 1)]);
    await expect(sendImage(client, { address: '1', image, resume: false })).rejects.toBeInstanceOf(ImageBlockSizeChanged);
  });

  it('reports a refused initiate with the meter\'s action result', async () => {
    const { client } = await connect([state(8, 0, true, 0), act('other-reason')]);
    await expect(sendImage(client, { address: '1', image, resume: false })).rejects.toEqual(expect.objectContaining({ code: 'IMAGE_REFUSED', result: 'other-reason' }));
    expect(new ImageRefused('other-reason', 'FW-2').message).toContain('other-reason');
  });

  it('asks again for a block the meter answered temporary-failure, then sends exactly block-size blocks, the last shorter', async () => {
    const { client, server } = await connect([
      state(8, 0, true, 0), act('success'), state(8, 0, true, 1),
      act('success'), act('temporary-failure'), act('success'), act('success'),
      get({ type: 'bit-string', value: { bits: 3, bytes: Uint8Array.of(0xe0) } }),
    ]);
    const progress = await sendImage(client, { address: '1', image, resume: false }, noWait);
    expect(progress).toEqual({ blockSize: 8, blocksTotal: 3, blocksHeld: 3, blocksSent: 3, complete: true, initiated: true });
    const blocks = actions(server.requests).slice(1).map((r) => r.parameters);
    const sizes = blocks.map((p) => (p?.type === 'structure' && p.value[1]?.type === 'octet-string' ? p.value[1].value.length : -1));
    expect(sizes).toEqual([8, 8, 8, 4]);
  });

  it('polls image_transfer_status through busy answers until verification fails, and names the status', async () => {
    const { client } = await connect([act('temporary-failure'), refuseGet('temporary-failure'), get(status(2)), get(status(4))]);
    const err = await verifyImage(client, image, { ...noWait, pollIntervalMs: 10, verifyTimeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageVerificationFailed);
    expect(err).toMatchObject({ status: 'image-verification-failed' });
  });

  it('gives up polling after verifyTimeoutMs / pollIntervalMs reads of a status that does not move', async () => {
    const { client, server } = await connect([act('temporary-failure')], {}, aareAccepted(), get(status(2)));
    await expect(verifyImage(client, image, { ...noWait, pollIntervalMs: 250, verifyTimeoutMs: 1_000 })).rejects.toBeInstanceOf(TimeoutError);
    expect(server.requests.filter((r) => r.type === 'get-request-normal')).toHaveLength(4);
  });

  it('checks image_to_activate_info after a verification that succeeded, and names what differs', async () => {
    const info = (identifier: string, size: number): DlmsData => ({
      type: 'array', value: [{ type: 'structure', value: [u32(size), { type: 'octet-string', value: Uint8Array.from(Buffer.from(identifier)) }, { type: 'octet-string', value: new Uint8Array(0) }] }],
    });
    const { client } = await connect([act('success'), get(status(3)), get(info('FW-1', 20)), act('success'), get(status(3)), get(info('FW-2', 21))]);
    await expect(verifyImage(client, image, noWait)).rejects.toMatchObject({ code: 'IMAGE_INFO_MISMATCH', differs: ['identification'] });
    const err = await verifyImage(client, image, noWait).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageInfoMismatch);
    expect(err).toMatchObject({ differs: ['size'] });
  });

  it('gives up on a block the meter does not acknowledge within blockTimeoutMs', async () => {
    const { client } = await connect([state(8, 0, true, 0), act('success'), state(8, 0, true, 1), () => 'silence']);
    await expect(sendImage(client, { address: '1', image, resume: false }, { blockTimeoutMs: 50 }))
      .rejects.toEqual(expect.objectContaining({ code: 'TIMEOUT', message: expect.stringContaining('block 0') as unknown }));
  });
});
