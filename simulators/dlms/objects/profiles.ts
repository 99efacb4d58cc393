/**
 * The Profile Generic objects (IC 7 version 1) over the simulation's three profiles. The
 * buffer is FIFO-sorted (sort_method 1), read whole or by range / entry descriptor; the
 * methods reset (1) and capture (2) are offered to authenticated clients.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import type { ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import { captureObjectDefinition, enumOf, u32 } from '../cosemData.js';
import { ok, type CosemObjectDef } from '../cosemObject.js';
import type { MeterSimulation } from '../meterSimulation.js';
import { LN } from '../meterObis.js';
import type { ScheduledProfile } from '../profileSchedule.js';

export function profileObjects(sim: MeterSimulation): CosemObjectDef[] {
  return sim.profiles.all.map((p) => profileObject(sim, p));
}

function profileObject(sim: MeterSimulation, p: ScheduledProfile): CosemObjectDef {
  const { profileGeneric, clock } = INTERFACE_CLASSES;
  return {
    classId: profileGeneric.classId,
    logicalName: p.logicalName,
    attributes: {
      2: { selectors: [1, 2], read: (_ctx, access) => p.buffer.read(access, sim.clock.deviationMinutes) },
      3: { read: () => ok(p.buffer.captureObjects()) },
      4: { read: () => ok(u32(p.schedule.periodSeconds)) },
      // 1 = fifo: entries in capture order, entry 1 the oldest.
      5: { read: () => ok(enumOf(1)) },
      6: { read: () => ok(captureObjectDefinition(clock.classId, LN.clock, 2)) },
      7: { read: () => ok(u32(p.buffer.entriesInUse)) },
      8: { read: () => ok(u32(p.buffer.capacity)) },
    },
    methods: {
      1: { invoke: (params) => withIntegerZero(params, () => { p.buffer.reset(); }) },
      2: { invoke: (params) => withIntegerZero(params, () => { sim.captureNow(p); }) },
    },
  };
}

/** Methods whose data is `integer(0)` (Blue Book): accept that or no parameters. */
export function withIntegerZero(params: DlmsData | undefined, run: () => void): ModelActionOutcome {
  if (params !== undefined && params.type !== 'integer') return { result: 'type-unmatched' };
  run();
  return { result: 'success' };
}
