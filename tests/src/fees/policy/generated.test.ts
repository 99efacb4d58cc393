/**
 * Generated schedules: seeded random calendars (time zones with and without daylight saving,
 * night spans, rest days, make-up working days, holidays), accounts, balances, emergencies and
 * moments. The oracle reads the configuration on its own, through Intl, so it shares no code
 * with the calendar it checks.
 */
import { describe, expect, it } from 'vitest';
import type { FeeAccount } from '../../../../src/fees/model.js';
import { TimeZone } from '../../../../src/fees/tariffs/timeZone.js';
import { DisconnectionCalendar, NoDisconnectionWindowError } from '../../../../src/fees/policy/calendar.js';
import type { FeePolicyConfig } from '../../../../src/config/feePolicy.js';
import { INITIAL_STATE, compilePolicy, decide, type PolicyState } from '../../../../src/fees/policy/decide.js';
import { prng } from '../../../helpers/prng.js';
import { account, balance, policyConfig } from './fixtures.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ZONES = ['Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'Asia/Kathmandu', 'UTC', 'Europe/London'];
const FROM = Date.UTC(2024, 0, 1);
const SPAN = 3 * 365 * DAY;

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T,>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function randomConfig(r: Rand): FeePolicyConfig {
  const forbiddenHours = Array.from({ length: int(r, 0, 2) }, () => {
    const from = int(r, 0, 1_439);
    let to = int(r, 0, 1_439);
    if (to === from) to = (from + 1) % 1_440;
    return { from: hhmm(from), to: hhmm(to) };
  });
  const weekendDays = [1, 2, 3, 4, 5, 6, 7].filter(() => r() < 0.25);
  const holidays: FeePolicyConfig['holidays'] = [];
  const holidaySet = new Set<string>();
  for (let i = int(r, 0, 12); i > 0; i--) {
    const start = FROM + int(r, 0, 3 * 365) * DAY;
    const len = int(r, 0, 9);
    for (let d = 0; d <= len; d++) holidaySet.add(isoDate(start + d * DAY));
    holidays.push(len === 0 ? isoDate(start) : { from: isoDate(start), to: isoDate(start + len * DAY) });
  }
  const workingDays = Array.from({ length: int(r, 0, 10) }, () => isoDate(FROM + int(r, 0, 3 * 365) * DAY)).filter((d) => !holidaySet.has(d));
  return policyConfig({
    timeZone: pick(r, ZONES), forbiddenHours, weekendDays, holidays, workingDays: [...new Set(workingDays)],
    minHoursAfterLastWarning: int(r, 0, 72), searchHorizonDays: 366,
  });
}

/** The configuration read directly: is disconnection forbidden at this instant? */
function oracle(c: FeePolicyConfig): (ts: number) => boolean {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: c.timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short' });
  const holidays = new Set<string>();
  for (const h of c.holidays) {
    if (typeof h === 'string') holidays.add(h);
    else for (let d = Date.parse(h.from); d <= Date.parse(h.to); d += DAY) holidays.add(isoDate(d));
  }
  const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  return (ts) => {
    const p = Object.fromEntries(format.formatToParts(ts).map((x) => [x.type, x.value]));
    const date = `${p.year}-${p.month}-${p.day}`;
    if (holidays.has(date)) return true;
    if (c.weekendDays.includes(weekdays.indexOf(String(p.weekday)) + 1) && !c.workingDays.includes(date)) return true;
    const minute = Number(p.hour) * 60 + Number(p.minute);
    return c.forbiddenHours.some(({ from, to }) => {
      const a = Number(from.slice(0, 2)) * 60 + Number(from.slice(3));
      const b = Number(to.slice(0, 2)) * 60 + Number(to.slice(3));
      return a < b ? minute >= a && minute < b : minute >= a || minute < b;
    });
  };
}

