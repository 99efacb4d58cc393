/**
 * The topology: areas (a tree), terminals and the meters behind them. Persisted in the
 * embedded store; held in memory as well, because ingest resolves a meter for every reading.
 * Every change is validated here (not only in the API), so seeding and the API obey the same rules.
 */
import { ENDPOINT_PASSWORD_REFUSED, type AreaSeed, type MeterSeed, type TerminalSeed } from '../config/schema.js';
import {
  AREA_LEVEL, ConflictError, METER_LIMITS, NotFoundError, ValidationError,
  areaId, meterId, terminalId,
  type Area, type AreaId, type Meter, type MeterId, type Terminal, type TerminalId,
} from '../domain/index.js';
import type { Db } from '../storage/db.js';

export type RegistryChange =
  | { readonly kind: 'area'; readonly id: AreaId; readonly op: 'upsert' | 'delete' }
  | { readonly kind: 'terminal'; readonly id: TerminalId; readonly op: 'upsert' | 'delete' }
  | { readonly kind: 'meter'; readonly id: MeterId; readonly op: 'upsert' | 'delete' };

export interface RegistryOptions {
  /** Whether a Modbus register map of this name is configured. */
  readonly registerMapExists: (name: string) => boolean;
  /** Whether a collection profile of this name is configured. */
  readonly profileExists: (name: string) => boolean;
  readonly now?: () => number;
}

export class Registry {
  private readonly areas = new Map<AreaId, Area>();
  private readonly terminals = new Map<TerminalId, Terminal>();
  private readonly meters = new Map<MeterId, Meter>();
  private readonly meterKeys = new Map<MeterId, number>();
  private readonly byAddress = new Map<string, Meter>();
  /** Meters per terminal, in insertion order: the collector asks for them every cycle. */
  private readonly byTerminal = new Map<TerminalId, Map<MeterId, Meter>>();
  private readonly listeners = new Set<(c: RegistryChange) => void>();
  private readonly now: () => number;

  constructor(private readonly db: Db, private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now;
    this.load();
  }

