import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connectionLost, harness, modbusTerminal, mqttTerminal, START } from './harness.js';

afterEach(closeAll);

const FIRST = START + 30_000;

describe('polled terminal health', () => {
  it('goes offline after offlineAfterFailures failed cycles with one event, and online on the first success', async () => {
    const h = harness({ offlineAfterFailures: 3 });
    h.topology.put(modbusTerminal('T1'));
    let down = true;
    h.adapter.script('T1').openError = () => (down ? connectionLost('T1') : undefined);
    h.scheduler.start();

    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 100);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ status: 'unknown', online: false, consecutiveFailures: 2 });
    expect(h.changes).toEqual([]);

    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(h.scheduler.terminalState('T1')).toMatchObject({
      status: 'offline', consecutiveFailures: 5, lastSuccessTs: null, lastAttemptTs: FIRST + 240_000,
      lastError: { code: 'CONNECTION', message: 'connection reset by peer', ts: FIRST + 240_000 },
    });
    expect(h.changes).toEqual([
      { terminalId: 'T1', online: false, previous: 'unknown', ts: FIRST + 120_000, reason: '3 consecutive failed cycles, last: CONNECTION: connection reset by peer' },
    ]);

    down = false;
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(h.changes.slice(1)).toEqual([
      { terminalId: 'T1', online: true, previous: 'offline', ts: FIRST + 300_010, reason: 'poll succeeded' },
    ]);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ online: true, consecutiveFailures: 0, lastSuccessTs: FIRST + 360_010 });
  });

  it('does not count a partly successful cycle as a failure', async () => {
    const h = harness({ offlineAfterFailures: 1 });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'power.active' ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 3 * 60_000);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ online: true, consecutiveFailures: 0 });
    expect(h.changes.map((c) => c.online)).toEqual([true]);
  });

  it('judges each terminal on its own', async () => {
    const h = harness({ offlineAfterFailures: 1 });
    h.topology.put(modbusTerminal('bad'));
    h.topology.put(modbusTerminal('good'));
    h.adapter.script('bad').readError = () => connectionLost('bad');
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    expect(Object.fromEntries(h.scheduler.states().map((s) => [s.terminalId, s.status]))).toEqual({ bad: 'offline', good: 'online' });
  });
});

describe('pushing terminal health', () => {
  it('is online while it speaks and offline after pushSilenceMs of silence, once', async () => {
    const h = harness({ pushSilenceMs: 60_000 });
    h.topology.put(mqttTerminal('P1'));
    h.scheduler.start();
    expect(h.scheduler.notePush('P1', 10)).toBe(true);
    expect(h.scheduler.terminalState('P1')).toMatchObject({ online: true, lastSuccessTs: START });
    await vi.advanceTimersByTimeAsync(45_000);
    h.scheduler.notePush('P1', 10);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(h.scheduler.terminalState('P1')?.online).toBe(true);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(h.changes.map((c) => [c.online, c.reason])).toEqual([
      [true, 'telemetry received'],
      [false, 'silent for 60 s'],
    ]);
    expect(h.adapter.calls).toHaveLength(0);
  });

  it('follows status messages: offline at once on the last will, online on birth', () => {
    const h = harness();
    h.topology.put(mqttTerminal('P1'));
    h.scheduler.start();
    h.scheduler.noteStatus('P1', true);
    h.scheduler.noteStatus('P1', false, START + 5);
    expect(h.scheduler.terminalState('P1')).toMatchObject({ status: 'offline' });
    expect(h.changes.map((c) => [c.previous, c.online])).toEqual([['unknown', true], ['online', false]]);
  });

  it('marks a push terminal never heard from offline after the silence span', async () => {
    const h = harness({ pushSilenceMs: 60_000 });
    h.topology.put(mqttTerminal('P1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(75_000);
    expect(h.changes).toEqual([{ terminalId: 'P1', online: false, previous: 'unknown', reason: 'silent for 60 s', ts: START + 60_000 }]);
  });

  it('ignores pushes for terminals it does not watch', () => {
    const h = harness();
    h.scheduler.start();
    expect(h.scheduler.notePush('ghost', 1)).toBe(false);
    expect(h.scheduler.noteStatus('ghost', true)).toBe(false);
  });
});
