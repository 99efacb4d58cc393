/**
 * The duty roster: the active-only parts run while the node leads and not otherwise. They
 * start in registration order and stop in reverse; a standby starts nothing; a lease lost
 * while the parts are still starting stops them once started; one part that fails does not
 * keep the others from starting; without leadership (single mode) the parts run from begin;
 * at shutdown the roster stops following and leaves the stops to the parts' own closers.
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

describe('the duty roster', () => {
  it('starts nothing on a standby, starts every part in order on gaining the lease, and stops them in reverse on losing it', async () => {
    const lead = new Lead();
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    roster.add('collect', part(journal, 'collect'));
    roster.add('telemetry', part(journal, 'telemetry'));
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
    await expect(roster.begin(new ShutdownOrder(logger))).rejects.toThrow('EADDRINUSE');
    expect(journal).toEqual(['start timers']);
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
    lead.set(false);
    await new Promise((r) => setImmediate(r));
    expect(journal).toEqual(['start timers', 'stop timers', 'stop broken']);
  });

  it('without leadership (single mode) runs the parts from begin', async () => {
    const roster = new DutyRoster(logger, undefined);
    const journal: string[] = [];
    roster.add('collect', part(journal, 'collect'));
    await roster.begin(new ShutdownOrder(logger));
    expect(roster.state()).toBe('active');
    expect(journal).toEqual(['start collect']);
  });

  it('stops following at shutdown: a lease lost while the station closes runs no stops of its own', async () => {
    const lead = new Lead();
    lead.holder = true;
    const roster = new DutyRoster(logger, lead);
    const journal: string[] = [];
    const closers = new ShutdownOrder(logger);
    roster.add('collect', part(journal, 'collect'));
    // The part's own closer, registered where its assembly ran: before the roster began.
    closers.add('collect', () => { journal.push('collect closer'); });
    await roster.begin(closers);
    await closers.closeAll();
    lead.set(false);
    await new Promise((r) => setImmediate(r));
    expect(journal).toEqual(['start collect', 'collect closer']);
  });

  it('refuses a part registered after it began, with a typed error', async () => {
    const roster = new DutyRoster(logger, undefined);
    await roster.begin(new ShutdownOrder(logger));
    expect(() => { roster.add('late', part([], 'late')); }).toThrow(DutyRegistrationError);
  });
});