  onChange(listener: (c: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── areas ────────────────────────────────────────────────────────────────

  listAreas(): Area[] {
    return [...this.areas.values()];
  }

  hasArea(id: string): boolean {
    return this.areas.has(areaId(id));
  }

  getArea(id: string): Area {
    const a = this.areas.get(areaId(id));
    if (a === undefined) throw new NotFoundError('area', id);
    return a;
  }

  /** The area and every area below it. */
  areaSubtree(id: string): Set<AreaId> {
    const root = this.getArea(id).id;
    const out = new Set<AreaId>([root]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const a of this.areas.values()) {
        if (a.parentId !== null && out.has(a.parentId) && !out.has(a.id)) {
          out.add(a.id);
          grew = true;
        }
      }
    }
    return out;
  }

  createArea(input: AreaSeed): Area {
    if (this.areas.has(areaId(input.id))) throw new ConflictError(`area ${JSON.stringify(input.id)} already exists`);
    return this.putArea(input);
  }

  updateArea(id: string, input: Omit<AreaSeed, 'id'>): Area {
    this.getArea(id);
    return this.putArea({ ...input, id });
  }

  deleteArea(id: string): void {
    const a = this.getArea(id);
    for (const child of this.areas.values()) {
      if (child.parentId === a.id) throw new ConflictError(`area ${JSON.stringify(id)} still has child area ${JSON.stringify(child.id)}`);
    }
    for (const m of this.meters.values()) {
      if (m.areaId === a.id) throw new ConflictError(`area ${JSON.stringify(id)} still has meter ${JSON.stringify(m.id)}`);
    }
    this.db.prepare('DELETE FROM areas WHERE id = ?').run(a.id);
    this.areas.delete(a.id);
    this.emit({ kind: 'area', id: a.id, op: 'delete' });
  }

  private putArea(input: AreaSeed): Area {
    const area: Area = {
      id: areaId(input.id),
      name: input.name,
      kind: input.kind,
      parentId: input.parentId === undefined ? null : areaId(input.parentId),
      transformerKva: input.transformerKva ?? null,
    };
    if (area.parentId !== null) {
      const parent = this.areas.get(area.parentId);
      if (parent === undefined) throw new ValidationError(`parent area ${JSON.stringify(area.parentId)} does not exist`, 'parentId');
      if (AREA_LEVEL[parent.kind] >= AREA_LEVEL[area.kind]) {
        throw new ValidationError(`a ${area.kind} area cannot sit under a ${parent.kind} area`, 'parentId');
      }
      if (this.isAncestorOrSelf(area.id, area.parentId)) throw new ValidationError('an area cannot be its own ancestor', 'parentId');
    }
    if (area.transformerKva !== null && area.kind !== 'transformer') {
      throw new ValidationError('transformerKva applies only to transformer areas', 'transformerKva');
    }
    for (const child of this.areas.values()) {
      if (child.parentId === area.id && AREA_LEVEL[child.kind] <= AREA_LEVEL[area.kind]) {
        throw new ValidationError(`child area ${JSON.stringify(child.id)} (${child.kind}) cannot sit under a ${area.kind} area`, 'kind');
      }
    }
    const t = this.now();
    this.db
      .prepare(`INSERT INTO areas (id, name, kind, parent_id, transformer_kva, created_at, updated_at)
                VALUES (@id, @name, @kind, @parentId, @transformerKva, @t, @t)
                ON CONFLICT(id) DO UPDATE SET name = @name, kind = @kind, parent_id = @parentId,
                  transformer_kva = @transformerKva, updated_at = @t`)
      .run({ ...area, t });
    this.areas.set(area.id, area);
    this.emit({ kind: 'area', id: area.id, op: 'upsert' });
    return area;
  }

  private isAncestorOrSelf(candidate: AreaId, of: AreaId): boolean {
    for (let cur: AreaId | null = of; cur !== null; cur = this.areas.get(cur)?.parentId ?? null) {
      if (cur === candidate) return true;
    }
    return false;
  }

  // ── terminals ────────────────────────────────────────────────────────────

  listTerminals(): Terminal[] {
    return [...this.terminals.values()];
  }

  getTerminal(id: string): Terminal {
    const t = this.terminals.get(terminalId(id));
    if (t === undefined) throw new NotFoundError('terminal', id);
    return t;
  }

  findTerminal(id: string): Terminal | undefined {
    return this.terminals.get(terminalId(id));
  }

  createTerminal(input: TerminalSeed): Terminal {
    if (this.terminals.has(terminalId(input.id))) throw new ConflictError(`terminal ${JSON.stringify(input.id)} already exists`);
    return this.putTerminal(input);
  }

  updateTerminal(id: string, input: Omit<TerminalSeed, 'id'>): Terminal {
    this.getTerminal(id);
    return this.putTerminal({ ...input, id });
  }

  deleteTerminal(id: string): void {
    const t = this.getTerminal(id);
    const meters = this.metersOfTerminal(t.id);
    if (meters.length > 0) throw new ConflictError(`terminal ${JSON.stringify(id)} still has ${meters.length} meter(s); delete or move them first`);
    this.db.prepare('DELETE FROM terminals WHERE id = ?').run(t.id);
    this.terminals.delete(t.id);
    this.emit({ kind: 'terminal', id: t.id, op: 'delete' });
  }

  private putTerminal(input: TerminalSeed): Terminal {
    const terminal = toTerminal(input);
    if (terminal.protocol === 'modbus' && !this.options.registerMapExists(terminal.modbus.registerMap)) {
      throw new ValidationError(`no register map ${JSON.stringify(terminal.modbus.registerMap)} is configured`, 'modbus.registerMap');
    }
    for (const p of terminal.profiles) {
      if (!this.options.profileExists(p)) throw new ValidationError(`no collection profile ${JSON.stringify(p)} is configured`, 'profiles');
    }
    const existing = this.terminals.get(terminal.id);
    if (existing !== undefined && existing.protocol !== terminal.protocol && this.metersOfTerminal(terminal.id).length > 0) {
      throw new ConflictError(`terminal ${JSON.stringify(terminal.id)} has meters; its protocol cannot change`);
    }
    const endpoint = terminal.protocol === 'modbus' ? { modbus: terminal.modbus }
      : terminal.protocol === 'dlms' ? { dlms: terminal.dlms } : { mqtt: terminal.mqtt };
    const t = this.now();
    this.db
      .prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
                VALUES (@id, @name, @protocol, @enabled, @profiles, @endpoint, @t, @t)
                ON CONFLICT(id) DO UPDATE SET name = @name, protocol = @protocol, enabled = @enabled,
                  profiles = @profiles, endpoint = @endpoint, updated_at = @t`)
      .run({
        id: terminal.id, name: terminal.name, protocol: terminal.protocol, enabled: terminal.enabled ? 1 : 0,
        profiles: JSON.stringify(terminal.profiles), endpoint: JSON.stringify(endpoint), t,
      });
    this.terminals.set(terminal.id, terminal);
    this.emit({ kind: 'terminal', id: terminal.id, op: 'upsert' });
    return terminal;
  }

  /**
   * LLS passwords left in stored DLMS endpoints by an older station (terminals created
   * through the API kept them in the row); they are not part of the loaded terminals.
   */
  storedEndpointPasswords(): { readonly terminalId: TerminalId; readonly password: string }[] {
    const rows = this.db.prepare(`SELECT id, json_extract(endpoint, '$.dlms.password') AS password FROM terminals
                                  WHERE protocol = 'dlms' AND json_type(endpoint, '$.dlms.password') = 'text'`).all() as { id: string; password: string }[];
    return rows.map((r) => ({ terminalId: terminalId(r.id), password: r.password }));
  }

  /** Removes the password from a stored DLMS endpoint, once it is safe elsewhere. */
  dropStoredEndpointPassword(id: string): void {
    this.db.prepare("UPDATE terminals SET endpoint = json_remove(endpoint, '$.dlms.password') WHERE id = ?").run(id);
  }

  // ── meters ───────────────────────────────────────────────────────────────

  listMeters(filter: { readonly areaId?: string; readonly terminalId?: string } = {}): Meter[] {
    if (filter.terminalId !== undefined && filter.areaId === undefined) return this.metersOfTerminal(filter.terminalId);
    const areas = filter.areaId === undefined ? undefined : this.areaSubtree(filter.areaId);
    const out: Meter[] = [];
    for (const m of this.meters.values()) {
      if (filter.terminalId !== undefined && m.terminalId !== filter.terminalId) continue;
      if (areas !== undefined && (m.areaId === null || !areas.has(m.areaId))) continue;
      out.push(m);
    }
    return out;
  }

  /** Meters of the area and its sub-areas; undefined when the area does not exist. */
  metersOfArea(id: string): Meter[] | undefined {
    return this.hasArea(id) ? this.listMeters({ areaId: id }) : undefined;
  }

  getMeter(id: string): Meter {
    const m = this.meters.get(meterId(id));
    if (m === undefined) throw new NotFoundError('meter', id);
    return m;
  }

  findMeter(id: string): Meter | undefined {
    return this.meters.get(meterId(id));
  }

  /** The meter at `address` on `terminal`: the hot path of ingest. */
  meterAt(terminal: string, address: string): Meter | undefined {
    return this.byAddress.get(addressKey(terminal, address));
  }

  /** The compact integer key the reading store uses for a meter. */
  meterKey(id: MeterId): number | undefined {
    return this.meterKeys.get(id);
  }

  metersOfTerminal(id: string): Meter[] {
    const meters = this.byTerminal.get(terminalId(id));
    return meters === undefined ? [] : [...meters.values()];
  }

  createMeter(input: MeterSeed): Meter {
    if (this.meters.has(meterId(input.id))) throw new ConflictError(`meter ${JSON.stringify(input.id)} already exists`);
    return this.putMeter(input);
  }

  updateMeter(id: string, input: Omit<MeterSeed, 'id'>): Meter {
    this.getMeter(id);
    return this.putMeter({ ...input, id });
  }

  deleteMeter(id: string): void {
    const m = this.getMeter(id);
    this.db.prepare('DELETE FROM meters WHERE id = ?').run(m.id);
    this.meters.delete(m.id);
    this.meterKeys.delete(m.id);
    this.unindex(m);
    this.emit({ kind: 'meter', id: m.id, op: 'delete' });
  }

  private putMeter(input: MeterSeed): Meter {
    const meter = toMeter(input);
    if (!this.terminals.has(meter.terminalId)) throw new ValidationError(`terminal ${JSON.stringify(meter.terminalId)} does not exist`, 'terminalId');
    if (meter.areaId !== null && !this.areas.has(meter.areaId)) throw new ValidationError(`area ${JSON.stringify(meter.areaId)} does not exist`, 'areaId');
    const holder = this.byAddress.get(addressKey(meter.terminalId, meter.address));
    if (holder !== undefined && holder.id !== meter.id) {
      throw new ConflictError(`address ${JSON.stringify(meter.address)} on terminal ${JSON.stringify(meter.terminalId)} is taken by meter ${JSON.stringify(holder.id)}`);
    }
    const previous = this.meters.get(meter.id);
    const t = this.now();
    const row = this.db
      .prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, nominal_voltage, max_current, area_id, protected,
                  customer_ref, account_ref, created_at, updated_at)
                VALUES (@id, @name, @terminalId, @address, @ctRatio, @ptRatio, @nominalVoltage, @maxCurrent, @areaId, @protected,
                  @customerRef, @accountRef, @t, @t)
                ON CONFLICT(id) DO UPDATE SET name = @name, terminal_id = @terminalId, address = @address,
                  ct_ratio = @ctRatio, pt_ratio = @ptRatio, nominal_voltage = @nominalVoltage, max_current = @maxCurrent,
                  area_id = @areaId, protected = @protected, customer_ref = @customerRef, account_ref = @accountRef, updated_at = @t
                RETURNING key`)
      .get({ ...meter, nominalVoltage: meter.nominalVoltage ?? null, maxCurrent: meter.maxCurrent ?? null, protected: meter.protected ? 1 : 0, t }) as { key: number };
    if (previous !== undefined) this.unindex(previous);
    this.meters.set(meter.id, meter);
    this.meterKeys.set(meter.id, row.key);
    this.index(meter);
    this.emit({ kind: 'meter', id: meter.id, op: 'upsert' });
    return meter;
  }

