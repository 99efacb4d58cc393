/**
 * Firmware image transfer (Blue Book IC 18) to one simulated meter over a real socket: bytes/s
 * of a 256 KiB image sent block by block (image_block_size 192, the simulator's default, as many
 * meters have), over the TCP wrapper and over HDLC. Beside it, the ceiling of this link and
 * meter: as many GET round trips as the transfer has blocks (one request, one reply each, nothing
 * to store), counted as if each carried a block. The meter runs in this process, so both figures
 * share the CPU with it and compare with each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsClient } from '../../protocols/dlms/client/client.js';
import { sendImage } from '../../protocols/dlms/client/imageTransfer.js';
import { openDlmsTransport, type DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';

const IMAGE_BYTES = 256 * 1024;
const BLOCK_SIZE = 192;
const FRAMINGS: readonly DlmsFraming[] = ['wrapper', 'hdlc'];
const image = { identifier: Uint8Array.from(Buffer.from('GRD-FW-BENCH')), bytes: Uint8Array.from({ length: IMAGE_BYTES }, (_, i) => (i * 131) & 0xff) };

const meters = new Map<DlmsFraming, DlmsMeterSimulator>();

beforeAll(async () => {
  for (const framing of FRAMINGS) {
    const sim = new DlmsMeterSimulator({ framing, seed: 5, serialNumber: '00000005', historyDays: 0, firmware: { blockSize: BLOCK_SIZE } });
    await sim.start();
    meters.set(framing, sim);
  }
});

afterAll(async () => {
  await Promise.all([...meters.values()].map((m) => m.stop()));
});

async function associated(framing: DlmsFraming): Promise<DlmsClient> {
  const sim = meters.get(framing);
  if (sim === undefined) throw new Error(`no ${framing} meter`);
  const transport = await openDlmsTransport({ host: '127.0.0.1', port: sim.port, framing, clientSap: MANAGEMENT_CLIENT, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
  const client = new DlmsClient(transport, { clientSap: MANAGEMENT_CLIENT, timeoutMs: 5_000, auth: { mechanism: 'low', password: '12345678' } });
  await client.associate();
  return client;
}

describe('DLMS image transfer throughput', () => {
  it.each(FRAMINGS)('sends a 256 KiB image over %s, beside the round-trip ceiling', async (framing) => {
    const client = await associated(framing);
    try {
      // Warm-up: the first blocks run through code the JIT has not optimised yet.
      await sendImage(client, { address: '1', image: { identifier: Uint8Array.of(0x57), bytes: image.bytes.subarray(0, 32 * 1024) }, resume: false });
      const started = performance.now();
      const progress = await sendImage(client, { address: '1', image, resume: false });
      const seconds = (performance.now() - started) / 1000;
      expect(progress.complete).toBe(true);

      // The ceiling: one GET round trip per block (image_block_size, a few octets each way).
      const ref = { classId: 18, obis: '0.0.44.0.0.255', attribute: 2 };
      const t0 = performance.now();
      for (let i = 0; i < progress.blocksTotal; i++) await client.get(ref);
      const ceilingSeconds = (performance.now() - t0) / 1000;

      const prefix = `image_transfer.${framing}`;
      console.log(`bench: ${prefix}.bytes_per_s = ${Math.round(IMAGE_BYTES / seconds)} B/s`);
      console.log(`bench: ${prefix}.blocks_per_s = ${Math.round(progress.blocksSent / seconds)} blocks/s`);
      console.log(`bench: ${prefix}.seconds_256KiB = ${seconds.toFixed(2)} s`);
      console.log(`bench: ${prefix}.ceiling_round_trips_bytes_per_s = ${Math.round((progress.blocksTotal * BLOCK_SIZE) / ceilingSeconds)} B/s`);
      console.log(`bench: ${prefix}.share_of_ceiling = ${((IMAGE_BYTES / seconds) / ((progress.blocksTotal * BLOCK_SIZE) / ceilingSeconds) * 100).toFixed(0)} %`);
      await client.release();
    } finally {
      await client.close();
    }
  });
});
