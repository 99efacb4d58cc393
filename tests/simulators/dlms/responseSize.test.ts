/**
 * The simulated meter's reply sizes over real TCP: a client offering client-max-receive-pdu-size
 * 0xFFFF reads the association's object list (0.0.40.0.0.255 attribute 2, over 2 kB); every
 * APDU the meter sends stays within the 1024 octets it announced (server-max-receive-pdu-size),
 * so the list comes in blocks, and the blocks reassemble to the whole list. Both framings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsClient } from '../../../protocols/dlms/client/client.js';
import { readObjectList } from '../../../protocols/dlms/client/cosem.js';
import { formatObis } from '../../../protocols/dlms/cosem/obis.js';
import type { ApduTransport } from '../../../protocols/dlms/client/transport.js';
import { openDlmsTransport, type DlmsFraming } from '../../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator, PUBLIC_CLIENT } from '../../../simulators/dlms/server.js';

const ANNOUNCED = 1024;

/** Records the length and first octets of every APDU the meter answers with. */
class ReplyRecorder implements ApduTransport {
  readonly replies: Uint8Array[] = [];
  constructor(private readonly inner: ApduTransport) {}
  async request(apdu: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const reply = await this.inner.request(apdu, signal);
    this.replies.push(reply);
    return reply;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe.each(['wrapper', 'hdlc'] as const)('simulated meter reply sizes over %s', (framing: DlmsFraming) => {
  let sim: DlmsMeterSimulator;
  beforeAll(async () => {
    sim = new DlmsMeterSimulator({ framing, seed: 11, serialNumber: '00000011', historyDays: 1, maxPduSize: ANNOUNCED });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('sends the object list to a client offering 0xFFFF in blocks no longer than the 1024 octets it announced', async () => {
    const transport = new ReplyRecorder(await openDlmsTransport({
      host: '127.0.0.1', port: sim.port, framing, clientSap: PUBLIC_CLIENT, serverSap: 1, timeoutMs: 5_000,
    }, new AbortController().signal));
    const client = new DlmsClient(transport, { clientSap: PUBLIC_CLIENT, timeoutMs: 5_000, maxReceivePduSize: 0xffff, auth: { mechanism: 'none' } });
    try {
      const association = await client.associate();
      expect(association.serverMaxReceivePduSize).toBe(ANNOUNCED);
      const objects = await readObjectList(client);
      // The whole list, in the meter's order.
      expect(objects.map((o) => o.obis)).toEqual(sim.meter.objects.map((o) => formatObis(o.logicalName)));
      const gets = transport.replies.slice(1);
      // Get-Response-With-Datablock (C4 02) each time: the list does not fit one APDU.
      expect(gets.length).toBeGreaterThan(2);
      expect(gets.every((r) => r[0] === 0xc4 && r[1] === 0x02)).toBe(true);
      expect(gets.reduce((n, r) => n + r.length, 0)).toBeGreaterThan(2 * ANNOUNCED);
      for (const r of transport.replies) expect(r.length).toBeLessThanOrEqual(ANNOUNCED);
      expect(await client.release()).toEqual({ ok: true });
    } finally {
      await client.close();
    }
  });
});
