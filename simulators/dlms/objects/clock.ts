/**
 * The Clock (IC 8, 0.0.1.0.0.255). time is settable and really moves the meter's clock
 * (capture schedules follow it); time_zone is the deviation (COSEM sign). Daylight saving is
 * not simulated: enabled is false and the begin/end attributes hold the usual EU wildcard
 * dates. Methods: adjust_to_quarter (1), adjust_to_measuring_period (2, 15 minutes here),
 * adjust_to_minute (3) round to the nearest boundary; shift_time (6) moves by −900..900 s.
 */
import type { CosemDateTime, DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { cosemDateTimeToEpochMs, encodeCosemDateTime } from '../../../protocols/dlms/axdr/dateTime.js';
import { asDateTime } from '../../../protocols/dlms/axdr/describe.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import type { ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import { DlmsDecodeError } from '../../../protocols/dlms/errors.js';
import { bool, dateTimeOctets, enumOf, int16, int8, octets, u8 } from '../cosemData.js';
import { ok, type CosemObjectDef } from '../cosemObject.js';
import type { MeterSimulation } from '../meterSimulation.js';
import { LN } from '../meterObis.js';
import { withIntegerZero } from './profiles.js';

/** clock_base 1: internal crystal (Blue Book IC 8). */
const CLOCK_BASE_CRYSTAL = 1;

export function clockObject(sim: MeterSimulation): CosemObjectDef {
  const now = (): number => sim.clock.reading(sim.time);
  const roundTo = (ms: number) => (params: DlmsData | undefined): ModelActionOutcome =>
    withIntegerZero(params, () => { sim.setClock(Math.round(now() / ms) * ms); });
  return {
    classId: INTERFACE_CLASSES.clock.classId,
    logicalName: LN.clock,
    attributes: {
      2: { writable: true, read: () => ok(dateTimeOctets(now(), sim.clock.deviationMinutes)), write: (v) => setTime(sim, v) },
      3: {
        writable: true,
        read: () => ok(int16(sim.clock.deviationMinutes)),
        write: (v) => {
          if (v.type !== 'long') return 'type-unmatched';
          if (Math.abs(v.value) > 840) return 'other-reason';
          sim.clock.deviationMinutes = v.value;
          return 'success';
        },
      },
      4: { read: () => ok(u8(0)) },
      5: { read: () => ok(dstPattern(3, 2)) },
      6: { read: () => ok(dstPattern(10, 3)) },
      7: { read: () => ok(int8(60)) },
      8: { read: () => ok(bool(false)) },
      9: { read: () => ok(enumOf(CLOCK_BASE_CRYSTAL)) },
    },
    methods: {
      1: { invoke: roundTo(900_000) },
      2: { invoke: roundTo(900_000) },
      3: { invoke: roundTo(60_000) },
      6: {
        invoke: (params) => {
          if (params?.type !== 'long') return { result: 'type-unmatched' };
          if (Math.abs(params.value) > 900) return { result: 'other-reason' };
          sim.setClock(now() + params.value * 1000);
          return { result: 'success' };
        },
      },
    },
  };
}

/** Clock attribute 2 accepts a date-time in either carrier; a deviation left unspecified means the meter's own. */
function setTime(sim: MeterSimulation, v: DlmsData): 'success' | 'type-unmatched' | 'other-reason' {
  let dt: CosemDateTime;
  try {
    dt = asDateTime(v);
  } catch (e) {
    if (e instanceof DlmsDecodeError) return 'type-unmatched';
    throw e;
  }
  let reading: number;
  try {
    reading = cosemDateTimeToEpochMs(dt, { deviationIfUnspecified: sim.clock.deviationMinutes });
  } catch (e) {
    // A date-time with wildcards or an impossible date names no instant to set.
    if (e instanceof DlmsDecodeError) return 'other-reason';
    throw e;
  }
  sim.setClock(reading);
  return 'success';
}

/** Last Sunday of `month` at `hour`:00 local, any year (IEC 62056-6-2 §4.1.6.1 wildcards). */
function dstPattern(month: number, hour: number): DlmsData {
  return octets(encodeCosemDateTime({
    date: { year: undefined, month, dayOfMonth: 'last', dayOfWeek: 7 },
    time: { hour, minute: 0, second: 0, hundredths: 0 },
    deviation: undefined,
    clockStatus: undefined,
  }));
}
