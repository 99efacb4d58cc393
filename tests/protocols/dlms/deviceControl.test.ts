/**
 * Limiter threshold conversion (Blue Book §4.5.9: thresholds carry the monitored value's type
 * and scaling) against a meter that monitors a kW register with scaler −1 in long-unsigned,
 * and one that monitors an attribute with no scaler_unit. Sans-IO: a stand-in COSEM client.
 */
import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import type { CosemClient } from '../../../protocols/dlms/client/cosemAccess.js';
import type { GetResult } from '../../../protocols/dlms/client/client.js';
import { ScalerUnitCache } from '../../../protocols/dlms/client/scaler.js';
import type { AttributeRef } from '../../../protocols/dlms/client/refs.js';
import { formatObis, parseObis } from '../../../protocols/dlms/cosem/obis.js';
import { DlmsLimiterUnitError, executeDeviceCommand } from '../../../protocols/dlms/deviceControl.js';


/** A meter whose attributes live in a map keyed `class/obis/attribute`. */
function meter(attributes: Record<string, DlmsData>): { client: CosemClient; attributes: Record<string, DlmsData> } {
  const key = (r: AttributeRef) => `${r.classId}/${typeof r.obis === 'string' ? r.obis : formatObis(r.obis)}/${r.attribute}`;
  const get = (r: AttributeRef): GetResult => {
    const v = attributes[key(r)];
    return v === undefined ? { ok: false, error: 'object-undefined' } : { ok: true, value: v };
  };
  const client: CosemClient = {
    get: (r) => Promise.resolve(get(r)),
    getList: (refs) => Promise.resolve(refs.map(get)),
    set: (r, v) => {
      attributes[key(r)] = v;
      return Promise.resolve({ ok: true });
    },
    action: () => Promise.resolve({ ok: true }),
  };
  return { client, attributes };
}

const monitored = (classId: number, obis: string, attribute: number): DlmsData => ({
  type: 'structure', value: [{ type: 'long-unsigned', value: classId }, { type: 'octet-string', value: parseObis(obis) }, { type: 'integer', value: attribute }],
});
const ctx = () => ({ terminalId: 't', meterKey: 't/1', scalers: new ScalerUnitCache(), signal: new AbortController().signal });

describe('DLMS limiter threshold conversion', () => {
  it('writes kW in the monitored register\'s scaler and unit (W, scaler 1: raw = kW × 1000 / 10) and reads it back', async () => {
    const { client, attributes } = meter({
      '71/0.0.17.0.0.255/2': monitored(3, '1.0.1.7.0.255', 2),
      '71/0.0.17.0.0.255/3': { type: 'long-unsigned', value: 0xffff },
      '3/1.0.1.7.0.255/3': { type: 'structure', value: [{ type: 'integer', value: 1 }, { type: 'enum', value: 27 }] },
    });
    expect(await executeDeviceCommand(client, { type: 'set-limit', address: '1', limitKw: 12.5 }, ctx())).toEqual({ limitKw: 12.5 });
    expect(attributes['71/0.0.17.0.0.255/3']).toEqual({ type: 'long-unsigned', value: 1250 });
    expect(await executeDeviceCommand(client, { type: 'clear-limit', address: '1' }, ctx())).toEqual({ limitKw: null });
    expect(attributes['71/0.0.17.0.0.255/3']).toEqual({ type: 'long-unsigned', value: 0xffff });
  });

  it('keeps a float threshold unrounded', async () => {
    const { client, attributes } = meter({
      '71/0.0.17.0.0.255/2': monitored(3, '1.0.1.7.0.255', 2),
      '71/0.0.17.0.0.255/3': { type: 'float32', value: 0 },
      '3/1.0.1.7.0.255/3': { type: 'structure', value: [{ type: 'integer', value: 0 }, { type: 'enum', value: 27 }] },
    });
    await executeDeviceCommand(client, { type: 'set-limit', address: '1', limitKw: 0.0125 }, ctx());
    expect(attributes['71/0.0.17.0.0.255/3']).toEqual({ type: 'float32', value: 12.5 });
  });

  it('refuses a limiter that watches something without a power unit', async () => {
    const { client } = meter({
      '71/0.0.17.0.0.255/2': monitored(1, '0.0.96.1.0.255', 2),
      '71/0.0.17.0.0.255/3': { type: 'long-unsigned', value: 0 },
    });
    await expect(executeDeviceCommand(client, { type: 'set-limit', address: '1', limitKw: 1 }, ctx())).rejects.toBeInstanceOf(DlmsLimiterUnitError);
  });
});
