/**
 * Client ↔ simulated meter over real TCP, through a proxy that plays a meter appending bytes
 * after a complete APDU, inside the wrapper length or the HDLC information field: the clock's
 * time with 18 bytes after the get-response-normal (hand-written, byte for byte), every
 * response of a session padded (long GET blocks including the last, an empty profile buffer,
 * GET-with-list, SET, ACTION), and ciphered responses padded after the glo-APDU or inside its
 * plaintext. The APDU is decoded, the bytes are reported (onTrailingBytes) and ignored, and
 * the association stays in step.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsClient, type DlmsClientOptions, type TrailingBytes } from '../../../protocols/dlms/client/client.js';
import { readDisconnectState, remoteDisconnect, remoteReconnect } from '../../../protocols/dlms/client/control.js';
import { readObjectList, readRegister } from '../../../protocols/dlms/client/cosem.js';
import { readProfile } from '../../../protocols/dlms/client/profile.js';
import { openDlmsTransport, type DlmsFraming } from '../../../protocols/dlms/net/clientTransport.js';
import { cipherApdu, decipherApdu } from '../../../protocols/dlms/security/ciphering.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT, PUBLIC_CLIENT } from '../../../simulators/dlms/server.js';
import { HdlcProxy } from './hdlcProxy.js';
import { KEYS, METER_TITLE, clientSecurity, connectHls } from './securityFixture.js';
import { WrapperProxy, type ServerApduRewrite } from './wrapperProxy.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
/** Hex written one field a line: the octets, two or more spaces, then what they mean. */
const commented = (text: string): Uint8Array => hex(text.split('\n').map((l) => l.trim().split(/\s{2,}/)[0] ?? '').join(''));
const startsWith = (b: Uint8Array, p: Uint8Array): boolean => b.length >= p.length && p.every((v, i) => b[i] === v);
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => Uint8Array.from([...a, ...b]);

/** 18 octets a meter left after its APDU (what they hold does not matter: nothing reads them). */
const TRAILING = hex('00 00 00 00 7E A0 1A 03 21 52 00 00 E6 E7 00 C4 01 C1');

/**
 * The clock's time (IC 8, 0.0.1.0.0.255, attribute 2) as the meter answered the first GET of
 * the association, then TRAILING (Green Book §9.5 xDLMS ASN.1, A-XDR):
 */
const CLOCK_REPLY = concat(commented(`
  C4                       get-response [196]
  01                       get-response-normal
  C1                       invoke-id-and-priority: high priority, confirmed, invoke-id 1
  00                       Get-Data-Result: data [0]
  09 0C                    octet-string of 12: date-time (IEC 62056-6-2 §4.1.6.1)
  07 E9 03 01 06           2025-03-01, Saturday
  0D 0E 18 56              13:14:24.86
  FF C4                    deviation -60 (UTC+01:00)
  00                       clock status
`), TRAILING);
/** How the client's first GET-response-normal to invoke-id 1 carrying an octet-string of 12 starts. */
const CLOCK_REPLY_HEAD = hex('C4 01 C1 00 09 0C');
const CLOCK = { classId: 8, obis: '0.0.1.0.0.255', attribute: 2 };

/** ACSE APDUs (AARE, RLRE) are BER with their own length; the proxy pads only xDLMS ones. */
const padXdlms: ServerApduRewrite = (apdu) => (apdu[0] === 0x61 || apdu[0] === 0x63 ? undefined : concat(apdu, TRAILING));

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function meter(framing: DlmsFraming, extra: Partial<ConstructorParameters<typeof DlmsMeterSimulator>[0]> = {}): Promise<DlmsMeterSimulator> {
  const sim = new DlmsMeterSimulator({ framing, seed: 11, serialNumber: '00000011', historyDays: 1, ...extra });
  await sim.start();
  stops.push(() => sim.stop());
  return sim;
}

async function proxy(framing: DlmsFraming, target: number, rewrite: ServerApduRewrite): Promise<number> {
  const p = framing === 'wrapper' ? new WrapperProxy(target, { rewriteServerApdu: rewrite }) : new HdlcProxy(target, rewrite);
  await p.start();
  stops.push(() => p.stop());
  return p.port;
}

