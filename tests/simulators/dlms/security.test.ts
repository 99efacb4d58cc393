/**
 * Client ↔ simulated meter over real TCP with HLS-GMAC (client 48) and suite-0 APDU protection,
 * in both framings and with each protection level: every service (GET normal, with-list, long
 * GET of the object list and of a profile by range, SET normal and in blocks, ACTION), and the
 * security failures: wrong keys, a tampered tag, a wrong system title and replayed counters on
 * both sides, each a typed DlmsSecurityError with a recorded event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeApdu, decodeApdu } from '../../../protocols/dlms/apduCodec.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import { readClock, readObjectList, readRegister } from '../../../protocols/dlms/client/cosem.js';
import { readDisconnectState, remoteDisconnect, remoteReconnect } from '../../../protocols/dlms/client/control.js';
import { readProfile } from '../../../protocols/dlms/client/profile.js';
import type { DlmsFraming } from '../../../protocols/dlms/net/clientTransport.js';
import { DlmsSecurityError } from '../../../protocols/dlms/security/securityError.js';
import { DlmsMeterSimulator } from '../../../simulators/dlms/server.js';
import { aheadOfMeter, clientSecurity, connectHls, KEYS, METER_TITLE, OTHER_TITLE, pushObjectList } from './securityFixture.js';
import { WrapperProxy } from './wrapperProxy.js';

const PUSH_SETUP = { classId: 40, obis: '0.0.25.9.0.255' };

function meter(framing: DlmsFraming, protection: 'auth' | 'enc' | 'auth-enc'): DlmsMeterSimulator {
  return new DlmsMeterSimulator({
    framing, seed: 7, serialNumber: '00000048', historyDays: 2, maxPduSize: 512,
    security: { systemTitle: METER_TITLE, keys: KEYS, protection },
  });
}


/** The DlmsSecurityError a promise rejects with. */
async function securityError(p: Promise<unknown>): Promise<DlmsSecurityError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(DlmsSecurityError);
  return e as DlmsSecurityError;
}