  // ── seeding and loading ──────────────────────────────────────────────────

  /**
   * Brings the store in line with the configuration's registry section: creates or updates
   * every seeded entry; entries created through the API are left alone. One transaction.
   */
  seed(seed: { readonly areas: readonly AreaSeed[]; readonly terminals: readonly TerminalSeed[]; readonly meters: readonly MeterSeed[] }): void {
    this.db.transaction(() => {
      // Parents before children, whatever the order in the file.
      const pending = [...seed.areas];
      while (pending.length > 0) {
        const ready = pending.findIndex((a) => a.parentId === undefined || this.areas.has(areaId(a.parentId)));
        if (ready < 0) throw new ValidationError(`area ${JSON.stringify(pending[0]?.id)} has a parent that is neither configured nor stored`, 'parentId');
        const [a] = pending.splice(ready, 1);
        if (a !== undefined) this.putArea(a);
      }
      for (const t of seed.terminals) this.putTerminal(t);
      for (const m of seed.meters) this.putMeter(m);
    })();
  }

  private load(): void {
    for (const r of this.db.prepare('SELECT * FROM areas').all() as AreaRow[]) {
      this.areas.set(areaId(r.id), {
        id: areaId(r.id), name: r.name, kind: r.kind, parentId: r.parent_id === null ? null : areaId(r.parent_id), transformerKva: r.transformer_kva,
      });
    }
    for (const r of this.db.prepare('SELECT * FROM terminals').all() as TerminalRow[]) {
      const endpoint = JSON.parse(r.endpoint) as Pick<TerminalSeed, 'modbus' | 'dlms'>;
      // A password an older station kept in the row waits there for storedEndpointPasswords(); it is never used from here.
      const dlms = endpoint.dlms === undefined ? undefined : withoutPassword(endpoint.dlms);
      this.terminals.set(terminalId(r.id), toTerminal({
        id: r.id, name: r.name, protocol: r.protocol, enabled: r.enabled === 1, profiles: JSON.parse(r.profiles) as string[], ...endpoint,
        ...(dlms === undefined ? {} : { dlms }),
      }));
    }
    for (const r of this.db.prepare('SELECT * FROM meters').all() as MeterRow[]) {
      const m: Meter = {
        id: meterId(r.id), name: r.name, terminalId: terminalId(r.terminal_id), address: r.address, ctRatio: r.ct_ratio, ptRatio: r.pt_ratio,
        ...(r.nominal_voltage === null ? {} : { nominalVoltage: r.nominal_voltage }),
        ...(r.max_current === null ? {} : { maxCurrent: r.max_current }),
        areaId: r.area_id === null ? null : areaId(r.area_id), protected: r.protected === 1, customerRef: r.customer_ref, accountRef: r.account_ref,
      };
      this.meters.set(m.id, m);
      this.meterKeys.set(m.id, r.key);
      this.index(m);
    }
  }

