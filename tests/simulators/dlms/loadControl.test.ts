import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { CONNECTED, DISCONNECTED, READY_FOR_RECONNECTION, nextControlState, type ControlState, type DisconnectTrigger } from '../../../simulators/dlms/disconnectControl.js';
import { HOUR, MIN, START, dateTimeBound, management, method, newMeter, num, read, ref } from './meterFixture.js';

const DC = '0.0.96.3.10.255';
const LIMITER = '0.0.17.0.0.255';
const zero: DlmsData = { type: 'integer', value: 0 };
const u32 = (value: number): DlmsData => ({ type: 'double-long-unsigned', value });

type Meter = ReturnType<typeof newMeter>;
const disconnect = (m: Meter, t: number) => m.action(method(70, DC, 1), zero, management(t)).result;
const reconnect = (m: Meter, t: number) => m.action(method(70, DC, 2), zero, management(t)).result;
const relay = (m: Meter, t: number) => ({ output: read(m, 70, DC, 2, t).type === 'boolean' && (read(m, 70, DC, 2, t) as { value: boolean }).value, state: num(read(m, 70, DC, 3, t)) });
const power = (m: Meter, t: number) => num(read(m, 3, '1.0.1.7.0.255', 2, t));
const energy = (m: Meter, t: number) => num(read(m, 3, '1.0.1.8.0.255', 2, t));
const setLimiter = (m: Meter, t: number, attribute: number, value: DlmsData) => m.set(ref(71, LIMITER, attribute), value, management(t));

describe('disconnect control state machine (Blue Book IC 70)', () => {
  const table: [mode: number, from: ControlState, trigger: DisconnectTrigger, to: ControlState | undefined][] = [
    [0, CONNECTED, 'remote_disconnect', undefined],
    [1, CONNECTED, 'remote_disconnect', DISCONNECTED], // b
    [1, READY_FOR_RECONNECTION, 'remote_disconnect', DISCONNECTED], // c
    [1, DISCONNECTED, 'remote_reconnect', READY_FOR_RECONNECTION], // d
    [1, READY_FOR_RECONNECTION, 'manual_reconnect', CONNECTED], // e
    [1, CONNECTED, 'manual_disconnect', READY_FOR_RECONNECTION], // f
    [1, CONNECTED, 'local_disconnect', READY_FOR_RECONNECTION], // g
    [1, READY_FOR_RECONNECTION, 'local_reconnect', undefined],
    [2, DISCONNECTED, 'remote_reconnect', CONNECTED], // a
    [3, CONNECTED, 'manual_disconnect', undefined],
    [4, DISCONNECTED, 'remote_reconnect', CONNECTED], // a
    [4, READY_FOR_RECONNECTION, 'remote_reconnect', undefined],
    [4, CONNECTED, 'manual_disconnect', undefined],
    [5, READY_FOR_RECONNECTION, 'local_reconnect', CONNECTED], // h
    [5, CONNECTED, 'manual_disconnect', READY_FOR_RECONNECTION],
    [6, READY_FOR_RECONNECTION, 'local_reconnect', CONNECTED],
    [6, CONNECTED, 'manual_disconnect', undefined],
    [6, DISCONNECTED, 'remote_reconnect', READY_FOR_RECONNECTION],
  ];
  it.each(table)('mode %i: from %i, %s leads to %s', (mode, from, trigger, to) => {
    expect(nextControlState(mode, from, trigger)).toBe(to);
  });
});

describe('simulated meter disconnect control', () => {
  it('opens the relay on remote_disconnect: power and current drop to zero and energy stops, voltage stays', () => {
    const m = newMeter();
    const t = START + 10 * MIN;
    expect(num(read(m, 70, DC, 4, t))).toBe(4);
    expect(power(m, t)).toBeGreaterThan(0);
    expect(disconnect(m, t)).toBe('success');
    expect(relay(m, t)).toEqual({ output: false, state: DISCONNECTED });
    expect(power(m, t)).toBe(0);
    for (const c of ['1.0.31.7.0.255', '1.0.51.7.0.255', '1.0.71.7.0.255', '1.0.21.7.0.255', '1.0.3.7.0.255']) expect(num(read(m, 3, c, 2, t))).toBe(0);
    expect(num(read(m, 3, '1.0.32.7.0.255', 2, t))).toBeGreaterThan(2000);
    const e = energy(m, t);
    expect(energy(m, t + 2 * HOUR)).toBe(e);
    expect(disconnect(m, t + 2 * HOUR)).toBe('success');
    // Mode 4 reconnects remotely in one step (transition a).
    expect(reconnect(m, t + 2 * HOUR)).toBe('success');
    expect(relay(m, t + 2 * HOUR)).toEqual({ output: true, state: CONNECTED });
    expect(energy(m, t + 3 * HOUR)).toBeGreaterThan(e);
  });

  it('in mode 1 only arms the reconnection remotely; the customer’s button closes the relay', () => {
    const m = newMeter({ controlMode: 1 });
    const t = START + MIN;
    expect(disconnect(m, t)).toBe('success');
    expect(reconnect(m, t)).toBe('success');
    expect(relay(m, t)).toEqual({ output: false, state: READY_FOR_RECONNECTION });
    expect(power(m, t)).toBe(0);
    expect(reconnect(m, t)).toBe('success');
    expect(m.pressButton(t + MIN)).toBe(true);
    expect(relay(m, t + MIN)).toEqual({ output: true, state: CONNECTED });
  });

  it('refuses what the mode does not allow and follows a control_mode change', () => {
    const m = newMeter({ controlMode: 0 });
    const t = START + MIN;
    expect(disconnect(m, t)).toBe('other-reason');
    expect(relay(m, t)).toEqual({ output: true, state: CONNECTED });
    expect(reconnect(m, t)).toBe('success');
    expect(m.set(ref(70, DC, 4), { type: 'enum', value: 2 }, management(t))).toBe('success');
    expect(disconnect(m, t)).toBe('success');
    expect(m.set(ref(70, DC, 4), { type: 'enum', value: 0 }, management(t))).toBe('success');
    expect(relay(m, t)).toEqual({ output: true, state: CONNECTED });
    expect(m.action(method(70, DC, 1), { type: 'long', value: 0 }, management(t))).toEqual({ result: 'type-unmatched' });
  });
});

