/**
 * Firmware objects over the image transfer state machine (../imageTransfer.ts): Image transfer
 * IC 18 0.0.44.0.0.255, the image activation Single action schedule IC 22 0.0.15.0.2.255, and
 * the active firmware identifier 1.0.0.2.0.255 and signature 1.0.0.2.8.255 (IC 1 Data,
 * octet-strings, changed by an activation). With `imageTransfer: false` only the last two exist
 * (a meter that cannot be upgraded remotely still names its firmware).
 *
 * IC 18: attributes 2, 3, 4, 6, 7 read-only, 5 (image_transfer_enabled) writable; methods 1..4.
 * image_transferred_blocks_status is a bit-string with bit n = block n held, bit 0 the most
 * significant bit of the first octet (A-XDR bit-string order).
 *
 * IC 22: executed_script names the image activation script (0.0.10.0.107.255, script 1), type
 * 1 (one execution_time). execution_time is writable: one entry {time octet-string(4), date
 * octet-string(5)} in the meter's local time, fully specified, schedules the activation for
 * when the meter's clock passes it (already passed: at the next advance); an empty array, or
 * one entry with every field not specified, clears it. Wildcards and several entries are
 * refused (other-reason).
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { calendarFields, decodeCosemDate, decodeCosemTime, localFieldsToMs } from '../../../protocols/dlms/axdr/dateTime.js';
import { INTERFACE_CLASSES } from '../../../protocols/dlms/cosem/classes.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import { DlmsDecodeError } from '../../../protocols/dlms/errors.js';
import type { ActionResultName, DataAccessResultName, ModelActionOutcome } from '../../../protocols/dlms/server/objectModel.js';
import { array, bool, conforms, enumOf, numberOf, octets, octetsOf, structure, u16, u32, type Shape } from '../cosemData.js';
import { ok, type CosemObjectDef } from '../cosemObject.js';
import { IMAGE_TRANSFER_STATUS, ImageTransfer, type FirmwareOptions } from '../imageTransfer.js';
import type { MeterSimulation } from '../meterSimulation.js';

export const FIRMWARE_LN = {
  imageTransfer: parseObis('0.0.44.0.0.255'),
  activationSchedule: parseObis('0.0.15.0.2.255'),
  /** The image activation script table (Blue Book / IEC 62056-6-1 0.0.10.0.107.255); the schedule runs its script 1. */
  activationScript: parseObis('0.0.10.0.107.255'),
  firmwareIdentifier: parseObis('1.0.0.2.0.255'),
  firmwareSignature: parseObis('1.0.0.2.8.255'),
} as const;

const INITIATE: Shape = { structure: ['octet-string', 'double-long-unsigned'] };
const BLOCK: Shape = { structure: ['double-long-unsigned', 'octet-string'] };
const EXECUTION_TIME: Shape = { array: { structure: [{ octets: 4 }, { octets: 5 }] } };
const NOT_SPECIFIED_TIME = octets(new Uint8Array(4).fill(0xff));
const NOT_SPECIFIED_DATE = octets(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));

export class MeterFirmware {
  /** With `imageTransfer: false` nothing reaches it: the identifier and signature stay the factory image's. */
  readonly transfer: ImageTransfer;
  /** Whether the meter has IC 18 and IC 22 (not with `imageTransfer: false`). */
  readonly imageTransfer: boolean;
  readonly objects: CosemObjectDef[];
  /** The next image_block_transfer of this block closes the connection instead of being taken (once). */
  dropAtBlock: number | undefined;
  /** Closes the connection the next reply would go on; set by the meter's server. */
  onConnectionDrop: (() => void) | undefined;
  /** The execution_time written, as a clock reading; undefined when nothing is scheduled. */
  private scheduledReading: number | undefined;
  /** The true instant it was written at (a time already passed fires from there). */
  private scheduledAt = 0;
  private executionTime: DlmsData = array([structure(NOT_SPECIFIED_TIME, NOT_SPECIFIED_DATE)]);

  constructor(private readonly sim: MeterSimulation, options: FirmwareOptions) {
    this.transfer = new ImageTransfer(options);
    const t = this.transfer;
    this.objects = [
      { classId: INTERFACE_CLASSES.data.classId, logicalName: FIRMWARE_LN.firmwareIdentifier, attributes: { 2: { read: () => ok(octets(t.active.identifier)) } } },
      { classId: INTERFACE_CLASSES.data.classId, logicalName: FIRMWARE_LN.firmwareSignature, attributes: { 2: { read: () => ok(octets(t.active.signature)) } } },
    ];
    this.imageTransfer = options.imageTransfer !== false;
    if (this.imageTransfer) this.objects.push(this.imageTransferObject(), this.scheduleObject());
  }

