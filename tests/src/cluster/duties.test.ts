/**
 * The duty roster: the active-only parts run while the node leads and not otherwise. They
 * start in registration order and stop in reverse; a standby starts nothing; a lease lost
 * while the parts are still starting stops them once started; one part that fails does not
 * keep the others from starting; without leadership (single mode) the parts run from begin.
 */
import { describe, expect, it } from 'vitest';
import { DutyRoster, DutyRegistrationError, type Leadership } from '../../../src/cluster/duties.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';
import { createLogger } from '../../../src/observe/logger.js';

const logger = createLogger('silent');

/** Leadership as the lease reports it: holder or not, and the two events. */
class Lead implements Leadership {
  holder = false;
  readonly #listeners = { gained: new Set<() => void>(), lost: new Set<() => void>() };
  isHolder(): boolean { return this.holder; }
  on(event: 'gained' | 'lost', listener: () => void): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }
  set(holder: boolean): void {
    this.holder = holder;
    for (const l of this.#listeners[holder ? 'gained' : 'lost']) l();
  }
}

/** A part that records what happened to it, in one shared journal. */
const part = (journal: string[], name: string, gate?: Promise<void>) => ({
  start: async () => { journal.push(`start ${name}`); await gate; },
  stop: () => { journal.push(`stop ${name}`); },
});

/** Waits for the roster's current transition by queueing a no-op one behind it. */
const settled = (roster: DutyRoster): Promise<void> => roster.close().then(() => undefined);

describe('the duty roster', () => {
  it('starts nothing on a standby, starts every part in order on gaining the lease, and stops them in reverse on losing it', async () => {
    const lead = new Lead();
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    const states: string[] = [];
    roster.add('collect', part(journal, 'collect'));
    roster.add('telemetry', part(journal, 'telemetry'));
    roster.onChange((s) => { states.push(s); });
    await roster.begin(new ShutdownOrder(logger));
    expect(journal).toEqual([]);
    expect(roster.state()).toBe('standby');

    lead.set(true);
    await new Promise((r) => setImmediate(r));
    expect(journal).toEqual(['start collect', 'start telemetry']);
    expect(roster.state()).toBe('active');

    lead.set(false);
    await new Promise((r) => setImmediate(r));
    expect(journal).toEqual(['start collect', 'start telemetry', 'stop telemetry', 'stop collect']);
    expect(roster.state()).toBe('standby');
    expect(states).toEqual(['active', 'standby']);
  });

  it('stops the parts as soon as their start ends when the lease was lost during it', async () => {
    const lead = new Lead();
    lead.holder = true;
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => { release = r; });
    roster.add('collect', part(journal, 'collect'));
    roster.add('telemetry', part(journal, 'telemetry', slow));
    roster.add('timers', part(journal, 'timers'));
    const begun = roster.begin(new ShutdownOrder(logger));
    await new Promise((r) => setImmediate(r));
    lead.set(false);
    release();
    await begun;
    // The part after the slow one never starts; every part is told to stop.
    expect(journal).toEqual(['start collect', 'start telemetry', 'stop timers', 'stop telemetry', 'stop collect']);
    expect(roster.state()).toBe('standby');
  });

  it('fails the station start with the error of a part that could not start', async () => {
    const lead = new Lead();
    lead.holder = true;
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    roster.add('push listener', { start: () => { throw new Error('EADDRINUSE'); }, stop: () => { journal.push('stop push listener'); } });
    roster.add('timers', part(journal, 'timers'));
    const closers = new ShutdownOrder(logger);
    await expect(roster.begin(closers)).rejects.toThrow('EADDRINUSE');
    await closers.closeAll();
    expect(journal).toEqual(['start timers', 'stop timers', 'stop push listener']);
  });

  it('at a takeover, starts the other parts when one fails to start, and is active', async () => {
    const lead = new Lead();
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    roster.add('broken', { start: () => { throw new Error('broker unreachable'); }, stop: () => { journal.push('stop broken'); } });
    roster.add('timers', part(journal, 'timers'));
    await roster.begin(new ShutdownOrder(logger));
    lead.set(true);
    await new Promise((r) => setImmediate(r));
    expect(journal).toEqual(['start timers']);
    expect(roster.state()).toBe('active');
    await settled(roster);
    expect(journal).toEqual(['start timers', 'stop timers', 'stop broken']);
  });

  it('without leadership (single mode) runs the parts from begin until shutdown, which stops them first', async () => {
    const roster = new DutyRoster(logger, undefined);
    const journal: string[] = [];
    const closers = new ShutdownOrder(logger);
    closers.add('pipeline', () => { journal.push('close pipeline'); });
    roster.add('collect', part(journal, 'collect'));
    await roster.begin(closers);
    expect(roster.state()).toBe('active');
    await closers.closeAll();
    expect(journal).toEqual(['start collect', 'stop collect', 'close pipeline']);
    expect(roster.state()).toBe('standby');
  });

  it('refuses a part registered after it began, with a typed error', async () => {
    const roster = new DutyRoster(logger, undefined);
    await roster.begin(new ShutdownOrder(logger));
    expect(() => { roster.add('late', part([], 'late')); }).toThrow(DutyRegistrationError);
    await settled(roster);
  });
});
