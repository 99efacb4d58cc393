/**
 * Register map of the simulated DIN-rail three-phase meter, laid out like common meters of
 * that kind: IEEE-754 float32 values, high word first, in input registers (function 4).
 *
 * Two banks. The instantaneous bank (0..39) also holds registers that are not in the
 * catalogue (reactive power per phase, apparent power, neutral current, present demand):
 * the meter serves them, this map does not list them, and the planner reads through them
 * (each gap is at most `maxGap`), so all instantaneous values come in one 40-register read.
 *
 * | address | quantity                | unit  |   | address | quantity                 | unit  |
 * |---------|-------------------------|-------|---|---------|--------------------------|-------|
 * | 0       | voltage.l1              | V     |   | 256     | energy.active.import     | kWh   |
 * | 2       | voltage.l2              | V     |   | 258     | energy.active.export     | kWh   |
 * | 4       | voltage.l3              | V     |   | 260     | energy.reactive.import   | kvarh |
 * | 6       | current.l1              | A     |   | 262     | energy.reactive.export   | kvarh |
 * | 8       | current.l2              | A     |   | 264     | energy.active.import.t1  | kWh   |
 * | 10      | current.l3              | A     |   | 266     | energy.active.import.t2  | kWh   |
 * | 12      | power.active.l1         | kW    |   | 268     | energy.active.import.t3  | kWh   |
 * | 14      | power.active.l2         | kW    |   | 270     | energy.active.import.t4  | kWh   |
 * | 16      | power.active.l3         | kW    |   |         |                          |       |
 * | 18–23   | (reactive power L1–L3)  | kvar  |   |         |                          |       |
 * | 24      | power.active            | kW    |   |         |                          |       |
 * | 26      | power.reactive          | kvar  |   |         |                          |       |
 * | 28      | (apparent power)        | kVA   |   |         |                          |       |
 * | 30      | power.factor            | —     |   |         |                          |       |
 * | 32      | frequency               | Hz    |   |         |                          |       |
 * | 34      | (neutral current)       | A     |   |         |                          |       |
 * | 36      | (present demand)        | kW    |   |         |                          |       |
 * | 38      | demand.active.max       | kW    |   |         |                          |       |
 *
 * Controls (meterControls.ts): the relay is coil 0 (1 connected, 0 disconnected); the power
 * limit is holding registers 512-513, uint32 in W, 0xFFFFFFFF for no limit.
 */
import type { RegisterMapSpec, RegisterPointSpec } from '../../protocols/modbus/config.js';

export const THREE_PHASE_METER_MAP_NAME = 'three-phase-meter';

const f32 = (quantity: string, address: number): RegisterPointSpec => ({
  quantity, address, type: 'float32', wordOrder: 'big', byteOrder: 'big', scale: 1, offset: 0,
});

export const THREE_PHASE_METER_MAP: RegisterMapSpec = {
  function: 4,
  maxGap: 8,
  points: [
    f32('voltage.l1', 0),
    f32('voltage.l2', 2),
    f32('voltage.l3', 4),
    f32('current.l1', 6),
    f32('current.l2', 8),
    f32('current.l3', 10),
    f32('power.active.l1', 12),
    f32('power.active.l2', 14),
    f32('power.active.l3', 16),
    f32('power.active', 24),
    f32('power.reactive', 26),
    f32('power.factor', 30),
    f32('frequency', 32),
    f32('demand.active.max', 38),
    f32('energy.active.import', 256),
    f32('energy.active.export', 258),
    f32('energy.reactive.import', 260),
    f32('energy.reactive.export', 262),
    f32('energy.active.import.t1', 264),
    f32('energy.active.import.t2', 266),
    f32('energy.active.import.t3', 268),
    f32('energy.active.import.t4', 270),
  ],
  controls: {
    relay: { coil: 0, connected: 1, disconnected: 0 },
    limit: { register: 512, type: 'uint32', scale: 0.001 },
  },
};

/** The quantities of the instantaneous bank: one 40-register read (registers 0..39). */
export const INSTANTANEOUS_QUANTITIES: readonly string[] = THREE_PHASE_METER_MAP.points
  .filter((p) => p.address < 256)
  .map((p) => p.quantity);

/** Register banks the meter serves; a read touching anything outside them is refused. */
export const METER_BANKS: readonly { readonly start: number; readonly count: number }[] = [
  { start: 0, count: 40 },
  { start: 256, count: 16 },
];
