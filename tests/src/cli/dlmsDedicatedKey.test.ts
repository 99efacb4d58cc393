/**
 * `gridhead dlms --dedicated-key` and `--ciphering general-glo`: the argument checks (exit 2)
 * and reads from the simulated meter's client 48 over real TCP whose requests go ded- or
 * general-glo-ciphered (seen through a capturing proxy).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { firstCliCounter } from '../../../src/cli/dlms.js';
import { parseDlmsArgs, UsageError } from '../../../src/cli/dlmsArgs.js';
import { HLS_CLIENT } from '../../../simulators/dlms/server.js';
import { captureCliOutput } from '../../helpers/cliOutput.js';
import { KEYS, METER_TITLE as METER_TITLE_BYTES, startProxiedMeter, type ProxiedMeter } from '../../simulators/dlms/securityFixture.js';

// The meter's keys and title as a field engineer types them.
const hexArg = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const EK = hexArg(KEYS.ek);
const AK = hexArg(KEYS.ak);
const METER_TITLE = hexArg(METER_TITLE_BYTES);

const connection = (port: number, security: string, ...extra: string[]): string[] => [
  '--host', '127.0.0.1', '--port', String(port), '--framing', 'wrapper', '--client', String(HLS_CLIENT),
  '--auth', 'high-gmac', '--security', security, '--ek', EK, '--ak', AK, '--server-system-title', METER_TITLE, ...extra,
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('gridhead dlms --dedicated-key', () => {
  let meter: ProxiedMeter;
  beforeAll(async () => {
    meter = await startProxiedMeter({ seed: 5, serialNumber: '00000005', historyDays: 1 });
  });
  afterAll(() => meter.stop());

  it('parses the flag into the security settings, and refuses it without encryption', () => {
    const cmd = parseDlmsArgs('get', [...connection(4059, 'auth-enc', '--dedicated-key'), '1.0.1.8.0.255:2']);
    expect(cmd.meter.security?.dedicatedKey).toBe(true);
    expect(parseDlmsArgs('get', [...connection(4059, 'enc'), '1.0.1.8.0.255:2']).meter.security?.dedicatedKey).toBeUndefined();
    expect(() => parseDlmsArgs('get', [...connection(4059, 'auth', '--dedicated-key'), '1.0.1.8.0.255:2'])).toThrow(UsageError);
    expect(() => parseDlmsArgs('get', ['--host', 'h', '--port', '1', '--framing', 'wrapper', '--dedicated-key', '1.0.1.8.0.255:2'])).toThrow(/--dedicated-key/);
  });

  it('parses --ciphering, and refuses it without protection, with a dedicated key or misspelt', () => {
    const args = (...extra: string[]) => [...connection(4059, 'auth-enc', ...extra), '1.0.1.8.0.255:2'];
    expect(parseDlmsArgs('get', args('--ciphering', 'general-glo')).meter.security?.ciphering).toBe('general-glo');
    expect(parseDlmsArgs('get', args()).meter.security?.ciphering).toBeUndefined();
    expect(() => parseDlmsArgs('get', args('--ciphering', 'general'))).toThrow(/--ciphering: expected service-specific or general-glo/);
    expect(() => parseDlmsArgs('get', args('--ciphering', 'general-glo', '--dedicated-key'))).toThrow(/--dedicated-key/);
    expect(() => parseDlmsArgs('get', ['--host', 'h', '--port', '1', '--framing', 'wrapper', '--ciphering', 'general-glo', '1.0.1.8.0.255:2'])).toThrow(/--ciphering needs --security/);
  });

  it('reads a register with every request ded-ciphered', async () => {
    const io = captureCliOutput();
    expect(await main(['dlms', 'get', ...connection(meter.proxy.port, 'auth-enc', '--dedicated-key'), '1.0.1.8.0.255:2'])).toBe(0);
    const doc = JSON.parse(io.out()) as { items: { ok: boolean }[] };
    expect(doc.items).toMatchObject([{ ok: true }]);
    const tags = meter.proxy.fromClient.map((a) => a[0]);
    expect(tags[0]).toBe(0x60);
    expect(tags).toContain(0xd0);
    expect(tags.filter((t) => t !== 0x60 && t !== 0x62).every((t) => t === 0xd0 || t === 0xd3)).toBe(true);
    expect(meter.sim.securityEvents).toEqual([]);
  });

  it('reads a register with every request general-glo-ciphered (--ciphering general-glo)', async () => {
    captureCliOutput();
    const from = meter.proxy.fromClient.length;
    // Above the clock-derived counters of the run before, which the meter has seen.
    const counter = String(firstCliCounter() + 1_000);
    expect(await main(['dlms', 'get', ...connection(meter.proxy.port, 'auth-enc', '--ciphering', 'general-glo', '--invocation-counter', counter), '1.0.1.8.0.255:2'])).toBe(0);
    const tags = meter.proxy.fromClient.slice(from).map((a) => a[0]);
    expect(tags.filter((t) => t !== 0x60 && t !== 0x62).every((t) => t === 0xdb)).toBe(true);
    expect(tags).toContain(0xdb);
  });
});