describe('simulated meter limiter', () => {
  const T = START + 7 * MIN;

  it('trips the relay exactly min_over_threshold_duration after demand went above the threshold, not before', () => {
    const m = newMeter();
    expect(setLimiter(m, T, 6, u32(60))).toBe('success');
    expect(setLimiter(m, T, 4, u32(100))).toBe('success');
    expect(num(read(m, 71, LIMITER, 3, T))).toBe(100);
    m.tick(T + 59_000);
    expect(relay(m, T + 59_999)).toEqual({ output: true, state: CONNECTED });
    m.tick(T + 60_000);
    // Local disconnect (g) leads to ready_for_reconnection.
    expect(relay(m, T + 60_000)).toEqual({ output: false, state: READY_FOR_RECONNECTION });
    expect(power(m, T + 60_000)).toBe(0);
    // Mode 4 has no local reconnection: the relay stays open below the threshold, and
    // remote_reconnect from ready_for_reconnection is not a transition of mode 4.
    expect(relay(m, T + HOUR)).toEqual({ output: false, state: READY_FOR_RECONNECTION });
    expect(reconnect(m, T + HOUR)).toBe('other-reason');
    expect(disconnect(m, T + HOUR)).toBe('success');
    expect(setLimiter(m, T + HOUR, 4, u32(0xffffffff))).toBe('success');
    expect(reconnect(m, T + HOUR)).toBe('success');
    expect(relay(m, T + 2 * HOUR)).toEqual({ output: true, state: CONNECTED });
  });

  it('does not trip while demand stays under the threshold', () => {
    const m = newMeter({ limiter: { thresholdNormal: 100_000, minOverThresholdSeconds: 10 } });
    m.tick(START + 6 * HOUR);
    expect(relay(m, START + 6 * HOUR)).toEqual({ output: true, state: CONNECTED });
  });

  it('reconnects locally after min_under_threshold_duration in mode 6, and trips again while the load persists', () => {
    const m = newMeter({ controlMode: 6, limiter: { minOverThresholdSeconds: 30, minUnderThresholdSeconds: 20 } });
    expect(setLimiter(m, T, 3, u32(100))).toBe('success');
    const trip = T + 30_000;
    expect(relay(m, trip - 1000).state).toBe(CONNECTED);
    expect(relay(m, trip).state).toBe(READY_FOR_RECONNECTION);
    // Open relay → 0 W, below the threshold from the next second's sample.
    const back = trip + 1000 + 20_000;
    expect(relay(m, back - 1000).state).toBe(READY_FOR_RECONNECTION);
    expect(relay(m, back).state).toBe(CONNECTED);
    // The load is back from the next second's sample on, so the next trip is 30 s after that.
    expect(relay(m, back + 30_000).state).toBe(CONNECTED);
    expect(relay(m, back + 31_000).state).toBe(READY_FOR_RECONNECTION);
  });

  it('switches to threshold_emergency while an emergency profile of its group is active', () => {
    const m = newMeter({ limiter: { thresholdNormal: 1_000_000, thresholdEmergency: 100, minOverThresholdSeconds: 5 } });
    const activation = T + 10 * MIN;
    const profile: DlmsData = { type: 'structure', value: [{ type: 'long-unsigned', value: 7 }, dateTimeBound(activation), u32(3600)] };
    expect(setLimiter(m, T, 8, profile)).toBe('success');
    expect(setLimiter(m, T, 9, { type: 'array', value: [{ type: 'long-unsigned', value: 7 }] })).toBe('success');
    expect(read(m, 71, LIMITER, 10, activation - 1000)).toEqual({ type: 'boolean', value: false });
    expect(num(read(m, 71, LIMITER, 3, activation - 1000))).toBe(1_000_000);
    expect(read(m, 71, LIMITER, 10, activation)).toEqual({ type: 'boolean', value: true });
    expect(num(read(m, 71, LIMITER, 3, activation))).toBe(100);
    expect(relay(m, activation + 4000).state).toBe(CONNECTED);
    expect(relay(m, activation + 5000).state).toBe(READY_FOR_RECONNECTION);
    expect(read(m, 71, LIMITER, 8, activation)).toEqual(profile);
    expect(num(read(m, 71, LIMITER, 3, activation + HOUR))).toBe(1_000_000);
  });

  it('refuses thresholds of another type than the monitored register’s and malformed actions', () => {
    const m = newMeter();
    expect(setLimiter(m, T, 4, { type: 'double-long', value: 100 })).toBe('type-unmatched');
    expect(setLimiter(m, T, 11, { type: 'structure', value: [] })).toBe('type-unmatched');
    expect(setLimiter(m, T, 2, { type: 'structure', value: [] })).toBe('read-write-denied');
    const monitored = read(m, 71, LIMITER, 2, T);
    expect(monitored).toEqual({
      type: 'structure',
      value: [{ type: 'long-unsigned', value: 3 }, { type: 'octet-string', value: ref(3, '1.0.1.7.0.255', 2).instanceId }, { type: 'integer', value: 2 }],
    });
  });
});
