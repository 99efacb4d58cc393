import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { MemoryPushSecurity } from '../../../../protocols/dlms/push/memorySecurity.js';
import {
  DlmsPushError, decodePushNotification, encodePushNotification,
} from '../../../../protocols/dlms/push/notification.js';
import {
  EVENT_PUSH_LIST, INTERVAL_PUSH_LIST, matchPushList, selfDescribedList, type PushObjectList,
} from '../../../../protocols/dlms/push/pushObjects.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';
import { prng } from '../../../helpers/prng.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** 2024-03-10 12:00:00.00 local, Sunday, deviation −60 min (UTC+01:00), status 0: 2024-03-10T11:00:00Z. */
const CLOCK = hex('07E8 03 0A 07 0C 00 00 00 FFC4 00');
const TS = Date.UTC(2024, 2, 10, 11, 0, 0);

const VALUES: DlmsData[] = [
  { type: 'octet-string', value: new TextEncoder().encode('GRD1') },
  { type: 'octet-string', value: hex('0000190900FF') },
  { type: 'octet-string', value: CLOCK },
  { type: 'double-long-unsigned', value: 1392100 },
  { type: 'double-long-unsigned', value: 1234 },
  { type: 'long-unsigned', value: 2301 },
  { type: 'boolean', value: true },
];

/**
 * The interval push worked out by hand (IEC 62056-5-3 §8 Data-Notification, A-XDR):
 *   0F                      data-notification tag [15]
 *   00 00 00 07             long-invoke-id-and-priority: id 7, unconfirmed, normal priority
 *   00                      date-time: empty octet string (the clock is in the body)
 *   02 07                   body: structure of 7 (one per push_object_list element)
 *   09 04 47 52 44 31       logical device name 0.0.42.0.0.255:2, octet-string "GRD1"
 *   09 06 00 00 19 09 00 FF push setup logical_name 0.0.25.9.0.255:1
 *   09 0C 07E8 03 0A 07 0C 00 00 00 FFC4 00   clock 0.0.1.0.0.255:2, date-time as octet-string(12)
 *   06 00 15 3D E4          1.0.1.8.0.255:2 double-long-unsigned 1392100
 *   06 00 00 04 D2          1.0.1.7.0.255:2 double-long-unsigned 1234
 *   12 08 FD                1.0.32.7.0.255:2 long-unsigned 2301
 *   03 01                   0.0.96.3.10.255:2 output_state boolean true
 */
const PLAIN = hex(`
  0F 00000007 00 0207
  0904 47524431
  0906 0000190900FF
  090C 07E8030A070C000000FFC400
  06 00153DE4
  06 000004D2
  12 08FD
  03 01`);

const ST = hex('4752443030303031'); // "GRD00001"
const EK = hex('000102030405060708090A0B0C0D0E0F');
const AK = hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF');
const KEYS = { ek: EK, ak: AK };

/** Suite 0 auth-enc computed independently: IV = system title ‖ IC, AAD = SC ‖ AK, 12-octet tag (Green Book §9.2.7.2.4). */
function gcm(sc: number, ic: number, plain: Uint8Array): { cipher: Uint8Array; tag: Uint8Array } {
  const icBytes = Buffer.alloc(4);
  icBytes.writeUInt32BE(ic);
  const c = createCipheriv('aes-128-gcm', EK, Buffer.concat([ST, icBytes]), { authTagLength: 12 });
  c.setAAD(Buffer.concat([Buffer.from([sc]), AK]));
  const cipher = Buffer.concat([c.update(plain), c.final()]);
  return { cipher, tag: c.getAuthTag() };
}

