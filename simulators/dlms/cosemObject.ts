/**
 * COSEM objects as the simulated meter defines them, and the dispatch of GET, SET and ACTION
 * to them with the checks every access goes through (IEC 62056-5-3 §8 result codes):
 *
 *   no object with that logical name              → object-undefined
 *   the object exists with another class id        → object-class-inconsistent
 *   attribute / method id the class does not have  → object-undefined
 *   attribute / method not accessible here         → read-write-denied
 *   selective access the attribute does not offer  → other-reason
 *
 * Access rights: anyone may read a readable attribute; writing an attribute and invoking a
 * method need an authenticated association (low or high level security), as a public client
 * (SAP 16, no authentication) of a real meter reads but never changes. The Association LN
 * object list reports exactly these rights (accessModes below).
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { INTERFACE_CLASSES, interfaceClassOf } from '../../protocols/dlms/cosem/classes.js';
import { formatObis } from '../../protocols/dlms/cosem/obis.js';
import type {
  AccessContext, CosemAttributeDescriptor, CosemMethodDescriptor, CosemObjectModel, DataAccessResultName, GetResult,
  ModelActionOutcome, SelectiveAccess,
} from '../../protocols/dlms/server/objectModel.js';
import { octets } from './cosemData.js';

export interface AttributeDef {
  /** Whether the attribute can be written (by an authenticated association); every defined attribute is readable unless `writeOnly`. */
  readonly writable?: boolean;
  readonly writeOnly?: boolean;
  /** Access selectors the attribute supports (Profile Generic buffer: 1 range, 2 entry). */
  readonly selectors?: readonly number[];
  read?(ctx: AccessContext, access: SelectiveAccess | undefined): GetResult;
  write?(value: DlmsData, ctx: AccessContext): DataAccessResultName;
}

export interface MethodDef {
  invoke(parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome;
}

export interface CosemObjectDef {
  readonly classId: number;
  readonly logicalName: Uint8Array;
  /** By attribute index; logical_name (1) is served by the dispatcher. */
  readonly attributes: Readonly<Record<number, AttributeDef>>;
  readonly methods?: Readonly<Record<number, MethodDef>>;
}

/** A successful read. */
export function ok(data: DlmsData): GetResult {
  return { ok: true, data };
}

/** Attribute access_mode (IC 15 version 1): 0 no_access, 1 read_only, 2 write_only, 3 read_and_write. */
export function attributeAccessMode(def: AttributeDef | undefined, ctx: AccessContext): number {
  if (def === undefined) return 0;
  const canWrite = def.writable === true && ctx.authenticated !== 'none';
  if (def.writeOnly === true) return canWrite ? 2 : 0;
  return canWrite ? 3 : 1;
}

/** Method access_mode (IC 15 version 1): 0 no_access, 1 access. */
export function methodAccessMode(def: MethodDef | undefined, ctx: AccessContext): number {
  return def !== undefined && ctx.authenticated !== 'none' ? 1 : 0;
}

/** The class's version and its highest attribute and method ids (the table in classes.ts). */
export function classShape(classId: number): { version: number; attributes: number; methods: number } {
  const name = interfaceClassOf(classId);
  if (name === undefined) throw new RangeError(`interface class ${classId} is not modelled`);
  const c = INTERFACE_CLASSES[name];
  return { version: c.version, attributes: Math.max(...Object.values<number>(c.attributes)), methods: Math.max(0, ...Object.values<number>(c.methods)) };
}

/** Dispatches requests to a fixed set of objects. */
export class CosemObjectTable implements CosemObjectModel {
  private readonly byName = new Map<string, CosemObjectDef>();

  constructor(readonly objects: readonly CosemObjectDef[]) {
    for (const o of objects) {
      const key = formatObis(o.logicalName);
      if (this.byName.has(key)) throw new Error(`two objects named ${key}`);
      classShape(o.classId);
      this.byName.set(key, o);
    }
  }

  get(ref: CosemAttributeDescriptor, access: SelectiveAccess | undefined, ctx: AccessContext): GetResult {
    const found = this.attribute(ref);
    if (typeof found === 'string') return { ok: false, result: found };
    if (ref.attributeId === 1) return access === undefined ? { ok: true, data: octets(found.object.logicalName) } : { ok: false, result: 'other-reason' };
    const def = found.def;
    if (def?.read === undefined || def.writeOnly === true) return { ok: false, result: 'read-write-denied' };
    if (access !== undefined && def.selectors?.includes(access.selector) !== true) return { ok: false, result: 'other-reason' };
    return def.read(ctx, access);
  }

  set(ref: CosemAttributeDescriptor, value: DlmsData, ctx: AccessContext): DataAccessResultName {
    const found = this.attribute(ref);
    if (typeof found === 'string') return found;
    const def = found.def;
    if (ref.attributeId === 1 || def?.write === undefined || attributeAccessMode(def, ctx) < 2) return 'read-write-denied';
    return def.write(value, ctx);
  }

  action(ref: CosemMethodDescriptor, parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome {
    const o = this.byName.get(logicalNameKey(ref.instanceId));
    if (o === undefined) return { result: 'object-undefined' };
    if (o.classId !== ref.classId) return { result: 'object-class-inconsistent' };
    if (ref.methodId < 1 || ref.methodId > classShape(o.classId).methods) return { result: 'object-undefined' };
    const m = o.methods?.[ref.methodId];
    if (m === undefined || methodAccessMode(m, ctx) === 0) return { result: 'read-write-denied' };
    return m.invoke(parameters, ctx);
  }

  private attribute(ref: CosemAttributeDescriptor): { object: CosemObjectDef; def: AttributeDef | undefined } | DataAccessResultName {
    const o = this.byName.get(logicalNameKey(ref.instanceId));
    if (o === undefined) return 'object-undefined';
    if (o.classId !== ref.classId) return 'object-class-inconsistent';
    if (ref.attributeId < 1 || ref.attributeId > classShape(o.classId).attributes) return 'object-undefined';
    return { object: o, def: o.attributes[ref.attributeId] };
  }
}

function logicalNameKey(instanceId: Uint8Array): string {
  return instanceId.length === 6 ? formatObis(instanceId) : '';
}
