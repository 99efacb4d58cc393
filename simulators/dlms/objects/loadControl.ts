/**
 * Disconnect control (IC 70, 0.0.96.3.10.255) and Limiter (IC 71, 0.0.17.0.0.255).
 *
 * Disconnect control: output_state and control_state are read-only, control_mode is settable
 * (0..6). remote_disconnect (1) and remote_reconnect (2) take integer(0) and follow the mode's
 * transitions (disconnectControl.ts). A method that finds the object already where it would
 * lead (disconnecting a disconnected meter) succeeds without a change; one the mode does not
 * allow from the current state (remote_reconnect from ready_for_reconnection in modes 2 and 4,
 * anything in mode 0) answers other-reason and changes nothing.
 *
 * Limiter: monitored_value is fixed to 1.0.1.7.0.255 attribute 2 (read-only), so thresholds
 * are double-long-unsigned in W, the register's type and scale (Blue Book: thresholds have the
 * monitored attribute's type). Writing a threshold samples the monitored value at once, so an
 * over-threshold period starts at the write.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { cosemDateTimeToEpochMs } from '../../../protocols/dlms/axdr/dateTime.js';
import { asDateTime } from '../../../protocols/dlms/axdr/describe.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import type { DataAccessResultName, ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import { DlmsDecodeError } from '../../../protocols/dlms/errors.js';
import { array, bool, conforms, enumOf, int8, numberOf, octets, octetsOf, structure, u16, u32, type Shape } from '../cosemData.js';
import { ok, type AttributeDef, type CosemObjectDef } from '../cosemObject.js';
import { CONNECTED, DISCONNECTED, READY_FOR_RECONNECTION, isControlMode, type DisconnectTrigger } from '../disconnectControl.js';
import { THRESHOLD_MAX, type ScriptAction } from '../limiter.js';
import { MANAGEMENT_LOGICAL_DEVICE, type MeterSimulation } from '../meterSimulation.js';
import { LN } from '../meterObis.js';

export function disconnectControlObject(sim: MeterSimulation): CosemObjectDef {
  const remote = (trigger: DisconnectTrigger, alreadyThere: () => boolean) => (params: DlmsData | undefined): ModelActionOutcome => {
    if (params !== undefined && params.type !== 'integer') return { result: 'type-unmatched' };
    sim.controlTally.record(String(MANAGEMENT_LOGICAL_DEVICE), trigger === 'remote_disconnect' ? 'disconnect' : 'reconnect');
    return sim.trigger(trigger) || alreadyThere() ? { result: 'success' } : { result: 'other-reason' };
  };
  return {
    classId: INTERFACE_CLASSES.disconnectControl.classId,
    logicalName: LN.disconnectControl,
    attributes: {
      2: { read: () => ok(bool(sim.outputState)) },
      3: { read: () => ok(enumOf(sim.controlState)) },
      4: {
        writable: true,
        read: () => ok(enumOf(sim.controlMode)),
        write: (v) => {
          if (v.type !== 'enum') return 'type-unmatched';
          if (!isControlMode(v.value)) return 'other-reason';
          sim.setControlMode(v.value);
          return 'success';
        },
      },
    },
    methods: {
      1: { invoke: remote('remote_disconnect', () => sim.controlState === DISCONNECTED) },
      // Where remote_reconnect leads to ready_for_reconnection (d), being there already is its outcome.
      2: {
        invoke: remote('remote_reconnect', () => sim.controlState === CONNECTED
          || (sim.controlState === READY_FOR_RECONNECTION && [1, 3, 5, 6].includes(sim.controlMode))),
      },
    },
  };
}

const ACTION_ITEM: Shape = { structure: [{ octets: 6 }, 'long-unsigned'] };
const EMERGENCY_PROFILE: Shape = { structure: ['long-unsigned', { octets: 12 }, 'double-long-unsigned'] };

export function limiterObject(sim: MeterSimulation): CosemObjectDef {
  const l = sim.limiter;
  let emergencyActivation: Uint8Array = new Uint8Array(12).fill(0xff);
  /** A double-long-unsigned setting (thresholds in W, durations in s); a change is sampled at once. */
  const setting = (read: () => number, write: (v: number) => void): AttributeDef => ({
    writable: true,
    read: () => ok(u32(read())),
    write: (v) => {
      if (v.type !== 'double-long-unsigned') return 'type-unmatched';
      write(v.value);
      sim.sampleLimiterNow();
      return 'success';
    },
  });
  const action = (a: ScriptAction): DlmsData => structure(octets(a.scriptLogicalName), u16(a.scriptSelector));
  return {
    classId: INTERFACE_CLASSES.limiter.classId,
    logicalName: LN.limiter,
    attributes: {
      2: { read: () => ok(structure(u16(INTERFACE_CLASSES.register.classId), octets(LN.activePowerImport), int8(2))) },
      3: setting(() => l.thresholdActive, (v) => {
        // A threshold no load can exceed is how a head-end clears the limit (protocols/dlms/deviceControl.ts).
        sim.controlTally.record(String(MANAGEMENT_LOGICAL_DEVICE), v >= THRESHOLD_MAX ? 'clear-limit' : 'set-limit');
        l.thresholdActive = v;
      }),
      4: setting(() => l.thresholdNormal, (v) => { l.setNormal(v); }),
      5: setting(() => l.thresholdEmergency, (v) => { l.setEmergency(v); }),
      6: setting(() => l.minOverThresholdSeconds, (v) => { l.minOverThresholdSeconds = v; }),
      7: setting(() => l.minUnderThresholdSeconds, (v) => { l.minUnderThresholdSeconds = v; }),
      8: {
        writable: true,
        read: () => ok(structure(u16(l.emergencyProfile.id), octets(emergencyActivation), u32(l.emergencyProfile.durationSeconds))),
        write: (v) => {
          if (!conforms(v, EMERGENCY_PROFILE) || v.type !== 'structure') return 'type-unmatched';
          const [id, at, duration] = v.value;
          const activation = activationReading(at, sim.clock.deviationMinutes);
          if (activation === 'invalid') return 'other-reason';
          emergencyActivation = octetsOf(at);
          l.emergencyProfile = { id: numberOf(id), activation, durationSeconds: numberOf(duration) };
          return emergencyChanged(sim);
        },
      },
      9: {
        writable: true,
        read: () => ok(array(l.groupIds.map(u16))),
        write: (v) => {
          if (!conforms(v, { array: 'long-unsigned' }) || v.type !== 'array') return 'type-unmatched';
          l.groupIds = v.value.map(numberOf);
          return emergencyChanged(sim);
        },
      },
      10: { read: () => ok(bool(l.emergencyActive)) },
      11: {
        writable: true,
        read: () => ok(structure(action(l.actions.over), action(l.actions.under))),
        write: (v) => {
          if (!conforms(v, { structure: [ACTION_ITEM, ACTION_ITEM] }) || v.type !== 'structure') return 'type-unmatched';
          const item = (d: DlmsData | undefined): ScriptAction => {
            const parts = d?.type === 'structure' ? d.value : [];
            return { scriptLogicalName: octetsOf(parts[0]), scriptSelector: numberOf(parts[1]) };
          };
          l.actions = { over: item(v.value[0]), under: item(v.value[1]) };
          return 'success';
        },
      },
    },
  };
}

function emergencyChanged(sim: MeterSimulation): DataAccessResultName {
  sim.limiter.updateEmergency(sim.clock.reading(sim.time));
  sim.sampleLimiterNow();
  return 'success';
}

/** The activation time as a clock reading; all-0xFF (not specified) means never. */
function activationReading(d: DlmsData | undefined, deviation: number): number | undefined | 'invalid' {
  if (d === undefined) return 'invalid';
  if (octetsOf(d).every((b) => b === 0xff)) return undefined;
  try {
    return cosemDateTimeToEpochMs(asDateTime(d), { deviationIfUnspecified: deviation });
  } catch (e) {
    if (e instanceof DlmsDecodeError) return 'invalid';
    throw e;
  }
}
