/**
 * What a DLMS meter says it is: the COSEM logical device name (whose first three characters
 * are the manufacturer's FLAG id, IEC 62056-6-2 / DLMS UA), serial, model, hardware version
 * and the active firmware identifier and signature, each an IC 1 Data object whose name the
 * meter type may configure. All in one GET-with-list; an object the meter lacks (not in its
 * object list, or answered object-undefined) leaves its field absent.
 */
import type { DeviceNameplate } from '../adapter.js';
import type { DataAccessResult } from './apdu/results.js';
import { DLMS_METER_OBJECTS, type DlmsMeterObjectNames } from './config.js';
import { cosemHex, cosemText } from './client/imageActivation.js';
import type { CosemClient } from './client/cosemAccess.js';
import { DataAccessError } from './client/errors.js';
import { INTERFACE_CLASSES } from './cosem/classes.js';

const FIELDS = ['logicalDeviceName', 'serial', 'model', 'hardwareVersion', 'firmwareIdentifier', 'firmwareSignature'] as const;
const ABSENT: ReadonlySet<DataAccessResult> = new Set(['object-undefined', 'object-class-inconsistent']);
const DATA = INTERFACE_CLASSES.data;

export async function readDlmsNameplate(
  client: CosemClient, classes: ReadonlyMap<string, number>, objects: Partial<DlmsMeterObjectNames> = {},
  options: { readonly signal?: AbortSignal; readonly terminalId?: string } = {},
): Promise<DeviceNameplate> {
  const names = { ...DLMS_METER_OBJECTS, ...objects };
  const listed = FIELDS.filter((f) => classes.has(names[f]));
  const refs = listed.map((f) => ({ classId: classes.get(names[f]) ?? DATA.classId, obis: names[f], attribute: DATA.attributes.value }));
  const results = refs.length === 0 ? [] : await client.getList(refs, options.signal);
  const found: Partial<Record<(typeof FIELDS)[number], string>> = {};
  listed.forEach((field, i) => {
    const r = results[i];
    if (r === undefined || (!r.ok && ABSENT.has(r.error))) return;
    if (!r.ok) throw new DataAccessError(r.error, `get ${field} ${names[field]}`, options.terminalId);
    if (r.value.type === 'null-data') return;
    found[field] = field === 'firmwareSignature' ? cosemHex(r.value) : cosemText(r.value).trim();
  });
  const { logicalDeviceName, serial, model, hardwareVersion, firmwareIdentifier, firmwareSignature } = found;
  return {
    ...(logicalDeviceName === undefined || logicalDeviceName.length < 3 ? {} : { manufacturer: logicalDeviceName.slice(0, 3) }),
    ...(model === undefined ? {} : { model }),
    ...(serial === undefined ? {} : { serial }),
    ...(firmwareIdentifier === undefined ? {} : { firmwareVersion: firmwareIdentifier }),
    ...(firmwareSignature === undefined ? {} : { firmwareSignature }),
    ...(hardwareVersion === undefined ? {} : { hardwareVersion }),
  };
}