async function connect(framing: DlmsFraming, port: number, events: TrailingBytes[], options: DlmsClientOptions = {}): Promise<DlmsClient> {
  const clientSap = options.clientSap ?? PUBLIC_CLIENT;
  const transport = await openDlmsTransport({ host: '127.0.0.1', port, framing, clientSap, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
  const client = new DlmsClient(transport, { timeoutMs: 5_000, ...options, onTrailingBytes: (e) => { events.push(e); } });
  stops.push(() => client.close());
  return client;
}

describe.each(['wrapper', 'hdlc'] as const)('a meter appending 18 bytes to the clock time, over %s', (framing) => {
  it('reads the clock, reports the 18 bytes and stays in step for the next request', async () => {
    const sim = await meter(framing);
    const port = await proxy(framing, sim.port, (apdu) => (startsWith(apdu, CLOCK_REPLY_HEAD) ? CLOCK_REPLY : undefined));
    const events: TrailingBytes[] = [];
    const client = await connect(framing, port, events);
    await client.associate();

    expect(await client.get(CLOCK)).toEqual({ ok: true, value: { type: 'octet-string', value: hex('07E9030106 0D0E1856 FFC4 00') } });
    expect(events).toEqual([{ what: 'get 8/0.0.1.0.0.255/2', apduType: 'get-response-normal', count: 18, terminalId: undefined }]);
    // The next reply is the next request's: invoke-ids still match.
    expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
    expect(await client.release()).toEqual({ ok: true });
    expect(events).toHaveLength(1);
  });
});

describe('a meter padding every xDLMS response, over the wrapper', () => {
  it('reads long GETs to the last block, an empty profile buffer, lists, SET and ACTION', async () => {
    const sim = await meter('wrapper', { maxPduSize: 256 });
    const port = await proxy('wrapper', sim.port, padXdlms);
    const events: TrailingBytes[] = [];
    const client = await connect('wrapper', port, events, { clientSap: MANAGEMENT_CLIENT, auth: { mechanism: 'low', password: '12345678' }, maxReceivePduSize: 256 });
    await client.associate();

    // The object list takes several blocks of 256 octets; the last block is padded too.
    expect((await readObjectList(client)).length).toBeGreaterThan(20);
    const blocks = events.filter((e) => e.apduType === 'get-response-with-datablock').length;
    expect(blocks).toBeGreaterThan(2);
    // A range in the future: the buffer is an empty array.
    const now = Date.now();
    expect((await readProfile(client, '1.0.99.1.0.255', { from: now + 86_400_000, to: now + 2 * 86_400_000 })).rows).toEqual([]);
    expect((await readProfile(client, '1.0.99.1.0.255', { from: now - 6 * 3_600_000, to: now })).rows.length).toBeGreaterThan(20);
    const list = await client.getList([{ classId: 3, obis: '1.0.32.7.0.255', attribute: 2 }, { classId: 3, obis: '1.0.32.7.0.255', attribute: 3 }]);
    expect(list.map((r) => r.ok)).toEqual([true, true]);
    expect(await client.set({ classId: 40, obis: '0.0.25.9.0.255', attribute: 6 }, { type: 'unsigned', value: 5 })).toEqual({ ok: true });
    await remoteDisconnect(client);
    expect((await readDisconnectState(client)).outputState).toBe(false);
    await remoteReconnect(client);
    expect(await client.release()).toEqual({ ok: true });

    const types = new Set(events.map((e) => e.apduType));
    expect([...types].sort()).toEqual(['action-response-normal', 'get-response-normal', 'get-response-with-datablock', 'get-response-with-list', 'set-response-normal']);
    expect(events.every((e) => e.count === 18)).toBe(true);
  });
});

describe.each(['after the glo-APDU', 'inside its plaintext'] as const)('a meter padding ciphered responses %s', (where) => {
  /** Re-ciphers the meter's glo-response with TRAILING after the plain APDU (same counter, same keys). */
  const padInside: ServerApduRewrite = (apdu) => {
    if (apdu[0] !== 0xcc && apdu[0] !== 0xcd && apdu[0] !== 0xcf) return undefined;
    const opened = decipherApdu(apdu, { peerSystemTitle: METER_TITLE, ek: KEYS.ek, ak: KEYS.ak });
    return cipherApdu(concat(opened.plaintext, TRAILING), {
      sc: opened.header.sc, systemTitle: METER_TITLE, invocationCounter: opened.header.invocationCounter, ek: KEYS.ek, ak: KEYS.ak,
    });
  };

  it('deciphers, decodes and counts them, with HLS-GMAC and auth-enc', async () => {
    const sim = await meter('wrapper', { security: { systemTitle: METER_TITLE, keys: KEYS, protection: 'auth-enc' } });
    const port = await proxy('wrapper', sim.port, where === 'after the glo-APDU' ? padXdlms : padInside);
    const security = clientSecurity('auth-enc');
    const events: TrailingBytes[] = [];
    const { client } = await connectHls(port, 'wrapper', security, { onTrailingBytes: (e) => { events.push(e); } });
    stops.push(() => client.close());
    await client.associate();
    expect((await readRegister(client, '1.0.1.8.0.255')).unit).toBe(30);
    expect(await client.release()).toEqual({ ok: true });

    // reply_to_HLS_authentication, then the register's value and scaler_unit.
    expect(events.map((e) => [e.apduType, e.count])).toEqual([['action-response-normal', 18], ['get-response-with-list', 18]]);
    expect(security.events).toEqual([]);
  });
});