describe('DLMS push notification codec', () => {
  it('encodes the interval push byte for byte as worked out by hand', () => {
    expect(toHex(encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES, invokeId: 7 }))).toBe(toHex(PLAIN));
  });

  it('decodes a plain interval push into its list values, device name and device time', () => {
    const n = decodePushNotification(PLAIN);
    expect(n.ciphered).toBe(false);
    expect(n.pushSetup).toBe('0.0.25.9.0.255');
    expect(n.logicalDeviceName).toBe('GRD1');
    expect(n.ts).toBe(TS);
    expect(n.values.map((v) => `${v.classId}/${v.obis}:${v.attribute}`)).toEqual([
      '1/0.0.42.0.0.255:2', '40/0.0.25.9.0.255:1', '8/0.0.1.0.0.255:2', '3/1.0.1.8.0.255:2', '3/1.0.1.7.0.255:2',
      '3/1.0.32.7.0.255:2', '70/0.0.96.3.10.255:2',
    ]);
    expect(n.values[3]?.data).toEqual({ type: 'double-long-unsigned', value: 1392100 });
  });

  it('takes the device time from the APDU date-time when the sender fills it', () => {
    const other = hex('07E8 03 0A 07 0D 00 00 00 FFC4 00'); // 13:00 local
    const n = decodePushNotification(encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES, dateTime: other }));
    expect(n.ts).toBe(TS + 3_600_000);
  });

  it('encodes the general-glo-ciphered push byte for byte, tag from node:crypto', () => {
    const ic = 0x01020304;
    const { cipher, tag } = gcm(0x30, ic, PLAIN);
    /*
     *   DB                       general-glo-ciphering [219] (IEC 62056-5-3 §8)
     *   08 4752443030303031      system-title: octet-string of 8, "GRD00001"
     *   <len>                    ciphered-content length: SC + IC + ciphertext + tag = 5 + 51 + 12 = 68 = 0x44
     *   30                       SC: suite 0, authenticated (bit 4) and encrypted (bit 5)
     *   01020304                 invocation counter
     *   <ciphertext of PLAIN> <12-octet tag>
     */
    const expected = Buffer.concat([hex('DB 08'), ST, hex('44 30 01020304'), cipher, tag]);
    expect(PLAIN.length).toBe(51); // 1 + 4 + 1 + 2 + 6 + 8 + 14 + 5 + 5 + 3 + 2
    const got = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES, invokeId: 7 }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: ic });
    expect(toHex(got)).toBe(toHex(expected));
  });

  it('deciphers a ciphered push with the keys of its system title and records the counter', () => {
    const security = new MemoryPushSecurity();
    const counters = security.add(ST, 'm-1', KEYS);
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 42 });
    const n = decodePushNotification(apdu, { security });
    expect(n).toMatchObject({ ciphered: true, meterId: 'm-1', invocationCounter: 42, logicalDeviceName: 'GRD1', ts: TS });
    expect(counters.lastIncoming()).toBe(42);
  });

  it('refuses a replayed ciphered push with reason replay, after accepting it once', () => {
    const security = new MemoryPushSecurity();
    security.add(ST, 'm-1', KEYS);
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES }, { systemTitle: ST, keys: KEYS, protection: 'auth', invocationCounter: 5 });
    decodePushNotification(apdu, { security });
    expect(() => decodePushNotification(apdu, { security })).toThrow(expect.objectContaining({ code: 'DLMS_SECURITY', reason: 'replay' }));
  });

  it('refuses a tampered ciphered push with reason tag-mismatch and leaves the counter alone', () => {
    const security = new MemoryPushSecurity();
    const counters = security.add(ST, 'm-1', KEYS);
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 9 });
    apdu[30] = (apdu[30] ?? 0) ^ 0x01;
    expect(() => decodePushNotification(apdu, { security })).toThrow(expect.objectContaining({ reason: 'tag-mismatch' }));
    expect(counters.lastIncoming()).toBeUndefined();
  });

  it('refuses a ciphered push from an unknown system title', () => {
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 1 });
    expect(() => decodePushNotification(apdu, { security: new MemoryPushSecurity() })).toThrow(DlmsPushError);
  });

  it('reads the framing of a published general-glo-ciphered data-notification (dlms-cosem test vector)', () => {
    // From the dlms-cosem project's tests: DB, system title 2F19229199164103, 59 octets of
    // content starting SC 0x30, IC 0x000001E5. Its keys are not published, so our keys must
    // fail authentication: the title reached the key lookup and the framing parsed.
    const published = hex('db082f192291991641033b30000001e5025ce9d2271fd78be8c204211a916a9d7f587e0a7a814cadea89e9593f01f92ea8c087b5bdfdefeab6becf282dfe49c08f5be6dc8400');
    const security = new MemoryPushSecurity();
    security.add(hex('2f19229199164103'), 'published', KEYS);
    expect(() => decodePushNotification(published, { security })).toThrow(expect.objectContaining({ reason: 'tag-mismatch' }));
  });

  it('round-trips the event push list', () => {
    const values: DlmsData[] = [
      VALUES[0] ?? { type: 'null-data' }, { type: 'octet-string', value: hex('0004190900FF') }, VALUES[2] ?? { type: 'null-data' },
      { type: 'unsigned', value: 65 }, { type: 'long-unsigned', value: 0 }, { type: 'boolean', value: false },
    ];
    const n = decodePushNotification(encodePushNotification({ list: EVENT_PUSH_LIST, values }));
    expect(n.pushSetup).toBe('0.4.25.9.0.255');
    expect(n.values.map((v) => v.data)).toEqual(values);
  });

  it('refuses a body that matches no known push object list, and APDUs that are no notification', () => {
    const short = encodePushNotification({ list: { pushSetup: '0.0.25.9.0.255', objects: INTERVAL_PUSH_LIST.objects.slice(0, 3) }, values: VALUES.slice(0, 3) });
    expect(() => decodePushNotification(short)).toThrow(expect.objectContaining({ reason: 'unknown-push-list' }));
    // get-request-normal: C0 01 C1 0003 0000010000FF 02 00
    expect(() => decodePushNotification(hex('C001C100030000010000FF0200'))).toThrow(expect.objectContaining({ reason: 'not-a-notification' }));
  });

  it('decodes a general-glo-ciphered self-describing push of another make: its list, device name and IPv4 address', () => {
    // The push_object_list (Blue Book IC 40 attribute 2) of the push setup 0.0.25.9.0.255 is
    // its own first element, then the logical device name and IPv4 setup's ip_address (IC 42 attribute 3).
    const cod = (classId: number, ln: string, attribute: number): DlmsData => ({ type: 'structure', value: [
      { type: 'long-unsigned', value: classId }, { type: 'octet-string', value: hex(ln) }, { type: 'integer', value: attribute }, { type: 'long-unsigned', value: 0 },
    ] });
    const list: DlmsData = { type: 'array', value: [cod(40, '0000190900FF', 2), cod(1, '00002A0000FF', 2), cod(42, '0000190100FF', 3)] };
    const body: DlmsData[] = [list, { type: 'octet-string', value: new TextEncoder().encode('KFM1200000042') }, { type: 'double-long-unsigned', value: 0xC0A80117 }];
    const described: PushObjectList = { pushSetup: '0.0.25.9.0.255', objects: [
      { classId: 40, obis: '0.0.25.9.0.255', attribute: 2, dataIndex: 0 }, { classId: 1, obis: '0.0.42.0.0.255', attribute: 2, dataIndex: 0 },
      { classId: 42, obis: '0.0.25.1.0.255', attribute: 3, dataIndex: 0 },
    ] };
    const security = new MemoryPushSecurity();
    security.add(ST, 'm-7', KEYS);
    const apdu = encodePushNotification({ list: described, values: body }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 3 });
    const n = decodePushNotification(apdu, { security });
    expect(n).toMatchObject({ ciphered: true, meterId: 'm-7', pushSetup: '0.0.25.9.0.255', logicalDeviceName: 'KFM1200000042' });
    expect(n.values.map((v) => `${v.classId}/${v.obis}:${v.attribute}`)).toEqual(['40/0.0.25.9.0.255:2', '1/0.0.42.0.0.255:2', '42/0.0.25.1.0.255:3']);
    expect(n.values[2]?.data).toEqual({ type: 'double-long-unsigned', value: 0xC0A80117 });
  });

  it('takes a list as self-described only when it lists its own push setup attribute 2 at its place, with one entry per value', () => {
    const cod = (classId: number, ln: string, attribute: number): DlmsData => ({ type: 'structure', value: [
      { type: 'long-unsigned', value: classId }, { type: 'octet-string', value: hex(ln) }, { type: 'integer', value: attribute }, { type: 'long-unsigned', value: 0 },
    ] });
    const ldn: DlmsData = { type: 'octet-string', value: new TextEncoder().encode('GRD1') };
    const own = cod(40, '0000190900FF', 2);
    const other = cod(1, '00002A0000FF', 2);
    expect(selfDescribedList([{ type: 'array', value: [own, other] }, ldn])?.pushSetup).toBe('0.0.25.9.0.255');
    expect(selfDescribedList([ldn, { type: 'array', value: [other, own] }])?.objects).toHaveLength(2);
    // A capture-object array that is another object's list, or has the wrong length, describes nothing.
    expect(selfDescribedList([{ type: 'array', value: [cod(7, '0100630100FF', 3), other] }, ldn])).toBeUndefined();
    expect(selfDescribedList([{ type: 'array', value: [own] }, ldn])).toBeUndefined();
  });

  it('matches a body to the list whose push setup it names, else to the one list that fits, and to none when fitting lists disagree', () => {
    const bare: PushObjectList = { pushSetup: '0.0.25.9.0.255', objects: INTERVAL_PUSH_LIST.objects.filter((o) => o.classId !== 40) };
    const twin: PushObjectList = { pushSetup: '0.1.25.9.0.255', objects: [...bare.objects.slice(0, 2), ...bare.objects.slice(2).reverse()] };
    const bareBody = VALUES.filter((_, i) => i !== 1);
    expect(matchPushList(VALUES, [bare, INTERVAL_PUSH_LIST, EVENT_PUSH_LIST])).toBe(INTERVAL_PUSH_LIST);
    expect(matchPushList(bareBody, [INTERVAL_PUSH_LIST, bare])).toBe(bare);
    // The places of the device name and the clock must hold a name and a date-time.
    expect(matchPushList([...bareBody].reverse(), [bare])).toBeUndefined();
    expect(matchPushList(bareBody, [bare, twin])).toBeUndefined();
  });

  it('gives truncated, oversized and wrong-length input a typed error', () => {
    for (let n = 0; n < PLAIN.length; n++) expect(() => decodePushNotification(PLAIN.subarray(0, n))).toThrow(DlmsDecodeError);
    expect(() => decodePushNotification(Buffer.concat([PLAIN, hex('00')]))).toThrow(DlmsDecodeError);
    const wrongCount = Uint8Array.from(PLAIN);
    wrongCount[7] = 0x08; // structure of 8 with 7 elements present
    expect(() => decodePushNotification(wrongCount)).toThrow(DlmsDecodeError);
    expect(() => decodePushNotification(new Uint8Array(5000).fill(0x0f), { limits: { maxApduBytes: 4096 } })).toThrow(DlmsDecodeError);
  });

  it('answers 20,000 random and mutated inputs with a value or a typed error, never anything else', () => {
    const random = prng(20240310);
    const security = new MemoryPushSecurity();
    security.add(ST, 'm-1', KEYS);
    const ciphered = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: VALUES }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 1 });
    const seeds = [PLAIN, ciphered];
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(seeds[i % 2] ?? PLAIN, random, i);
      try {
        decodePushNotification(input, { security });
        decoded++;
      } catch (err) {
        if (!(err instanceof DlmsDecodeError || err instanceof DlmsPushError || err instanceof DlmsSecurityError)) throw err;
      }
    }
    // Some mutations (a changed value byte) still decode: the generator does reach the decoder's far end.
    expect(decoded).toBeGreaterThan(0);
  });
});

function mutate(seed: Uint8Array, random: () => number, i: number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  switch (i % 5) {
    case 0: { // random bytes, sometimes with a plausible tag
      const b = Uint8Array.from({ length: pick(80) }, () => pick(256));
      if (b.length > 0 && random() < 0.5) b[0] = random() < 0.5 ? 0x0f : 0xdb;
      return b;
    }
    case 1: { // bit flips
      const b = Uint8Array.from(seed);
      for (let k = 0; k <= pick(3); k++) { const j = pick(b.length); b[j] = (b[j] ?? 0) ^ (1 << pick(8)); }
      return b;
    }
    case 2: return seed.subarray(0, pick(seed.length)); // truncation
    case 3: { // length or count field tampering
      const b = Uint8Array.from(seed);
      const j = [1, 5, 7, 9, 11, 17][pick(6)] ?? 1;
      b[j] = pick(256);
      return b;
    }
    default: { // deep nesting: structures of structures
      const depth = pick(200);
      return Uint8Array.from([0x0f, 0, 0, 0, 1, 0, ...Array.from({ length: depth }, () => [0x02, 0x01]).flat(), 0x00]);
    }
  }
}
