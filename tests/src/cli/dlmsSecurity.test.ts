/**
 * `gridhead dlms` with HLS-GMAC and suite-0 protection against the simulated meter's client 48
 * over real TCP: a read with each protection level, the failures a field engineer meets (wrong
 * key, wrong meter system title: exit 3 with one line), and the argument checks (exit 2).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { firstCliCounter } from '../../../src/cli/dlms.js';
import { parseDlmsArgs, UsageError } from '../../../src/cli/dlmsArgs.js';
import { DlmsMeterSimulator, HLS_CLIENT } from '../../../simulators/dlms/server.js';
import { captureCliOutput } from '../../helpers/cliOutput.js';

const EK = '000102030405060708090A0B0C0D0E0F';
const AK = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF';
const METER_TITLE = '4D4D4D0000BC614E';
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(['auth', 'enc', 'auth-enc'] as const)('gridhead dlms --auth high-gmac --security %s', (protection) => {
  let sim: DlmsMeterSimulator;
  /** Runs in one test follow each other within a second: each gets its own counter range. */
  let counter = 1_000;
  const args = (...extra: string[]): string[] => [
    'dlms', 'get', '--host', '127.0.0.1', '--port', String(sim.port), '--framing', 'wrapper', '--client', String(HLS_CLIENT),
    '--auth', 'high-gmac', '--security', protection, '--ek', EK, '--ak', AK, '--server-system-title', METER_TITLE,
    '--invocation-counter', String((counter += 1_000)), ...extra,
  ];
  beforeAll(async () => {
    sim = new DlmsMeterSimulator({
      framing: 'wrapper', seed: 3, serialNumber: '00000003', historyDays: 1,
      security: { systemTitle: hex(METER_TITLE), keys: { ek: hex(EK), ak: hex(AK) }, protection },
    });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('reads the clock and a register, twice in a row (the second run starts above the first run counters)', async () => {
    for (let run = 0; run < 2; run++) {
      const io = captureCliOutput();
      expect(await main(args('0.0.1.0.0.255:2', '1.0.1.8.0.255:2'))).toBe(0);
      expect(io.err()).toBe('');
      const doc = JSON.parse(io.out()) as { meter: Record<string, unknown>; items: { ok: boolean; classId: number }[] };
      expect(doc.items).toMatchObject([{ ok: true, classId: 8 }, { ok: true, classId: 3 }]);
      // Keys never reach the output.
      expect(io.out()).not.toMatch(new RegExp(`${AK}|${EK}`, 'i'));
      vi.restoreAllMocks();
    }
    expect(sim.securityEvents).toEqual([]);
  });

  it('exits 3 with DLMS_SECURITY for a wrong key and for another meter system title', async () => {
    let io = captureCliOutput();
    expect(await main(args('--ak', EK, '0.0.1.0.0.255:2'))).toBe(3);
    expect(io.err()).toMatch(/^DLMS_SECURITY: security: (hls-failed|tag-mismatch): /);
    vi.restoreAllMocks();
    io = captureCliOutput();
    expect(await main(args('--server-system-title', '4D4D4D0000BC614F', '0.0.1.0.0.255:2'))).toBe(3);
    expect(io.err()).toMatch(/^DLMS_SECURITY: security: system-title-mismatch: /);
  });
});

describe('security arguments', () => {
  const base = ['--host', 'h', '--port', '4059', '--framing', 'wrapper'];
  it('defaults to auth-enc with high-gmac, to none otherwise, and to the documented system title', () => {
    const hls = parseDlmsArgs('objects', [...base, '--auth', 'high-gmac', '--ek', EK, '--ak', AK]);
    expect(hls.meter.security).toMatchObject({ protection: 'auth-enc', systemTitle: hex('4752440000000001'), serverSystemTitle: undefined });
    expect(parseDlmsArgs('objects', base).meter.security).toBeUndefined();
    expect(parseDlmsArgs('objects', [...base, '--security', 'auth', '--ek', EK, '--ak', AK]).meter).toMatchObject({ auth: 'none', security: { protection: 'auth' } });
  });

  it.each([
    [['--auth', 'high-gmac'], /needs --ek and --ak/],
    [['--auth', 'high-gmac', '--ek', EK.slice(2), '--ak', AK], /--ek: expected 32 hex digits/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', `${AK.slice(2)}zz`], /--ak: expected 32 hex digits/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', AK, '--system-title', '4752'], /--system-title: expected 16 hex digits/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', AK, '--server-system-title', 'x'.repeat(16)], /--server-system-title: expected 16 hex digits/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', AK, '--security', 'all'], /--security: expected none, auth, enc or auth-enc/],
    [['--auth', 'high'], /--auth: expected none, low or high-gmac/],
    [['--ek', EK], /--ek needs --auth high-gmac or --security/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', AK, '--password', 'x'], /--password is for --auth low/],
    [['--auth', 'high-gmac', '--ek', EK, '--ak', AK, '--invocation-counter', '4294967296'], /--invocation-counter: expected an integer/],
  ])('refuses %j with a UsageError naming the option', (extra, message) => {
    expect(() => parseDlmsArgs('objects', [...base, ...extra])).toThrow(UsageError);
    expect(() => parseDlmsArgs('objects', [...base, ...extra])).toThrow(message);
  });

  it('derives the first invocation counter from seconds since 2020 × 8 plus 0..7, so later runs start higher', () => {
    const t = Date.UTC(2025, 0, 1);
    const seconds = (t - Date.UTC(2020, 0, 1)) / 1000;
    expect(firstCliCounter(t, () => 0)).toBe(seconds * 8);
    expect(firstCliCounter(t, () => 0.999)).toBe(seconds * 8 + 7);
    expect(firstCliCounter(t + 2_000, () => 0)).toBeGreaterThan(firstCliCounter(t, () => 0.999));
    expect(firstCliCounter(Date.UTC(2037, 0, 1), () => 0.999)).toBeLessThanOrEqual(0xffffffff);
  });
});
