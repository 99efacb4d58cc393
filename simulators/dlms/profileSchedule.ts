/**
 * The three profiles of the simulated meter (IC 7): what each captures and when.
 *
 *  - Load profile 1.0.99.1.0.255, every 15 minutes: clock, AMR profile status, active energy
 *    import and export, reactive energy import and export, and the 15-minute average active
 *    power (the Demand register's last_average_value), as IDIS / DSMR load profiles do.
 *  - Daily profile 1.0.99.2.0.255, at local midnight: clock, active import (total and T1..T4),
 *    active export, reactive import and export.
 *  - Monthly billing profile 0.0.98.1.0.255, at local 00:00 on the 1st (the previous month's
 *    end): the daily columns plus maximum demand and its time; the maximum then resets.
 *
 * Boundaries are on the meter's clock in local time: a row's clock is the boundary itself.
 */
import { INTERFACE_CLASSES } from '../../protocols/dlms/cosem/classes.js';
import { obisEquals, parseObis } from '../../protocols/dlms/cosem/obis.js';
import { dateTimeOctets, u32, u8 } from './cosemData.js';
import type { MeterClock } from './meterClock.js';
import { LN } from './meterObis.js';
import { ProfileBuffer, type ProfileColumn } from './profileBuffer.js';
import { encodeRaw, type MeterReading, type RegisterSpec } from './registerTable.js';
import type { DemandState } from './meterSimulation.js';

export interface CaptureSchedule {
  /** capture_period (IC 7 attribute 4), seconds; 0 = captured on an event (billing period end). */
  readonly periodSeconds: number;
  /** The last boundary at or before `reading`. */
  floor(clock: MeterClock, reading: number): number;
  /** The first boundary after `reading`. */
  next(clock: MeterClock, reading: number): number;
}

export interface ScheduledProfile {
  readonly logicalName: Uint8Array;
  readonly buffer: ProfileBuffer;
  readonly schedule: CaptureSchedule;
  /** Clock reading of the last boundary captured (or skipped by a clock change). */
  lastBoundary: number;
  /** The row captured at clock reading `stamp`, from the simulation's present state. */
  row(stamp: number): number[];
  before?(t: number, boundary: number): void;
  after?(boundary: number): void;
}

export interface MeterProfiles {
  readonly load: ScheduledProfile;
  readonly daily: ScheduledProfile;
  readonly monthly: ScheduledProfile;
  /** In capture order for a shared boundary: load, daily, monthly. */
  readonly all: readonly ScheduledProfile[];
}

/** Capacities: 10 days of quarter hours, 62 days, 13 months. */
export const PROFILE_ENTRIES = { load: 960, daily: 62, monthly: 13 } as const;

/** What a profile needs from the simulation. */
export interface ProfileSource {
  readonly registers: readonly RegisterSpec[];
  readonly demand: DemandState;
  readonly clock: MeterClock;
  amrStatus: number;
  reading(): MeterReading;
}

interface SampledColumn extends ProfileColumn {
  sample(stamp: number, r: () => MeterReading): number;
}

