/**
 * The collector asks the adapter of a terminal's protocol whether its terminals are polled,
 * never the protocol's name: swap the capabilities across protocols and the terminals follow
 * them (an "mqtt" adapter that polls gets a lane, a "dlms" adapter that only hears pushes is
 * watched for silence and never opened).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { terminalId, type Terminal } from '../../../src/domain/index.js';
import { FakeAdapter, closeAll, harness, modbusTerminal } from './harness.js';

afterEach(closeAll);

describe('CollectionScheduler follows adapter capabilities', () => {
  it('polls the terminals of a pollable adapter and only watches those of a push-only one, whatever the protocol is called', async () => {
    const polling = new FakeAdapter({ pollable: true, commandsOverPush: false }, 'mqtt');
    const hearing = new FakeAdapter({ pollable: false, commandsOverPush: true }, 'dlms');
    const h = harness({ pushSilenceMs: 60_000, adapters: { mqtt: polling, dlms: hearing } });
    const polled: Terminal = { id: terminalId('Q1'), name: 'Q1', protocol: 'mqtt', enabled: true, profiles: ['fast'], mqtt: {} };
    const pushed: Terminal = {
      id: terminalId('D1'), name: 'D1', protocol: 'dlms', enabled: true, profiles: ['fast'],
      dlms: { host: '127.0.0.1', port: 4059, framing: 'wrapper', clientSap: 1, auth: 'low', meterType: 'one-type' },
    };
    h.topology.put(polled);
    h.topology.put(pushed);
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);

    expect(polling.callsOf('Q1')).toHaveLength(1);
    expect(hearing.opens).toEqual([]);
    await expect(h.scheduler.pollNow('D1')).rejects.toMatchObject({ code: 'COLLECT_NOT_POLLABLE' });
    expect(h.scheduler.notePush('D1', 3)).toBe(true);
    expect(h.scheduler.terminalState('D1')).toMatchObject({ online: true });
    // Status messages are the push watch's alone: the polled terminal has a lane instead.
    expect(h.scheduler.noteStatus('D1', true)).toBe(true);
    expect(h.scheduler.noteStatus('Q1', true)).toBe(false);
    // No adapter for modbus here: reported once, neither polled nor watched.
    expect(h.faults.map((f) => f.message)).toEqual([expect.stringContaining('T1')]);
    expect(h.scheduler.notePush('T1', 1)).toBe(false);
  });
});
