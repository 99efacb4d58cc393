/**
 * `gridhead dlms get` against meters that are not our simulator, played by the simulator
 * behind a wrapper proxy that rewrites its answers over real TCP: a clock time with 18 bytes
 * after the get-response-normal is read (exit 0); a value that does not decode fails only its
 * own item, the others are printed and the association is released; an exception-response
 * to the AARQ is one DLMS_SECURITY line naming both of its fields (exit 3).
 */
import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { DlmsMeterSimulator, HLS_CLIENT } from '../../../simulators/dlms/server.js';
import { WrapperProxy, type ServerApduRewrite } from '../../simulators/dlms/wrapperProxy.js';
import { captureCliOutput } from '../../helpers/cliOutput.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const startsWith = (b: Uint8Array, p: Uint8Array): boolean => b.length >= p.length && p.every((v, i) => b[i] === v);
const EK = '000102030405060708090A0B0C0D0E0F';
const AK = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF';
const METER_TITLE = '4D4D4D0000BC614E';

let sim: DlmsMeterSimulator;
const proxies: WrapperProxy[] = [];
beforeAll(async () => {
  sim = new DlmsMeterSimulator({
    framing: 'wrapper', seed: 9, serialNumber: '00000009', historyDays: 0,
    security: { systemTitle: hex(METER_TITLE), keys: { ek: hex(EK), ak: hex(AK) }, protection: 'auth-enc' },
  });
  await sim.start();
});
afterAll(async () => {
  await sim.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const p of proxies.splice(0)) await p.stop();
});

async function through(rewrite: ServerApduRewrite): Promise<WrapperProxy> {
  const p = new WrapperProxy(sim.port, { rewriteServerApdu: rewrite });
  await p.start();
  proxies.push(p);
  return p;
}

const get = (port: number, ...items: string[]): string[] => ['dlms', 'get', '--host', '127.0.0.1', '--port', String(port), '--framing', 'wrapper', ...items];

describe('gridhead dlms get against meters written by others', () => {
  it('reads a clock whose get-response-normal carries 18 bytes after it', async () => {
    const clockWithTrailing = hex(`
      C4 01 C1 00 09 0C         get-response-normal, invoke-id 1, data: octet-string of 12
      07 E9 03 01 06 0D 0E 18 56 FF C4 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    `.replace(/[a-z][^\n]*/g, ''));
    const proxy = await through((apdu) => (startsWith(apdu, hex('C4 01 C1')) ? clockWithTrailing : undefined));
    const io = captureCliOutput();
    expect(await main(get(proxy.port, '0.0.1.0.0.255:2@8'))).toBe(0);
    const doc = JSON.parse(io.out()) as { items: unknown[] };
    expect(doc.items).toEqual([{
      obis: '0.0.1.0.0.255', attribute: 2, classId: 8, ok: true,
      value: { time: '2025-03-01T13:14:24.86+01:00', utc: '2025-03-01T12:14:24.860Z', deviation: -60, clockStatus: 0 },
    }]);
    expect(io.err()).toBe('');
  });

  it('fails only the item whose value does not decode, prints the others and releases', async () => {
    // The second GET (invoke-id 2) answered with an octet-string of 12 that holds 3 octets.
    const proxy = await through((apdu) => (startsWith(apdu, hex('C4 01 C2')) ? hex('C4 01 C2 00 09 0C 01 02 03') : undefined));
    const io = captureCliOutput();
    expect(await main(get(proxy.port, '1.0.1.8.0.255:2@3', '0.0.96.1.0.255:2@1', '1.0.32.7.0.255:2@3'))).toBe(0);
    const doc = JSON.parse(io.out()) as { items: { ok: boolean; error?: string }[] };
    expect(doc.items.map((i) => i.ok)).toEqual([true, false, true]);
    expect(doc.items[1]?.error).toMatch(/^DLMS_DECODE: /);
    // RLRQ went out and the meter confirmed it.
    expect(proxy.fromClient.at(-1)?.[0]).toBe(0x62);
    expect(proxy.fromServer.at(-1)?.[0]).toBe(0x63);
    expect(io.err()).toBe('');
  });

  it('reports an exception-response to the AARQ as DLMS_SECURITY naming state-error and service-error', async () => {
    // ExceptionResponse [216]: state-error service-not-allowed (1), service-error deciphering-error (5).
    const proxy = await through((apdu) => (apdu[0] === 0x61 ? hex('D8 01 05') : undefined));
    const io = captureCliOutput();
    const code = await main([
      ...get(proxy.port, '1.0.1.8.0.255:2'), '--client', String(HLS_CLIENT), '--auth', 'high-gmac', '--security', 'auth',
      '--ek', EK, '--ak', AK, '--server-system-title', METER_TITLE,
    ]);
    expect(code).toBe(3);
    expect(io.out()).toBe('');
    expect(io.err()).toBe('DLMS_SECURITY: security: tag-mismatch: the meter could not decipher our request (service-not-allowed / deciphering-error): wrong keys, system title or security policy\n');
  });
});