describe.each([
  ['wrapper', 'auth'], ['wrapper', 'enc'], ['wrapper', 'auth-enc'],
  ['hdlc', 'auth'], ['hdlc', 'enc'], ['hdlc', 'auth-enc'],
] as const)('HLS-GMAC client ↔ simulated meter over %s with %s', (framing, protection) => {
  let sim: DlmsMeterSimulator;
  beforeAll(async () => {
    sim = meter(framing, protection);
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('associates, reads, writes and operates the relay with every APDU ciphered', async () => {
    const security = clientSecurity(protection);
    const { client, transport } = await connectHls(sim.port, framing, security);
    try {
      const assoc = await client.associate();
      expect(assoc.features).toContain('block-transfer-with-get-or-read');
      // GET normal and with-list.
      const clock = await readClock(client);
      expect(Math.abs(clock.epochMs - Date.now())).toBeLessThan(60_000);
      const energy = await readRegister(client, '1.0.1.8.0.255');
      expect(energy.unit).toBe(30);
      const list = await client.getList([
        { classId: 3, obis: '1.0.32.7.0.255', attribute: 2 }, { classId: 3, obis: '1.0.32.7.0.255', attribute: 3 },
        { classId: 1, obis: '0.0.96.1.0.255', attribute: 2 },
      ]);
      expect(list.map((r) => r.ok)).toEqual([true, true, true]);
      // Long GET: the object list is larger than the 512-octet PDU.
      const objects = await readObjectList(client);
      expect(objects.length).toBeGreaterThan(20);
      // SET normal, then a value too long for one PDU (SET blocks), both read back.
      expect(await client.set({ ...PUSH_SETUP, attribute: 6 }, { type: 'unsigned', value: 5 })).toEqual({ ok: true });
      const long = pushObjectList(40);
      expect(await client.set({ ...PUSH_SETUP, attribute: 2 }, long)).toEqual({ ok: true });
      expect(await client.get({ ...PUSH_SETUP, attribute: 2 })).toEqual({ ok: true, value: long });
      // ACTION: disconnect and reconnect.
      await remoteDisconnect(client);
      expect((await readDisconnectState(client)).outputState).toBe(false);
      await remoteReconnect(client);
      expect((await readDisconnectState(client)).outputState).toBe(true);
      // A profile read by range with selective access, over several blocks.
      const now = Date.now();
      const profile = await readProfile(client, '1.0.99.1.0.255', { from: now - 86_400_000, to: now });
      expect(profile.rows.length).toBeGreaterThan(90);
      expect((await client.release()).ok).toBe(true);
    } finally {
      await client.close();
    }
    // Every xDLMS request went ciphered (glo- tags 0xC8..0xCB), the AARQ carried a glo-initiate-request.
    const tags = transport.sent.map((a) => a[0]);
    expect(tags[0]).toBe(0x60);
    expect(tags.slice(1, -1).every((t) => t === 0xc8 || t === 0xc9 || t === 0xcb)).toBe(true);
    expect(tags.at(-1)).toBe(0x62);
    // The release was protected: RLRQ (62 len), reason normal (80 01 00), user-information
    // (BE len 04 len) holding a glo-initiate-request [33], and the meter's RLRE deciphered.
    expect(transport.sent.at(-1)?.[9]).toBe(0x21);
    expect(client.plainReleaseResponses).toBe(0);
    expect(security.events).toEqual([]);
    expect(sim.securityEvents).toEqual([]);
  });

  it('fails HLS with a wrong authentication key: typed error, a recorded event, the client closed', async () => {
    const security = clientSecurity(protection, { keys: { ...KEYS, ak: KEYS.ek } });
    const { client } = await connectHls(sim.port, framing, security);
    try {
      const e = await securityError(client.associate());
      // With an authenticated InitiateRequest the meter cannot even open it; with 'enc' only HLS can tell.
      expect(e.reason).toBe(protection === 'enc' ? 'hls-failed' : 'tag-mismatch');
      expect(security.events.map((x) => x.kind)).toEqual([e.reason]);
      expect(client.state).toBe('closed');
    } finally {
      await client.close();
    }
  });

  it('refuses a meter answering with another system title than the expected one', async () => {
    const security = clientSecurity(protection, { expectedServerSystemTitle: OTHER_TITLE });
    const { client } = await connectHls(sim.port, framing, security);
    try {
      expect((await securityError(client.associate())).reason).toBe('system-title-mismatch');
      expect(security.events).toMatchObject([{ kind: 'system-title-mismatch', systemTitle: '4D4D4D0000BC614E' }]);
    } finally {
      await client.close();
    }
  });
});

describe('security failures over the wrapper with auth-enc', () => {
  let sim: DlmsMeterSimulator;
  beforeAll(async () => {
    sim = meter('wrapper', 'auth-enc');
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('rejects a wrong encryption key: the meter cannot decipher the InitiateRequest', async () => {
    const security = clientSecurity('auth-enc', { keys: { ...KEYS, ek: KEYS.ak } });
    const { client } = await connectHls(sim.port, 'wrapper', security);
    try {
      expect((await securityError(client.associate())).reason).toBe('tag-mismatch');
      expect(security.events.map((x) => x.kind)).toEqual(['tag-mismatch']);
      expect(sim.securityEvents.at(-1)?.kind).toBe('tag-mismatch');
    } finally {
      await client.close();
    }
  });

  it('rejects a response whose tag was corrupted in transit', async () => {
    // Server → client messages: 1 AARE, 2 the HLS action response, 3 the first GET response.
    const proxy = new WrapperProxy(sim.port, { tamperServerFrame: 3 });
    await proxy.start();
    const security = clientSecurity('auth-enc');
    const { client } = await connectHls(proxy.port, 'wrapper', security);
    try {
      await client.associate();
      const e = await securityError(client.get({ classId: 8, obis: '0.0.1.0.0.255', attribute: 2 }));
      expect(e.reason).toBe('tag-mismatch');
      expect(proxy.tampered).toBe(1);
      expect(security.events.map((x) => x.kind)).toEqual(['tag-mismatch']);
      expect(client.state).toBe('broken');
    } finally {
      await client.close();
      await proxy.stop();
    }
  });

  it('rejects a meter counter that does not exceed the last one accepted (replay)', async () => {
    const security = clientSecurity('auth-enc', { counters: aheadOfMeter() });
    const { client } = await connectHls(sim.port, 'wrapper', security);
    try {
      expect((await securityError(client.associate())).reason).toBe('replay');
      expect(security.events.map((x) => x.kind)).toEqual(['replay']);
    } finally {
      await client.close();
    }
  });

  it('the meter refuses a replayed request and a plain request on the ciphered association, and counts them', async () => {
    const security = clientSecurity('auth-enc');
    const { client, transport } = await connectHls(sim.port, 'wrapper', security);
    const before = sim.securityEvents.length;
    try {
      await client.associate();
      expect((await client.get({ classId: 8, obis: '0.0.1.0.0.255', attribute: 2 })).ok).toBe(true);
      const recorded = transport.sent.at(-1) ?? new Uint8Array(0);
      const never = new AbortController().signal;
      // The same ciphered GET again: authentic, but its counter was used.
      expect(decodeApdu(await transport.inner.request(recorded, never))).toMatchObject({
        type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'invocation-counter-error',
      });
      const plain = encodeApdu({
        type: 'get-request-normal', invoke: { invokeId: 9, confirmed: true, highPriority: true },
        attribute: { classId: 8, instanceId: parseObis('0.0.1.0.0.255'), attributeId: 2 },
      });
      expect(decodeApdu(await transport.inner.request(plain, never))).toMatchObject({
        type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'deciphering-error',
      });
      expect(sim.securityEvents.slice(before).map((x) => x.kind)).toEqual(['replay', 'policy-violation']);
      // The association is still usable by the genuine client.
      expect((await client.get({ classId: 8, obis: '0.0.1.0.0.255', attribute: 2 })).ok).toBe(true);
    } finally {
      await client.close();
    }
  });

  it.each(['wrapper', 'hdlc'] as const)('over %s the meter refuses a plain RLRQ on the ciphered association and keeps it; the protected release then succeeds', async (framing) => {
    const target = framing === 'wrapper' ? sim : meter('hdlc', 'auth-enc');
    if (target !== sim) await target.start();
    const security = clientSecurity('auth-enc');
    const { client, transport } = await connectHls(target.port, framing, security);
    const before = target.securityEvents.length;
    try {
      await client.associate();
      const never = new AbortController().signal;
      // A plain RLRQ (62 03 80 01 00), as a client unaware of the protected release sends it.
      expect(decodeApdu(await transport.inner.request(Uint8Array.of(0x62, 0x03, 0x80, 0x01, 0x00), never))).toEqual({
        type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'deciphering-error',
      });
      expect(target.securityEvents.slice(before).map((x) => x.kind)).toEqual(['policy-violation']);
      expect((await client.get({ classId: 8, obis: '0.0.1.0.0.255', attribute: 2 })).ok).toBe(true);
      // Release, then (HDLC) DISC: the link closes cleanly after the RLRE.
      expect(await client.release()).toEqual({ ok: true });
      expect(client.state).toBe('closed');
      expect(security.events).toEqual([]);
    } finally {
      await client.close();
      if (target !== sim) await target.stop();
    }
  });
});