describe('generated disconnection calendars', () => {
  it('answers nextAllowedAt with an allowed instant and no allowed minute before it', () => {
    const r = prng(0x5eed_0001);
    let checked = 0;
    let minutesScanned = 0;
    for (let i = 0; i < 250; i++) {
      const c = randomConfig(r);
      const calendar = new DisconnectionCalendar(c);
      const forbidden = oracle(c);
      const zone = TimeZone.named(c.timeZone);
      for (let j = 0; j < 4; j++) {
        let ts = FROM + Math.floor(r() * SPAN);
        // Half of the moments fall in the day and a half before a change of offset, where a wall-clock search goes wrong.
        const transition = j % 2 === 0 ? zone.nextChange(ts, ts + 366 * DAY) : undefined;
        if (transition !== undefined) ts = transition - Math.floor(r() * 36 * HOUR);
        let next: number;
        try {
          next = calendar.nextAllowedAt(ts);
        } catch (err) {
          expect(err).toBeInstanceOf(NoDisconnectionWindowError);
          continue;
        }
        expect(next).toBeGreaterThanOrEqual(ts);
        expect(forbidden(next), `${c.timeZone} ${new Date(ts).toISOString()} → ${new Date(next).toISOString()}`).toBe(false);
        expect(calendar.stateAt(next).open).toBe(true);
        // Minimal at minute resolution: every minute from ts up to the answer is forbidden (bounded scan, up to 7 days).
        if (next - ts > 7 * DAY) continue;
        if (next > ts) expect(forbidden(ts)).toBe(true);
        for (let m = Math.ceil(ts / MINUTE) * MINUTE; m < next; m += MINUTE) {
          if (!forbidden(m)) expect.fail(`${c.timeZone}: ${new Date(m).toISOString()} is allowed, before ${new Date(next).toISOString()} (asked ${new Date(ts).toISOString()})`);
          minutesScanned++;
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(700);
    expect(minutesScanned).toBeGreaterThan(100_000);
  });

  it('never disconnects inside a forbidden window, during an emergency, on a protected account, or too soon after a warning', () => {
    const r = prng(0x5eed_0002);
    const counts = { disconnect: 0, wait: 0, protected: 0, reconnect: 0 };
    for (let i = 0; i < 60; i++) {
      const c = randomConfig(r);
      const policy = compilePolicy(c);
      const forbidden = oracle(c);
      for (let a = 0; a < 60; a++) {
        const acc: FeeAccount = account({
          id: `acc-${i}-${a}`, protected: r() < 0.2,
          creditLimitMinor: int(r, 0, 5_000), warnFirstMinor: int(r, 1_000, 5_000), warnSecondMinor: int(r, 0, 999), reconnectMinor: int(r, 0, 2_000),
        });
        // A schedule: runs at random steps over a few weeks, the balance drifting down with occasional payments.
        let state: PolicyState = INITIAL_STATE;
        let b = int(r, -3_000, 8_000);
        let now = FROM + Math.floor(r() * SPAN);
        for (let step = 0; step < 40; step++) {
          now += int(r, 1, 24 * 60) * MINUTE;
          b += r() < 0.1 ? int(r, 0, 10_000) : -int(r, 0, 600);
          const emergency = r() < 0.1;
          const { decision, next } = decide(acc, balance(b, acc.id), state, now, policy, emergency);
          if (decision.action === 'disconnect') {
            counts.disconnect++;
            expect(forbidden(now), `${c.timeZone} ${new Date(now).toISOString()}`).toBe(false);
            expect(acc.protected).toBe(false);
            expect(emergency).toBe(false);
            expect(b).toBeLessThanOrEqual(-acc.creditLimitMinor);
            expect(state.warnedSecondAt).not.toBeNull();
            expect(now - Math.max(state.warnedFirstAt ?? 0, state.warnedSecondAt ?? now)).toBeGreaterThanOrEqual(c.minHoursAfterLastWarning * HOUR);
          }
          if (decision.action === 'wait') {
            counts.wait++;
            if (decision.nextWindowAt !== undefined) expect(forbidden(decision.nextWindowAt)).toBe(false);
          }
          if (decision.reason === 'protected') counts.protected++;
          if (decision.action === 'reconnect') counts.reconnect++;
          // Each warning once per crossing: never the same warning twice without the balance rising above its threshold.
          if (decision.action === 'warn-first') expect(state.warnedFirstAt !== null && b <= acc.warnFirstMinor).toBe(false);
          if (decision.action === 'warn-second') expect(state.warnedSecondAt !== null && b <= acc.warnSecondMinor).toBe(false);
          // The runner confirms a reconnection it commanded.
          state = next.stage === 'reconnecting' ? { ...next, stage: 'normal' } : next;
        }
      }
    }
    // The schedules exercised every branch that matters here.
    expect(counts.disconnect).toBeGreaterThan(100);
    expect(counts.wait).toBeGreaterThan(100);
    expect(counts.protected).toBeGreaterThan(10);
    expect(counts.reconnect).toBeGreaterThan(10);
  });
});
