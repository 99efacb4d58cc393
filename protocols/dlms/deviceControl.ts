/**
 * Control commands on a DLMS meter, each followed by reading back what it changed:
 *
 * - disconnect / reconnect: IC 70 methods 1 remote_disconnect / 2 remote_reconnect, then
 *   attribute 2 output_state (Blue Book §4.5.8). In control modes where remote_reconnect
 *   only arms the relay (ready_for_reconnection) the read-back says "not connected".
 * - set-limit: IC 71 attribute 3 threshold_active (Blue Book §4.5.9), which has the type and
 *   the scaling of the monitored value: kW is converted with the scaler_unit of the monitored
 *   attribute (attribute 2 names it) and written in the type the meter holds attribute 3 in.
 * - clear-limit: threshold_active set to the largest value of its type (0xFFFFFFFF for a
 *   double-long-unsigned). A threshold no load can exceed is how meters express "no limit";
 *   reading that value back gives `limitKw: null`.
 * - sync-clock: IC 8 attribute 2 written with the meter's own deviation (read first, so
 *   its time zone is kept), then read back.
 */
import type { DeviceCommand, DeviceControlState } from '../adapter.js';
import { ProtocolError } from '../adapter.js';
import type { DlmsData } from './axdr/data.js';
import { asNumber, asBytes } from './axdr/describe.js';
import { parseScalerUnit, readClock, readDisconnectState, remoteDisconnect, remoteReconnect, sameType, scaled, scalerAttributeOf, setClock, type CosemClient, type ScalerUnitCache } from './client/cosem.js';
import { COSEM_OBIS, fieldsOf, getValue } from './client/cosemAccess.js';
import { DataAccessError } from './client/errors.js';
import { INTERFACE_CLASSES } from './cosem/classes.js';
import { formatObis } from './cosem/obis.js';
import { catalogueExponent, unitSymbol } from './cosem/units.js';

/** The limiter watches something that cannot be expressed in kW (no scaler, or not a power unit). */
export class DlmsLimiterUnitError extends ProtocolError {
  readonly code = 'DLMS_LIMITER_UNIT';
}

export interface DeviceControlContext {
  readonly terminalId: string;
  /** Cache key of the meter for scaler_unit (`terminal/address`). */
  readonly meterKey: string;
  readonly scalers: ScalerUnitCache;
  readonly signal: AbortSignal;
}

const LIMITER = INTERFACE_CLASSES.limiter;
const THRESHOLD_ACTIVE = { classId: LIMITER.classId, obis: COSEM_OBIS.limiter, attribute: LIMITER.attributes.threshold_active } as const;
const MONITORED_VALUE = { classId: LIMITER.classId, obis: COSEM_OBIS.limiter, attribute: LIMITER.attributes.monitored_value } as const;

export async function executeDeviceCommand(client: CosemClient, command: DeviceCommand, ctx: DeviceControlContext): Promise<DeviceControlState> {
  const { signal } = ctx;
  switch (command.type) {
    case 'disconnect':
      await remoteDisconnect(client, { signal });
      return { connected: (await readDisconnectState(client, { signal })).outputState };
    case 'reconnect':
      await remoteReconnect(client, { signal });
      return { connected: (await readDisconnectState(client, { signal })).outputState };
    case 'set-limit':
    case 'clear-limit': {
      const exponent = await limiterExponent(client, ctx);
      const template = await getValue(client, THRESHOLD_ACTIVE, signal);
      const raw = command.type === 'clear-limit' ? noLimitOf(template) : kwToRaw(template, command.limitKw, exponent);
      const result = await client.set(THRESHOLD_ACTIVE, raw, signal);
      if (!result.ok) throw new DataAccessError(result.error, `set limiter threshold_active ${THRESHOLD_ACTIVE.obis}`);
      const back = await getValue(client, THRESHOLD_ACTIVE, signal);
      return { limitKw: isNoLimit(back) ? null : scaled(back, exponent) };
    }
    case 'read-state': {
      if (command.of === 'relay') return { connected: (await readDisconnectState(client, { signal })).outputState };
      const exponent = await limiterExponent(client, ctx);
      const back = await getValue(client, THRESHOLD_ACTIVE, signal);
      return { limitKw: isNoLimit(back) ? null : scaled(back, exponent) };
    }
    case 'sync-clock': {
      const before = await readClock(client, { signal, deviationIfUnspecified: 0 });
      await setClock(client, command.time, before.deviation ?? 0, { signal });
      return { clock: (await readClock(client, { signal, deviationIfUnspecified: 0 })).epochMs };
    }
  }
}

/** The power of ten that turns a raw threshold into kW: the monitored value's scaler plus its unit's. */
async function limiterExponent(client: CosemClient, ctx: DeviceControlContext): Promise<number> {
  const [classIdData, ln, attributeData] = fieldsOf(await getValue(client, MONITORED_VALUE, ctx.signal), 3, 'monitored_value');
  const classId = asNumber(classIdData, 'class_id');
  const obis = formatObis(asBytes(ln, 'logical_name'));
  const attribute = asNumber(attributeData, 'attribute_index');
  const scalerAttribute = scalerAttributeOf(classId, attribute);
  if (scalerAttribute === undefined) {
    throw new DlmsLimiterUnitError(`the limiter monitors ${classId}/${obis}/${attribute}, which has no scaler_unit`, ctx.terminalId);
  }
  let su = ctx.scalers.get(ctx.meterKey, obis);
  if (su === undefined) {
    su = parseScalerUnit(await getValue(client, { classId, obis, attribute: scalerAttribute }, ctx.signal));
    ctx.scalers.set(ctx.meterKey, obis, su);
  }
  const unitExponent = catalogueExponent(su.unit, 'kW');
  if (unitExponent === undefined) {
    throw new DlmsLimiterUnitError(`the limiter monitors ${obis} in ${unitSymbol(su.unit)}, not a power convertible to kW`, ctx.terminalId);
  }
  return su.scaler + unitExponent;
}

function kwToRaw(template: DlmsData, kw: number, exponent: number): DlmsData {
  const raw = kw / 10 ** exponent;
  const integral = template.type !== 'float32' && template.type !== 'float64';
  return sameType(template, integral ? Math.round(raw) : raw);
}

/** Largest value of each numeric type (A-XDR, IEC 62056-6-2 §4.1.5). */
const TYPE_MAX: Readonly<Partial<Record<DlmsData['type'], number | bigint>>> = {
  integer: 0x7f, long: 0x7fff, 'double-long': 0x7fffffff,
  unsigned: 0xff, 'long-unsigned': 0xffff, 'double-long-unsigned': 0xffffffff,
  long64: 0x7fffffffffffffffn, 'long64-unsigned': 0xffffffffffffffffn,
  float32: 3.4028234663852886e38, float64: Number.MAX_VALUE,
};

function noLimitOf(template: DlmsData): DlmsData {
  const max = TYPE_MAX[template.type];
  if (max === undefined) return sameType(template, 0); // sameType throws the encode error naming the type
  if (typeof max === 'bigint') return { type: template.type as 'long64' | 'long64-unsigned', value: max };
  return sameType(template, max);
}

function isNoLimit(d: DlmsData): boolean {
  const max = TYPE_MAX[d.type];
  if (max === undefined || !('value' in d)) return false;
  return typeof d.value === 'bigint' || typeof d.value === 'number' ? d.value >= max : false;
}