  /**
   * Runs what the meter's clock has reached (the scheduled activation) and completes a
   * verification or activation whose time has come; the meter calls it after every advance. A
   * meter finishes a scheduled activation by itself: nobody polls image_transfer_status then,
   * and the active firmware identifier must change all the same.
   */
  advance(): void {
    const due = this.scheduledReading;
    if (due !== undefined && this.sim.clock.reading(this.sim.time) >= due) {
      this.scheduledReading = undefined;
      this.transfer.activateScheduled(Math.max(this.scheduledAt, Math.ceil(this.sim.clock.trueInstantOf(due))));
    }
    this.transfer.status(this.sim.time);
  }

  private imageTransferObject(): CosemObjectDef {
    const t = this.transfer;
    const sim = this.sim;
    const run = (step: (p: DlmsData | undefined) => ActionResultName | undefined) => ({
      invoke: (p: DlmsData | undefined): ModelActionOutcome => ({ result: step(p) ?? 'type-unmatched' }),
    });
    const zero = (p: DlmsData | undefined): boolean => p === undefined || p.type === 'integer';
    return {
      classId: INTERFACE_CLASSES.imageTransfer.classId, logicalName: FIRMWARE_LN.imageTransfer,
      attributes: {
        2: { read: () => ok(u32(t.readBlockSize())) },
        3: { read: () => ok({ type: 'bit-string', value: t.transferredBlocks() }) },
        4: { read: () => ok(u32(t.firstNotTransferred())) },
        5: {
          writable: true,
          read: () => ok(bool(t.transferEnabled)),
          write: (v): DataAccessResultName => {
            if (v.type !== 'boolean') return 'type-unmatched';
            t.transferEnabled = v.value;
            return 'success';
          },
        },
        6: { read: () => ok(enumOf(IMAGE_TRANSFER_STATUS[t.status(sim.time)])) },
        7: {
          read: () => {
            const i = t.imageToActivate(sim.time);
            return ok(array(i === undefined ? [] : [structure(u32(i.size), octets(i.identification), octets(i.signature))]));
          },
        },
      },
      methods: {
        1: run((p) => (conforms(p ?? { type: 'null-data' }, INITIATE) && p?.type === 'structure'
          ? t.initiate(octetsOf(p.value[0]), numberOf(p.value[1]), sim.time) : undefined)),
        2: run((p) => {
          if (!conforms(p ?? { type: 'null-data' }, BLOCK) || p?.type !== 'structure') return undefined;
          const n = numberOf(p.value[0]);
          if (n === this.dropAtBlock && this.onConnectionDrop !== undefined) {
            // The link breaks with the block in flight: the meter never takes it, the client never hears back.
            this.dropAtBlock = undefined;
            this.onConnectionDrop();
            return 'temporary-failure';
          }
          return t.block(n, octetsOf(p.value[1]), sim.time);
        }),
        3: run((p) => (zero(p) ? t.verify(sim.time) : undefined)),
        4: run((p) => (zero(p) ? t.activate(sim.time) : undefined)),
      },
    };
  }

  private scheduleObject(): CosemObjectDef {
    return {
      classId: INTERFACE_CLASSES.singleActionSchedule.classId, logicalName: FIRMWARE_LN.activationSchedule,
      attributes: {
        2: { read: () => ok(structure(octets(FIRMWARE_LN.activationScript), u16(1))) },
        // type 1: size of execution_time = 1, wildcards in date allowed (this simulator takes none).
        3: { read: () => ok(enumOf(1)) },
        4: {
          writable: true,
          read: () => ok(this.executionTime),
          write: (v) => this.writeExecutionTime(v),
        },
      },
    };
  }

  private writeExecutionTime(v: DlmsData): DataAccessResultName {
    if (!conforms(v, EXECUTION_TIME) || v.type !== 'array') return 'type-unmatched';
    if (v.value.length > 1) return 'other-reason';
    const entry = v.value[0];
    const [time, date] = entry?.type === 'structure' ? entry.value.map(octetsOf) : [];
    if (time === undefined || date === undefined || [...time, ...date].every((b) => b === 0xff)) {
      this.scheduledReading = undefined;
    } else {
      const local = localInstant(time, date);
      if (local === undefined) return 'other-reason';
      this.scheduledReading = this.sim.clock.fromLocal(local);
      this.scheduledAt = this.sim.time;
    }
    this.executionTime = v;
    this.advance();
    return 'success';
  }
}

/** The local time (ms, as if UTC) a fully specified time and date name; undefined for wildcards or impossible dates. */
function localInstant(time: Uint8Array, date: Uint8Array): number | undefined {
  try {
    const f = calendarFields(decodeCosemDate(date), decodeCosemTime(time));
    return typeof f === 'string' ? undefined : localFieldsToMs(f);
  } catch (e) {
    if (e instanceof DlmsDecodeError) return undefined;
    throw e;
  }
}
