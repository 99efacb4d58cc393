/** Shared set-up for the simulated DLMS meter tests: a meter, contexts and short accessors. */
import { expect } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { cosemDateTimeToEpochMs, encodeCosemDateTime, epochMsToCosemDateTime } from '../../../protocols/dlms/axdr/dateTime.js';
import { asArray, asDateTime, asNumber, asStructure } from '../../../protocols/dlms/axdr/describe.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import type { AccessContext, SelectiveAccess } from '../../../protocols/dlms/server/objectModel.js';
import { SimulatedDlmsMeter, type SimulatedDlmsMeterOptions } from '../../../simulators/dlms/meterObjects.js';

/** Sunday 2024-03-10 12:00 local time at UTC+01:00 (deviation −60). */
export const START = Date.UTC(2024, 2, 10, 11, 0, 0);
export const DEVIATION = -60;
export const MIN = 60_000;
export const QUARTER = 15 * MIN;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

export function newMeter(options: Partial<SimulatedDlmsMeterOptions> = {}): SimulatedDlmsMeter {
  return new SimulatedDlmsMeter({ seed: 42, startTs: START, serialNumber: '00012345', deviationMinutes: DEVIATION, customerType: 'residential', ...options });
}

export const management = (now: number): AccessContext => ({ clientSap: 1, authenticated: 'low', now });
export const publicClient = (now: number): AccessContext => ({ clientSap: 16, authenticated: 'none', now });

export function ref(classId: number, obis: string, attributeId: number) {
  return { classId, instanceId: parseObis(obis), attributeId };
}

export function method(classId: number, obis: string, methodId: number) {
  return { classId, instanceId: parseObis(obis), methodId };
}

/** The value of an attribute, failing the test when the meter answers with an error. */
export function read(meter: SimulatedDlmsMeter, classId: number, obis: string, attributeId: number, now: number, access?: SelectiveAccess): DlmsData {
  const r = meter.get(ref(classId, obis, attributeId), access, management(now));
  if (!r.ok) expect.fail(`${obis}:${attributeId} answered ${r.result}`);
  return r.data;
}

export const num = (d: DlmsData | undefined): number => asNumber(d ?? { type: 'null-data' });

/** The instant of a date-time Data (octet-string of 12 or date-time). */
export const instantOf = (d: DlmsData | undefined): number => cosemDateTimeToEpochMs(asDateTime(d ?? { type: 'null-data' }));

/** A date-time bound as a client sends it: an octet-string of 12, local time at the meter's deviation (or the deviation left unspecified). */
export const dateTimeBound = (ms: number, omitDeviation = false): DlmsData => ({
  type: 'octet-string',
  value: encodeCosemDateTime({ ...epochMsToCosemDateTime(ms, DEVIATION), deviation: omitDeviation ? undefined : DEVIATION }),
});

export function rows(d: DlmsData): (readonly DlmsData[])[] {
  return asArray(d).map((r) => asStructure(r));
}