export function buildProfiles(src: ProfileSource, firstReading: number): MeterProfiles {
  const { clock: clockClass, register, data, demandRegister, extendedRegister } = CLASS;
  const clockColumn: SampledColumn = {
    classId: clockClass, logicalName: LN.clock, attributeIndex: 2, dataIndex: 0,
    encode: (v, dev) => dateTimeOctets(v, dev), sample: (stamp) => stamp,
  };
  const energy = (obis: string): SampledColumn => {
    const spec = src.registers.find((s) => obisEquals(s.logicalName, parseObis(obis)));
    if (spec === undefined) throw new Error(`no register ${obis}`);
    return {
      classId: register, logicalName: spec.logicalName, attributeIndex: 2, dataIndex: 0,
      encode: (v) => encodeRaw(spec.type, v), sample: (_, r) => spec.raw(r()),
    };
  };
  const energies = ['1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.3.8.0.255', '1.0.4.8.0.255'].map(energy);
  const billingEnergies = ['1.0.1.8.0.255', '1.0.1.8.1.255', '1.0.1.8.2.255', '1.0.1.8.3.255', '1.0.1.8.4.255', '1.0.2.8.0.255', '1.0.3.8.0.255', '1.0.4.8.0.255'].map(energy);
  const d = src.demand;

  const load = scheduled(LN.loadProfile, fixed(900), PROFILE_ENTRIES.load, [
    clockColumn,
    { classId: data, logicalName: LN.amrProfileStatus, attributeIndex: 2, dataIndex: 0, encode: (v) => u8(v), sample: () => src.amrStatus },
    ...energies,
    { classId: demandRegister, logicalName: LN.demandRegister, attributeIndex: 3, dataIndex: 0, encode: (v) => u32(v), sample: () => Math.round(d.lastAverageW) },
  ], src, firstReading);
  load.before = (t, boundary) => {
    // The demand period ends with the capture period, so the row carries the period just ended.
    const e = src.reading().energies.activeImport;
    const hours = (t - d.periodStart) / 3_600_000;
    d.lastAverageW = hours > 0 ? (e - d.energyAtStart) / hours : 0;
    d.captureReading = boundary;
    d.periodStart = t;
    d.startReading = boundary;
    d.energyAtStart = e;
    if (d.lastAverageW > d.maxW) {
      d.maxW = d.lastAverageW;
      d.maxReading = boundary;
    }
  };
  load.after = () => { src.amrStatus = 0; };

  const daily = scheduled(LN.dailyProfile, fixed(86_400), PROFILE_ENTRIES.daily, [clockColumn, ...billingEnergies], src, firstReading);
  const monthly = scheduled(LN.monthlyBilling, MONTHLY, PROFILE_ENTRIES.monthly, [
    clockColumn,
    ...billingEnergies,
    { classId: extendedRegister, logicalName: LN.maximumDemand, attributeIndex: 2, dataIndex: 0, encode: (v) => u32(v), sample: () => Math.round(d.maxW) },
    { classId: extendedRegister, logicalName: LN.maximumDemand, attributeIndex: 5, dataIndex: 0, encode: (v, dev) => dateTimeOctets(v, dev), sample: () => d.maxReading },
  ], src, firstReading);
  monthly.after = (boundary) => {
    // Billing period end: the maximum demand register starts over.
    d.maxW = 0;
    d.maxReading = boundary;
  };
  return { load, daily, monthly, all: [load, daily, monthly] };
}

const CLASS = {
  data: INTERFACE_CLASSES.data.classId,
  register: INTERFACE_CLASSES.register.classId,
  extendedRegister: INTERFACE_CLASSES.extendedRegister.classId,
  demandRegister: INTERFACE_CLASSES.demandRegister.classId,
  clock: INTERFACE_CLASSES.clock.classId,
};

function scheduled(
  logicalName: Uint8Array, schedule: CaptureSchedule, entries: number, columns: readonly SampledColumn[], src: ProfileSource, firstReading: number,
): ScheduledProfile {
  return {
    logicalName,
    buffer: new ProfileBuffer(columns, entries),
    schedule,
    lastBoundary: schedule.floor(src.clock, firstReading),
    row: (stamp) => {
      let r: MeterReading | undefined;
      const lazy = (): MeterReading => (r ??= src.reading());
      return columns.map((c) => c.sample(stamp, lazy));
    },
  };
}

/** Every `seconds`, aligned to local midnight. */
function fixed(seconds: number): CaptureSchedule {
  const ms = seconds * 1000;
  return {
    periodSeconds: seconds,
    floor: (c, reading) => c.fromLocal(Math.floor(c.local(reading) / ms) * ms),
    next: (c, reading) => c.fromLocal(Math.floor(c.local(reading) / ms) * ms + ms),
  };
}

/** Local 00:00 on the first of every month. */
const MONTHLY: CaptureSchedule = {
  periodSeconds: 0,
  floor: (c, reading) => {
    const l = new Date(c.local(reading));
    return c.fromLocal(Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), 1));
  },
  next: (c, reading) => {
    const l = new Date(c.local(reading));
    return c.fromLocal(Date.UTC(l.getUTCFullYear(), l.getUTCMonth() + 1, 1));
  },
};