  private index(m: Meter): void {
    this.byAddress.set(addressKey(m.terminalId, m.address), m);
    let group = this.byTerminal.get(m.terminalId);
    if (group === undefined) {
      group = new Map();
      this.byTerminal.set(m.terminalId, group);
    }
    group.set(m.id, m);
  }

  private unindex(m: Meter): void {
    this.byAddress.delete(addressKey(m.terminalId, m.address));
    const group = this.byTerminal.get(m.terminalId);
    group?.delete(m.id);
    if (group?.size === 0) this.byTerminal.delete(m.terminalId);
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) l(change);
  }
}

function toTerminal(input: TerminalSeed): Terminal {
  const base = { id: terminalId(input.id), name: input.name ?? input.id, enabled: input.enabled, profiles: [...input.profiles] };
  if (input.protocol === 'modbus') {
    if (input.modbus === undefined) throw new ValidationError('a modbus terminal needs modbus.host, modbus.port and modbus.registerMap', 'modbus');
    return { ...base, protocol: 'modbus', modbus: { ...input.modbus } };
  }
  if (input.modbus !== undefined) throw new ValidationError(`modbus settings are not allowed on a ${input.protocol} terminal`, 'modbus');
  if (input.protocol === 'dlms') {
    if (input.dlms === undefined) throw new ValidationError('a dlms terminal needs dlms.host and dlms.port', 'dlms');
    if (input.dlms.password !== undefined) throw new ValidationError(`dlms.password is ${ENDPOINT_PASSWORD_REFUSED}`, 'dlms.password');
    return { ...base, protocol: 'dlms', dlms: withoutPassword(input.dlms) };
  }
  if (input.dlms !== undefined) throw new ValidationError(`dlms settings are not allowed on a ${input.protocol} terminal`, 'dlms');
  return { ...base, protocol: 'mqtt', mqtt: {} };
}

