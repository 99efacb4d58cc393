/**
 * The duty roster: the active-only parts run while the node leads and not otherwise. They
 * start in registration order and stop in reverse; a standby starts nothing; a lease lost
 * while the parts are still starting stops them once started; one part that fails does not
 * keep the others from starting; without leadership (single mode) the parts run from begin;
 * at shutdown the roster stops following and leaves the stops to the parts' own closers; a
 * stop that hangs past its time limit is logged once by name and the roster goes on.
 */
import { describe, expect, it } from 'vitest';
import { DutyRoster, DutyRegistrationError, type Leadership } from '../../../src/cluster/duties.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';
import { createLogger } from '../../../src/observe/logger.js';
import { eventually } from '../../helpers/headend.js';

const logger = createLogger('silent');
const OPTIONS = { name: 'duties', stopTimeoutMs: 10_000 };

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
    const roster = new DutyRoster(logger, lead, OPTIONS);
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
    const roster = new DutyRoster(logger, lead, OPTIONS);
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
    const roster = new DutyRoster(logger, lead, OPTIONS);
    const journal: string[] = [];
    roster.add('push listener', { start: () => { throw new Error('EADDRINUSE'); }, stop: () => { journal.push('stop push listener'); } });
    roster.add('timers', part(journal, 'timers'));
    await expect(roster.begin(new ShutdownOrder(logger))).rejects.toThrow('EADDRINUSE');
    expect(journal).toEqual(['start timers']);
  });

  it('at a takeover, starts the other parts when one fails to start, and is active', async () => {
    const lead = new Lead();
    const roster = new DutyRoster(logger, lead, OPTIONS);
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
    const roster = new DutyRoster(logger, undefined, OPTIONS);
    const journal: string[] = [];
    roster.add('collect', part(journal, 'collect'));
    await roster.begin(new ShutdownOrder(logger));
    expect(roster.state()).toBe('active');
    expect(journal).toEqual(['start collect']);
  });

  it('stops following at shutdown: a lease lost while the station closes runs no stops of its own', async () => {
    const lead = new Lead();
    lead.holder = true;
    const roster = new DutyRoster(logger, lead, OPTIONS);
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
    const roster = new DutyRoster(logger, undefined, OPTIONS);
    await roster.begin(new ShutdownOrder(logger));
    expect(() => { roster.add('late', part([], 'late')); }).toThrow(DutyRegistrationError);
  });

  it('goes on without a part whose stop hangs past the time limit, says so once with its name, and takes over again', async () => {
    const lead = new Lead();
    const lines: string[] = [];
    const roster = new DutyRoster(createLogger('warn', { write: (line: string) => { lines.push(line); } }), lead, { name: 'leader duties', stopTimeoutMs: 50 });
    const journal: string[] = [];
    roster.add('collect', part(journal, 'collect'));
    roster.add('stuck notifier', { start: () => { journal.push('start stuck notifier'); }, stop: () => new Promise<void>(() => { journal.push('stop stuck notifier'); }) });
    roster.add('timers', part(journal, 'timers'));
    await roster.begin(new ShutdownOrder(logger));

    lead.set(true);
    await eventually(() => Promise.resolve(roster.state() === 'active' && journal.length === 3 ? true : undefined), 5_000, 'the start');
    lead.set(false);
    await eventually(() => Promise.resolve(roster.state() === 'standby' ? true : undefined), 5_000, 'the step-down');
    // The parts before the stuck one in stop order were stopped, and so were those after it.
    expect(journal).toEqual(['start collect', 'start stuck notifier', 'start timers', 'stop timers', 'stop stuck notifier', 'stop collect']);
    const late = lines.map((l) => JSON.parse(l) as { msg: string; duty?: string; stopTimeoutMs?: number }).filter((l) => l.msg.includes('did not stop'));
    expect(late).toEqual([expect.objectContaining({ duty: 'stuck notifier', stopTimeoutMs: 50 })]);

    // Not stuck for good: the roster follows the lease again.
    lead.set(true);
    await eventually(() => Promise.resolve(roster.state() === 'active' && journal.length === 9 ? true : undefined), 5_000, 'the second start');
    expect(journal.slice(6)).toEqual(['start collect', 'start stuck notifier', 'start timers']);
  });

  it('logs a part\'s stop that fails after its time limit, without an unhandled rejection', async () => {
    const lead = new Lead();
    lead.holder = true;
    const lines: string[] = [];
    const roster = new DutyRoster(createLogger('warn', { write: (line: string) => { lines.push(line); } }), lead, { name: 'duties', stopTimeoutMs: 20 });
    let fail!: (err: Error) => void;
    roster.add('slow', { start: () => undefined, stop: () => new Promise<void>((_, reject) => { fail = reject; }) });
    await roster.begin(new ShutdownOrder(logger));
    lead.set(false);
    await eventually(() => Promise.resolve(roster.state() === 'standby' ? true : undefined), 5_000, 'the step-down');
    fail(new Error('socket reset'));
    const failed = await eventually(() => Promise.resolve(lines.find((l) => l.includes('after its stop time limit'))), 5_000, 'the late failure');
    expect(JSON.parse(failed)).toMatchObject({ duty: 'slow', late: true, err: { message: 'socket reset' } });
  });
});
