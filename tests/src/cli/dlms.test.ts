/**
 * `gridhead dlms get|objects` run in-process through main(), against the simulated meter over
 * real TCP in both framings: what a field engineer sees on stdout, stderr and in the exit code.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { DlmsMeterSimulator } from '../../../simulators/dlms/server.js';
import { captureCliOutput } from '../../helpers/cliOutput.js';
import { freePort } from '../../helpers/victoriaMetrics.js';

interface Item {
  obis: string;
  attribute: number;
  classId: number | null;
  ok: boolean;
  value?: unknown;
  scaled?: { value: number; unit: string };
  error?: string;
}

interface GetDocument {
  meter: { host: string; port: number; framing: string; client: number; server: number };
  items: Item[];
}

interface ObjectEntry {
  classId: number;
  className?: string;
  version: number;
  obis: string;
  attributes: { id: number; access: string; selectors?: number[] }[];
  methods: { id: number; access: string }[];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(['wrapper', 'hdlc'] as const)('gridhead dlms against a simulated meter over %s', (framing) => {
  let sim: DlmsMeterSimulator;
  const connection = (): string[] => ['--host', '127.0.0.1', '--port', String(sim.port), '--framing', framing];

  beforeAll(async () => {
    // Industrial: energy registers carry scaler 1 (10 Wh), so scaling is visible. UTC+01:00.
    sim = new DlmsMeterSimulator({
      framing, seed: 7, serialNumber: '00000007', password: 'secret01', historyDays: 1,
      customerType: 'industrial', deviationMinutes: -60,
    });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('reads the clock and registers with class ids from the object list, scaled into their units', async () => {
    const io = captureCliOutput();
    const code = await main(['dlms', 'get', ...connection(), '0.0.1.0.0.255:2', '1.0.1.8.0.255:2', '1-0:32.7.0*255:2']);
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    const doc = JSON.parse(io.out()) as GetDocument;
    expect(doc.meter).toEqual({ host: '127.0.0.1', port: sim.port, framing, client: 16, server: 1 });
    const [clock, energy, voltage] = doc.items;

    expect(clock).toMatchObject({ obis: '0.0.1.0.0.255', attribute: 2, classId: 8, ok: true });
    const time = clock!.value as { time: string; utc: string; deviation: number; clockStatus: number | null };
    expect(time.deviation).toBe(-60);
    expect(time.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d)?\+01:00$/);
    // The local time shown is the UTC instant one hour on.
    expect(new Date(Date.parse(time.utc) + 3_600_000).toISOString().slice(0, 19)).toBe(time.time.slice(0, 19));
    expect(Math.abs(Date.parse(time.utc) - Date.now())).toBeLessThan(60_000);

    expect(energy).toMatchObject({ obis: '1.0.1.8.0.255', attribute: 2, classId: 3, ok: true });
    expect(energy!.value).toBeGreaterThan(0);
    expect(energy!.scaled).toEqual({ value: (energy!.value as number) * 10, unit: 'Wh' });

    expect(voltage).toMatchObject({ obis: '1.0.32.7.0.255', classId: 3, ok: true });
    expect(voltage!.scaled?.unit).toBe('V');
    expect(voltage!.scaled?.value).toBeCloseTo((voltage!.value as number) / 10, 6);
    expect(voltage!.scaled?.value).toBeGreaterThan(200);
  });

  it('shows an extended register scaled, and its capture time as local time with its offset', async () => {
    const io = captureCliOutput();
    expect(await main(['dlms', 'get', ...connection(), '1.0.1.6.0.255:2', '1.0.1.6.0.255:5'])).toBe(0);
    const [maxDemand, captured] = (JSON.parse(io.out()) as GetDocument).items;
    expect(maxDemand).toMatchObject({ classId: 4, ok: true, scaled: { unit: 'W' } });
    expect(captured).toMatchObject({ classId: 4, ok: true });
    expect(captured!.scaled).toBeUndefined();
    expect(captured!.value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d)?\+01:00$/);
  });

  it('reports an OBIS the meter does not have as object-undefined and still reads the rest', async () => {
    const io = captureCliOutput();
    const code = await main(['dlms', 'get', ...connection(), '9.9.9.9.9.9:2', '9.9.9.9.9.9:2@3', '0.0.96.1.0.255:2']);
    expect(code).toBe(0);
    const doc = JSON.parse(io.out()) as GetDocument;
    // Not in the object list: no class id, nothing asked of the meter.
    expect(doc.items[0]).toEqual({ obis: '9.9.9.9.9.9', attribute: 2, classId: null, ok: false, error: 'object-undefined' });
    // With a class given, the meter itself answers.
    expect(doc.items[1]).toEqual({ obis: '9.9.9.9.9.9', attribute: 2, classId: 3, ok: false, error: 'object-undefined' });
    expect(doc.items[2]).toMatchObject({ obis: '0.0.96.1.0.255', classId: 1, ok: true });
  });

  it('lists the object list with class names and access rights', async () => {
    const io = captureCliOutput();
    expect(await main(['dlms', 'objects', ...connection()])).toBe(0);
    const objects = JSON.parse(io.out()) as ObjectEntry[];
    const clock = objects.find((o) => o.obis === '0.0.1.0.0.255');
    expect(clock).toMatchObject({ classId: 8, className: 'clock' });
    expect(clock?.attributes.find((a) => a.id === 2)?.access).toMatch(/read/);
    const profile = objects.find((o) => o.obis === '1.0.99.1.0.255');
    expect(profile).toMatchObject({ classId: 7, className: 'profileGeneric' });
    expect(profile?.attributes.map((a) => a.id)).toContain(2);
    expect(objects.find((o) => o.obis === '0.0.96.3.10.255')?.methods.map((m) => m.id)).toEqual([1, 2]);
  });

  it('associates as the management client with low-level security', async () => {
    const io = captureCliOutput();
    const code = await main(['dlms', 'get', ...connection(), '--client', '1', '--auth', 'low', '--password', 'secret01', '0.0.1.0.0.255:2']);
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect((JSON.parse(io.out()) as GetDocument).items[0]).toMatchObject({ classId: 8, ok: true });
  });

  it('exits 3 with the association diagnostic on one line for a wrong password', async () => {
    const io = captureCliOutput();
    const code = await main(['dlms', 'get', ...connection(), '--client', '1', '--password', 'wrong-pw', '0.0.1.0.0.255:2']);
    expect(code).toBe(3);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^DLMS_ASSOCIATION_REJECTED: authentication-failure \(.*\)\n$/);
  });

  it('exits 3 when the meter drops the connection', async () => {
    sim.faults.dropProbability = 1;
    try {
      const io = captureCliOutput();
      expect(await main(['dlms', 'get', ...connection(), '0.0.1.0.0.255:2'])).toBe(3);
      expect(io.out()).toBe('');
      expect(io.err()).toMatch(/^CONNECTION: .*\n$/);
    } finally {
      sim.faults.dropProbability = 0;
    }
  });

  it('exits 3 with TIMEOUT when the meter answers later than --timeout-ms', async () => {
    sim.faults.delayMs = 500;
    try {
      const io = captureCliOutput();
      expect(await main(['dlms', 'objects', ...connection(), '--timeout-ms', '100'])).toBe(3);
      expect(io.out()).toBe('');
      expect(io.err()).toMatch(/^TIMEOUT: .*timed out after 100 ms\n$/);
    } finally {
      sim.faults.delayMs = 0;
    }
  });
});

describe('gridhead dlms failures before any reading', () => {
  it('exits 3 naming the address when nothing listens on the port', async () => {
    const port = await freePort(); // nobody listens on it
    const io = captureCliOutput();
    expect(await main(['dlms', 'objects', '--host', '127.0.0.1', '--port', String(port), '--framing', 'wrapper'])).toBe(3);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(new RegExp(`^CONNECTION: cannot connect to 127\\.0\\.0\\.1:${port}: .*\\n$`));
    expect(io.err()).not.toMatch(/\n\s+at /);
  });

  const ok = ['--host', 'meter.local', '--port', '4059', '--framing', 'wrapper'];
  it.each([
    [['get', '--port', '4059', '--framing', 'wrapper', '1.0.1.8.0.255:2'], /--host is required/],
    [['get', '--host', 'm', '--framing', 'hdlc', '1.0.1.8.0.255:2'], /--port is required/],
    [['get', '--host', 'm', '--port', '70000', '--framing', 'wrapper', '1.0.1.8.0.255:2'], /--port: expected an integer 1\.\.65535, got "70000"/],
    [['get', '--host', 'm', '--port', '4059', '1.0.1.8.0.255:2'], /--framing is required/],
    [['get', '--host', 'm', '--port', '4059', '--framing', 'serial', '1.0.1.8.0.255:2'], /--framing: expected wrapper or hdlc/],
    [['get', ...ok, '--client', '200', '1.0.1.8.0.255:2'], /--client: expected an integer 0\.\.127/],
    [['get', ...ok, '--server', '16384', '1.0.1.8.0.255:2'], /--server: expected an integer 0\.\.16383/],
    [['get', ...ok, '--lower', '17', '1.0.1.8.0.255:2'], /--lower applies to --framing hdlc only/],
    [['get', ...ok, '--auth', 'low', '1.0.1.8.0.255:2'], /--auth low needs --password/],
    [['get', ...ok, '--auth', 'hls', '1.0.1.8.0.255:2'], /--auth: expected none, low or high-gmac/],
    [['get', ...ok, '--timeout-ms', '0', '1.0.1.8.0.255:2'], /--timeout-ms: expected an integer/],
    [['get', ...ok, '--class', 'x', '1.0.1.8.0.255:2'], /--class: expected an integer/],
    [['get', ...ok], /at least one OBIS:ATTR/],
    [['get', ...ok, '1.0.1.8.0.255'], /expected OBIS:ATTR\[@CLASS\]/],
    [['get', ...ok, '1.0.1.8.0.256:2'], /OBIS "1\.0\.1\.8\.0\.256": value group F = 256 is above 255/],
    [['get', ...ok, '1.0.1.8.0.255:0'], /attribute 0 names no attribute/],
    [['get', ...ok, '1.0.1.8.0.255:2@abc'], /1\.0\.1\.8\.0\.255:2@abc: class: expected an integer/],
    [['get', ...ok, '--colour', '1.0.1.8.0.255:2'], /Unknown option '--colour'/],
    [['objects', ...ok, '--class', '3'], /Unknown option '--class'/],
    [['objects', ...ok, 'extra'], /positional argument/],
    [['fly', ...ok], /unknown subcommand "fly"/],
  ])('exits 2 for %j, naming the problem', async (args, message) => {
    const io = captureCliOutput();
    expect(await main(['dlms', ...args])).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(message);
    expect(io.err()).toMatch(/usage:\n {2}gridhead dlms get/);
  });

  it('prints its usage for --help and is listed in the main usage', async () => {
    const io = captureCliOutput();
    expect(await main(['dlms', '--help'])).toBe(0);
    expect(io.out()).toMatch(/gridhead dlms objects CONNECTION/);
    expect(await main(['help'])).toBe(0);
    expect(io.out()).toMatch(/gridhead dlms get --host H --port P --framing wrapper\|hdlc/);
  });
});
