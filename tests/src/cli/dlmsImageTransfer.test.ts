/**
 * `gridhead dlms image-transfer` as a field engineer runs it: the installed command (a child
 * process, stderr not a terminal, so progress comes as lines) against a simulated meter over
 * TCP. A transfer activated now, one scheduled through IC 22, a refused identifier (exit 3 with
 * the Blue Book result), and the argument checks (exit 2).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsClient } from '../../../protocols/dlms/client/client.js';
import { openDlmsTransport } from '../../../protocols/dlms/net/clientTransport.js';
import { parseDlmsArgs, UsageError } from '../../../src/cli/dlmsArgs.js';
import { runImageTransfer } from '../../../src/cli/dlmsImageTransfer.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../../simulators/dlms/server.js';
import { installCli, type CliInstall } from '../../helpers/cli.js';

describe('gridhead dlms image-transfer', () => {
  let cli: CliInstall;
  let sim: DlmsMeterSimulator;
  let dir: string;
  let file: string;
  const image = Uint8Array.from({ length: 3_000 }, (_, i) => (i * 7) & 0xff);

  beforeAll(async () => {
    sim = new DlmsMeterSimulator({ framing: 'hdlc', seed: 77, serialNumber: '00000077', historyDays: 0, firmware: { verifyMs: 20, activateMs: 20, refuseIdentifiers: ['BAD-FW'] } });
    [cli] = await Promise.all([installCli(), sim.start()]);
    dir = await mkdtemp(path.join(tmpdir(), 'gridhead-fw-'));
    file = path.join(dir, 'image.bin');
    await writeFile(file, image);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([cli.dispose(), sim.stop(), rm(dir, { recursive: true, force: true })]);
  });

  const connection = () => ['--host', '127.0.0.1', '--port', String(sim.port), '--framing', 'hdlc', '--client', String(MANAGEMENT_CLIENT), '--password', '12345678'];
  const transfer = (...extra: string[]) => cli.run(['dlms', 'image-transfer', ...connection(), '--file', file, ...extra]);

  it('sends, verifies and activates the image, prints progress lines and the version read back', async () => {
    const run = await transfer('--identifier', 'GRD-FW-3.0.0', '--activate', '--block-timeout', '5000');
    expect(run.stderr).toMatch(/^image-transfer: \d+\/16 blocks \(\d+%\)$/m);
    expect(run.stderr).toContain('image-transfer: 16/16 blocks (100%)');
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      image: { identifier: 'GRD-FW-3.0.0', size: 3_000 }, blockSize: 192, blocksTotal: 16, blocksSent: 16, verified: true, activation: 'now',
      firmware: { identifier: 'GRD-FW-3.0.0' },
    });
    expect(new TextDecoder().decode(sim.meter.firmware.transfer.active.identifier)).toBe('GRD-FW-3.0.0');
  });

  it('schedules the activation through the Single action schedule; the meter activates when its clock gets there', async () => {
    const at = new Date(Date.now() + 1_500);
    const run = await transfer('--identifier', 'GRD-FW-3.1.0', '--activate-at', at.toISOString());
    expect(run.stderr).toContain('scheduling activation');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ activation: { at: at.toISOString() } });
    let active = '';
    for (let i = 0; i < 100 && active !== 'GRD-FW-3.1.0'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sim.meter.tick(Date.now());
      // The activation the schedule started completes activateMs later, seen by the next look at the status.
      sim.meter.firmware.transfer.status(Date.now());
      active = new TextDecoder().decode(sim.meter.firmware.transfer.active.identifier);
    }
    expect(active).toBe('GRD-FW-3.1.0');
  });

  it('exits 3 with one line naming the meter\'s action result for an identifier it refuses', async () => {
    const run = await transfer('--identifier', 'BAD-FW');
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n').at(-1)).toBe('IMAGE_REFUSED: the meter refused image BAD-FW: image_transfer_initiate answered other-reason');
    expect(run.stdout).toBe('');
  });

  it('exits 2 for a file it cannot read, before connecting', async () => {
    const run = await cli.run(['dlms', 'image-transfer', ...connection(), '--file', path.join(dir, 'missing.bin'), '--identifier', 'X']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--file: cannot read/);
  });

  it('draws a bar redrawn in place when stderr is a terminal', async () => {
    const transport = await openDlmsTransport({ host: '127.0.0.1', port: sim.port, framing: 'hdlc', clientSap: MANAGEMENT_CLIENT, serverSap: 1, timeoutMs: 5_000 }, new AbortController().signal);
    const client = new DlmsClient(transport, { clientSap: MANAGEMENT_CLIENT, timeoutMs: 5_000, auth: { mechanism: 'low', password: '12345678' } });
    let written = '';
    try {
      await client.associate();
      let t = 0;
      // A clock that moves 1 s per look, so every block is drawn.
      const doc = await runImageTransfer(client, { file, identifier: 'GRD-FW-TTY', activation: { at: 'none' }, resume: false, blockTimeoutMs: undefined },
        image, { isTTY: true, write: (text: string) => (written += text) }, () => (t += 1_000));
      expect(doc).toMatchObject({ blocksSent: 16, verified: true, activation: 'none' });
    } finally {
      await client.close();
    }
    expect(written).toContain('\r\x1b[2Kimage-transfer [##');
    expect(written).toMatch(/\] 100% 16\/16 blocks {2}\d+ blocks\/s\n/);
  });

  it('checks its arguments', () => {
    const base = ['--host', 'h', '--port', '4059', '--framing', 'wrapper'];
    expect(() => parseDlmsArgs('image-transfer', [...base, '--identifier', 'X'])).toThrow(/--file is required/);
    expect(() => parseDlmsArgs('image-transfer', [...base, '--file', 'f'])).toThrow(/--identifier is required/);
    expect(() => parseDlmsArgs('image-transfer', [...base, '--file', 'f', '--identifier', 'X', '--activate', '--activate-at', '2026-12-08T02:00:00Z'])).toThrow(UsageError);
    expect(() => parseDlmsArgs('image-transfer', [...base, '--file', 'f', '--identifier', 'X', '--activate-at', 'tomorrow'])).toThrow(/--activate-at/);
    expect(() => parseDlmsArgs('image-transfer', [...base, '--file', 'f', '--identifier', 'X', '--block-timeout', '0'])).toThrow(/--block-timeout/);
    expect(parseDlmsArgs('image-transfer', [...base, '--file', 'f', '--identifier', 'X', '--activate-at', '2026-12-08T03:00:00+01:00', '--resume'])).toMatchObject({
      kind: 'image-transfer', transfer: { file: 'f', identifier: 'X', activation: { at: 'scheduled', time: Date.UTC(2026, 11, 8, 2) }, resume: true },
    });
  });
});
