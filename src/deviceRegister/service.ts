/**
 * The device register's service: what the refresh duty, the firmware campaigns, the OTA
 * channel and the API ask of it. Nameplates and firmware reports go to the store, which adds a
 * history line only when the version changes; a meter's replacements are billing's (configured
 * and recorded), looked up when asked, never copied.
 */
import type { DeviceNameplate } from '../../protocols/adapter.js';
import type { MeterReplacement } from '../billing/vee.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { DEVICE_KINDS, FIRMWARE_SOURCES, type DeviceFilter, type DeviceKind, type DevicePage, type DeviceQuery, type DeviceRecord, type FirmwareChange, type FirmwareReport, type FirmwareSource } from './model.js';
import type { DeviceRegisterStore, FirmwareOutcome } from './store.js';

/** The longest text a nameplate field or a firmware version keeps; a longer one is cut (devices report what they like). */
export const MAX_NAMEPLATE_CHARS = 128;

export interface DeviceDetail {
  readonly device: DeviceRecord;
  /** Newest first. */
  readonly firmwareHistory: readonly FirmwareChange[];
  /** Billing's exchanges of the meter, oldest first: before each the id named the old device (its final read), after it the new one (its initial read). */
  readonly replacements: readonly MeterReplacement[];
}

/** A list's filters as the API has them: an area rather than the area ids under it. */
export interface DeviceListFilter extends Omit<DeviceFilter, 'areaIds'> {
  readonly areaId?: string;
}

export interface DeviceRegisterServiceOptions {
  readonly store: DeviceRegisterStore;
  /** Billing's replacements of a meter, configured and recorded, oldest first. */
  readonly replacementsOf: (meterId: string) => readonly MeterReplacement[];
  /** The area and every area below it; throws NotFoundError for an unknown area. */
  readonly areaSubtree: (areaId: string) => ReadonlySet<string>;
  /** How long after a read the next one is due, ms. */
  readonly refreshMs: number;
  /** Devices per batch of an export. */
  readonly exportBatch: number;
  /** A write started in the background (`heard`) failed; absent: ignored. */
  readonly onBackgroundError?: (what: string, err: unknown) => void;
}

/** Pushed nameplates being written at once, at most (see `heard`). */
export const MAX_HEARD_IN_FLIGHT = 1_000;

export class DeviceRegisterService {
  readonly #o: DeviceRegisterServiceOptions;
  #heardInFlight = 0;

  constructor(options: DeviceRegisterServiceOptions) {
    this.#o = options;
  }

  /** A nameplate read from the device at `at`: stored, the firmware change recorded when the version differs, the next read due `refreshMs` later. */
  noteNameplate(kind: DeviceKind, id: string, nameplate: DeviceNameplate, at: number, source: FirmwareSource = 'read'): Promise<FirmwareOutcome> {
    checkDevice(kind, id);
    checkSource(source);
    return this.#o.store.noteNameplate(kind, id, boundedNameplate(nameplate), at, source, at + this.#o.refreshMs);
  }

  /**
   * What a device said of itself in a push (an MQTT terminal's birth carries its firmware
   * version): recorded like a read, in the background; a failure goes to `onBackgroundError`,
   * never to the push path that heard it.
   */
  heard(kind: DeviceKind, id: string, nameplate: DeviceNameplate, at: number): void {
    const what = `the nameplate ${kind} ${id} pushed`;
    // Bounded: a broker handing over a whole fleet's retained births at once must not queue a write per terminal without end; the next birth is heard again.
    if (this.#heardInFlight >= MAX_HEARD_IN_FLIGHT) {
      this.#o.onBackgroundError?.(what, new Error(`${MAX_HEARD_IN_FLIGHT} pushed nameplates are already being written; this one is dropped`));
      return;
    }
    this.#heardInFlight++;
    const done = (): void => { this.#heardInFlight--; };
    try {
      this.noteNameplate(kind, id, nameplate, at, 'read').then(done, (err: unknown) => {
        done();
        this.#o.onBackgroundError?.(what, err);
      });
    } catch (err) {
      done();
      this.#o.onBackgroundError?.(what, err);
    }
  }

  /** A version a campaign activated or an OTA terminal reported: recorded, with a history line when it differs from the stored one. */
  recordFirmware(kind: DeviceKind, id: string, report: FirmwareReport): Promise<FirmwareOutcome> {
    checkDevice(kind, id);
    checkSource(report.source);
    if (report.version.length === 0) throw new ValidationError('a firmware version is not empty', 'version');
    return this.#o.store.recordFirmware(kind, id, { ...report, version: bounded(report.version), ...(report.signature === undefined ? {} : { signature: bounded(report.signature) }) });
  }

  /** The firmware version the register holds for a meter; null when never learnt (or no such meter). */
  async currentVersionOf(meterId: string): Promise<string | null> {
    return (await this.#o.store.get('meter', meterId))?.firmwareVersion ?? null;
  }

  async get(kind: DeviceKind, id: string): Promise<DeviceRecord | undefined> {
    return this.#o.store.get(kind, id);
  }

  async detail(kind: DeviceKind, id: string): Promise<DeviceDetail> {
    const device = await this.#o.store.get(kind, id);
    if (device === undefined) throw new NotFoundError(kind, id);
    const firmwareHistory = await this.#o.store.history(kind, id);
    return { device, firmwareHistory, replacements: kind === 'meter' ? this.#o.replacementsOf(id) : [] };
  }

  list(filter: DeviceListFilter, after: DeviceQuery['after'], limit: number): Promise<DevicePage> {
    return this.#o.store.list({ ...this.#filter(filter), ...(after === undefined ? {} : { after }), limit });
  }

  /** Every device the filters match, a batch at a time; the filters are checked before the first batch is read. */
  export(filter: DeviceListFilter): AsyncIterator<DeviceRecord[]> {
    const query = this.#filter(filter);
    const { store, exportBatch } = this.#o;
    return (async function* batches(): AsyncGenerator<DeviceRecord[]> {
      let after: DeviceQuery['after'];
      for (;;) {
        const page = await store.list({ ...query, ...(after === undefined ? {} : { after }), limit: exportBatch });
        yield page.items;
        if (page.next === null) return;
        after = page.next;
      }
    })();
  }

  #filter({ areaId, ...rest }: DeviceListFilter): DeviceFilter {
    return { ...rest, ...(areaId === undefined ? {} : { areaIds: [...this.#o.areaSubtree(areaId)] }) };
  }
}

function checkDevice(kind: DeviceKind, id: string): void {
  if (!DEVICE_KINDS.includes(kind)) throw new ValidationError(`a device kind is one of ${DEVICE_KINDS.join(', ')}`, 'kind');
  if (id.length === 0) throw new ValidationError('a device id is not empty', 'id');
}

function checkSource(source: FirmwareSource): void {
  if (!FIRMWARE_SOURCES.includes(source)) throw new ValidationError(`a firmware source is one of ${FIRMWARE_SOURCES.join(', ')}`, 'source');
}

function bounded(text: string): string {
  return text.length > MAX_NAMEPLATE_CHARS ? text.slice(0, MAX_NAMEPLATE_CHARS) : text;
}

/** The nameplate with each field cut to MAX_NAMEPLATE_CHARS and empty fields left out (as not published). */
function boundedNameplate(n: DeviceNameplate): DeviceNameplate {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(n) as [keyof DeviceNameplate, string | undefined][]) {
    if (value !== undefined && value.length > 0) out[key] = bounded(value);
  }
  return out;
}
