/**
 * A rule's detector states. Most of them, at a million meters, say only "nothing is going
 * on": an idle condition remembering when it last judged (and, for a register detector, the
 * register's baseline). Those are packed into typed-array columns indexed by meter slot and
 * phase, a few bytes each; any other state (pending, raised, a device event's, an area's) is
 * kept as the object the detector returned. A packed state is rebuilt equal to what was
 * stored, so detectors never see the difference.
 *
 * Keys: a meter's state is `meterStateKey(slot, phase)` (phase 0 for the meter itself, 1…3
 * for L1…L3); an area's is its id, a terminal's `t:<id>`.
 */
import { IDLE, type ConditionState } from './detectors/condition.js';
import type { RegisterState } from './detectors/register.js';
import { columnFor } from './meterSlots.js';

export type StateKey = number | string;

/** Phase 0 is the meter itself, 1…3 its line phases. */
export const PHASE_SLOTS = 4;

export function meterStateKey(slot: number, phase: number): number {
  return slot * PHASE_SLOTS + phase;
}

/** The slot of a meter state's key. */
export function slotOfKey(key: number): number {
  return Math.floor(key / PHASE_SLOTS);
}

const NONE = 0;
const CONDITION = 1;
const REGISTER = 2;
/** `lastAt: null`, which a packed column holds as -Infinity (no clock reads that). */
const NULL_AT = Number.NEGATIVE_INFINITY;

interface Column {
  kind: Uint8Array;
  lastAt: Float64Array;
  /** The register baseline (NaN `at`: none), only once a register state was packed. */
  baseValue: Float64Array | undefined;
  baseAt: Float64Array | undefined;
}

export class StateTable {
  private readonly objects = new Map<StateKey, unknown>();
  private readonly columns: (Column | undefined)[] = [];
  private packed = 0;

  get size(): number {
    return this.objects.size + this.packed;
  }

  get(key: StateKey): unknown {
    if (typeof key === 'number') {
      const s = this.unpack(key);
      if (s !== undefined) return s;
    }
    return this.objects.get(key);
  }

  has(key: StateKey): boolean {
    return this.get(key) !== undefined;
  }

  set(key: StateKey, state: unknown): void {
    if (typeof key === 'number' && this.pack(key, state)) {
      this.objects.delete(key);
      return;
    }
    if (typeof key === 'number') this.clearPacked(key);
    this.objects.set(key, state);
  }

  delete(key: StateKey): boolean {
    const packed = typeof key === 'number' && this.clearPacked(key);
    return this.objects.delete(key) || packed;
  }

  /** States kept as objects: every raised state is one (a packed state is idle). */
  unpacked(): IterableIterator<[StateKey, unknown]> {
    return this.objects.entries();
  }

  clear(): void {
    this.objects.clear();
    this.columns.length = 0;
    this.packed = 0;
  }

  // ── packing ─────────────────────────────────────────────────────────────

  private pack(key: number, state: unknown): boolean {
    if (isPlainIdle(state)) {
      this.put(key, CONDITION, state.lastAt, undefined);
      return true;
    }
    if (isIdleRegister(state)) {
      this.put(key, REGISTER, state.condition.lastAt, state.baseline);
      return true;
    }
    return false;
  }

  private put(key: number, kind: number, lastAt: number | null, baseline: RegisterState['baseline'] | undefined): void {
    const slot = slotOfKey(key);
    const phase = key - slot * PHASE_SLOTS;
    let col = this.columns[phase];
    if (col === undefined) {
      col = { kind: new Uint8Array(0), lastAt: new Float64Array(0), baseValue: undefined, baseAt: undefined };
      this.columns[phase] = col;
    }
    col.kind = columnFor(col.kind, slot, NONE);
    col.lastAt = columnFor(col.lastAt, slot, Number.NaN);
    if (col.kind[slot] === NONE) this.packed += 1;
    col.kind[slot] = kind;
    col.lastAt[slot] = lastAt ?? NULL_AT;
    if (kind !== REGISTER) return;
    col.baseValue = columnFor(col.baseValue ?? new Float64Array(0), slot, Number.NaN);
    col.baseAt = columnFor(col.baseAt ?? new Float64Array(0), slot, Number.NaN);
    col.baseValue[slot] = baseline?.value ?? Number.NaN;
    col.baseAt[slot] = baseline?.at ?? Number.NaN;
  }

  private unpack(key: number): unknown {
    const slot = slotOfKey(key);
    const col = this.columns[key - slot * PHASE_SLOTS];
    const kind = col?.kind[slot] ?? NONE;
    if (col === undefined || kind === NONE) return undefined;
    const at = col.lastAt[slot] ?? NULL_AT;
    const condition: ConditionState = at === NULL_AT ? IDLE : { phase: 'idle', since: null, raisedAt: null, lastAt: at };
    if (kind === CONDITION) return condition;
    const baseAt = col.baseAt?.[slot] ?? Number.NaN;
    const baseline = Number.isNaN(baseAt) ? null : { value: col.baseValue?.[slot] ?? Number.NaN, at: baseAt };
    return { condition, baseline } satisfies RegisterState;
  }

  private clearPacked(key: number): boolean {
    const slot = slotOfKey(key);
    const col = this.columns[key - slot * PHASE_SLOTS];
    if (col === undefined || (col.kind[slot] ?? NONE) === NONE) return false;
    col.kind[slot] = NONE;
    this.packed -= 1;
    return true;
  }
}

function isPlainIdle(s: unknown): s is ConditionState {
  if (typeof s !== 'object' || s === null) return false;
  const c = s as Partial<ConditionState>;
  return c.phase === 'idle' && c.since === null && c.raisedAt === null && (c.lastAt === null || typeof c.lastAt === 'number')
    && Object.keys(s).length === 4;
}

function isIdleRegister(s: unknown): s is RegisterState {
  if (typeof s !== 'object' || s === null || Object.keys(s).length !== 2) return false;
  const r = s as Partial<RegisterState>;
  if (!('condition' in s) || !('baseline' in s) || !isPlainIdle(r.condition)) return false;
  const b = r.baseline;
  return b === null || (typeof b === 'object' && Object.keys(b).length === 2 && typeof b.value === 'number' && typeof b.at === 'number' && !Number.isNaN(b.at));
}