function withoutPassword(endpoint: NonNullable<TerminalSeed['dlms']>): Omit<NonNullable<TerminalSeed['dlms']>, 'password'> {
  const { password: _password, ...rest } = endpoint;
  return rest;
}

function toMeter(input: MeterSeed): Meter {
  inRange(input.ctRatio, METER_LIMITS.ratio, 'ctRatio');
  inRange(input.ptRatio, METER_LIMITS.ratio, 'ptRatio');
  if (input.nominalVoltage !== undefined) inRange(input.nominalVoltage, METER_LIMITS.nominalVoltage, 'nominalVoltage');
  if (input.maxCurrent !== undefined) inRange(input.maxCurrent, METER_LIMITS.maxCurrent, 'maxCurrent');
  return {
    id: meterId(input.id),
    name: input.name ?? input.id,
    terminalId: terminalId(input.terminalId),
    address: input.address,
    ctRatio: input.ctRatio,
    ptRatio: input.ptRatio,
    ...(input.nominalVoltage === undefined ? {} : { nominalVoltage: input.nominalVoltage }),
    ...(input.maxCurrent === undefined ? {} : { maxCurrent: input.maxCurrent }),
    areaId: input.areaId === undefined ? null : areaId(input.areaId),
    protected: input.protected,
    customerRef: input.customerRef ?? null,
    accountRef: input.accountRef ?? null,
  };
}

/** Readings are scaled by the ratios and bounded by the ratings: a value beyond sane ranges would make them meaningless. */
function inRange(value: number, range: { readonly min: number; readonly max: number }, field: string): void {
  if (!(value >= range.min && value <= range.max)) throw new ValidationError(`${field} must be within ${range.min} … ${range.max}, got ${value}`, field);
}

function addressKey(terminal: string, address: string): string {
  return `${terminal}\u0000${address}`;
}

interface AreaRow { id: string; name: string; kind: Area['kind']; parent_id: string | null; transformer_kva: number | null }
interface TerminalRow { id: string; name: string; protocol: 'modbus' | 'mqtt' | 'dlms'; enabled: number; profiles: string; endpoint: string }
interface MeterRow {
  key: number; id: string; name: string; terminal_id: string; address: string; ct_ratio: number; pt_ratio: number;
  nominal_voltage: number | null; max_current: number | null;
  area_id: string | null; protected: number; customer_ref: string | null; account_ref: string | null;
}
