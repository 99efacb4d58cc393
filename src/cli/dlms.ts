/**
 * `gridhead dlms get|objects|image-transfer`: the field engineers' view of any DLMS/COSEM meter. It
 * connects (TCP wrapper or HDLC over TCP), associates, reads and prints ONE JSON document on
 * stdout, then releases. It assumes nothing about the meter beyond the standard: a class id
 * not given is looked up in the association's own object list (IC 15 attribute 2).
 *
 * Exit status: 0 done (an item the meter refused is reported in the JSON), 2 bad arguments,
 * 3 connection, association or image transfer failure (one line on stderr: the error's code and message).
 */
import { readFile } from 'node:fs/promises';
import { ProtocolError } from '../../protocols/adapter.js';
import { AssociationRejected } from '../../protocols/dlms/acse/diagnostics.js';
import type { CosemDateTime, DlmsData } from '../../protocols/dlms/axdr/data.js';
import { cosemDateTimeToEpochMs } from '../../protocols/dlms/axdr/dateTime.js';
import { asDateTime, dataToJson, type JsonValue } from '../../protocols/dlms/axdr/describe.js';
import { DlmsClient, type GetResult } from '../../protocols/dlms/client/client.js';
import { COSEM_OBIS, parseScalerUnit, readObjectList, scaled, scalerAttributeOf, type ObjectListEntry } from '../../protocols/dlms/client/cosem.js';
import { INTERFACE_CLASSES, interfaceClassOf } from '../../protocols/dlms/cosem/classes.js';
import { unitSymbol } from '../../protocols/dlms/cosem/units.js';
import { openDlmsTransport } from '../../protocols/dlms/net/clientTransport.js';
import { MemorySecurityCounters } from '../../protocols/dlms/security/memoryCounters.js';
import type { ClientSecurity } from '../../protocols/dlms/security/settings.js';
import {
  DLMS_USAGE, UsageError, parseDlmsArgs, type CliSecurity, type DlmsCommand, type ItemSpec, type MeterConnection,
} from './dlmsArgs.js';

export { DLMS_USAGE } from './dlmsArgs.js';

/** `gridhead dlms …` with the arguments after `dlms`; returns the exit status. */
export async function dlmsCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'help' || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(DLMS_USAGE);
    return 0;
  }
  let command: DlmsCommand;
  try {
    command = parseDlmsArgs(sub, rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`gridhead dlms: ${err.message}\n${DLMS_USAGE}`);
    return 2;
  }
  if (command.kind === 'image-transfer') return imageTransfer(command);
  try {
    const doc = await withAssociation(command.meter, (client) =>
      command.kind === 'get' ? readItems(client, command.items) : listObjects(client));
    const out = command.kind === 'get' ? { meter: meterJson(command.meter), items: doc } : doc;
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    process.stderr.write(`${oneLine(err)}\n`);
    return 3;
  }
}

/**
 * `image-transfer`: the image is read before anything touches the network (an unreadable file
 * is a bad argument, exit 2); a failure of the meter's ends with exit 3 and one line naming the
 * Blue Book result or status (dlmsImageTransfer.ts).
 */
async function imageTransfer(command: Extract<DlmsCommand, { kind: 'image-transfer' }>): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(command.transfer.file);
  } catch (err) {
    process.stderr.write(`gridhead dlms: --file: cannot read ${command.transfer.file}: ${(err as Error).message}\n`);
    return 2;
  }
  // Loaded only for this command, so `get` and `objects` start as fast as before.
  const { runImageTransfer } = await import('./dlmsImageTransfer.js');
  try {
    const doc = await withAssociation(command.meter, (client) => runImageTransfer(client, command.transfer, bytes, process.stderr));
    process.stdout.write(`${JSON.stringify({ meter: meterJson(command.meter), ...doc }, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stderr.write(`${oneLine(err)}\n`);
    return 3;
  }
}

/** Opens, associates, runs `body`, then releases; on failure the connection is closed. */
async function withAssociation<T>(m: MeterConnection, body: (client: DlmsClient) => Promise<T>): Promise<T> {
  const signal = new AbortController().signal;
  const transport = await openDlmsTransport({
    host: m.host, port: m.port, framing: m.framing, clientSap: m.client, serverSap: m.server,
    ...(m.lower === undefined ? {} : { serverLower: m.lower }), timeoutMs: m.timeoutMs,
  }, signal);
  const client = new DlmsClient(transport, {
    clientSap: m.client, timeoutMs: m.timeoutMs,
    auth: m.auth === 'low' ? { mechanism: 'low', password: m.password ?? '' } : { mechanism: m.auth },
    ...(m.security === undefined ? {} : { security: cliSecurity(m.security) }),
  });
  let result: T;
  try {
    await client.associate(signal);
    result = await body(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  const released = await client.release(signal);
  // The readings are good either way; a meter that does not confirm the release is worth a note.
  if (!released.ok) process.stderr.write(`gridhead dlms: release not confirmed: ${oneLine(released.error)}\n`);
  return result;
}

/** 2020-01-01T00:00:00Z: the epoch of the CLI's time-derived invocation counters. */
const COUNTER_EPOCH_MS = Date.UTC(2020, 0, 1);
/** Counter values per second of wall time: 2^32 / 8 s lasts until 2037. */
const COUNTERS_PER_SECOND = 8;

/**
 * The CLI keeps no store, yet a meter refuses a counter it has seen (Green Book
 * §9.2.7.2.4.2). So the first outgoing counter is derived from the clock: seconds since
 * 2020 × 8, plus a random 0..7, which stays above any earlier run's as long as runs are a
 * couple of seconds apart and each sends fewer than ~8 APDUs per second it lasted.
 */
export function firstCliCounter(now = Date.now(), random = Math.random): number {
  const seconds = Math.floor((now - COUNTER_EPOCH_MS) / 1000);
  return seconds * COUNTERS_PER_SECOND + Math.floor(random() * COUNTERS_PER_SECOND);
}

function cliSecurity(s: CliSecurity): ClientSecurity {
  return {
    protection: s.protection, systemTitle: s.systemTitle, keys: { ek: s.ek, ak: s.ak },
    counters: new MemorySecurityCounters(s.firstCounter ?? firstCliCounter()),
    ...(s.serverSystemTitle === undefined ? {} : { expectedServerSystemTitle: s.serverSystemTitle }),
    ...(s.dedicatedKey === true ? { useDedicatedKey: true } : {}),
    ...(s.ciphering === undefined ? {} : { ciphering: s.ciphering }),
  };
}

/** What was read for one item: the value as JSON (registers also scaled), or why not. */
export type ItemOutcome =
  | { readonly ok: true; readonly value: JsonValue; readonly scaled?: { readonly value: number; readonly unit: string }; readonly scalerError?: string }
  | { readonly ok: false; readonly error: string };
export type ItemResult = { readonly obis: string; readonly attribute: number; readonly classId: number | null } & ItemOutcome;

/** Reads each item in turn; a refused item is its own result, a broken association ends the run. */
async function readItems(client: DlmsClient, items: readonly ItemSpec[]): Promise<ItemResult[]> {
  const classes = items.some((i) => i.classId === undefined) ? await discoverClasses(client) : undefined;
  const out: ItemResult[] = [];
  for (const item of items) {
    const classId = item.classId ?? (classes?.ok === true ? classes.byObis.get(item.obis) : undefined);
    const base = { obis: item.obis, attribute: item.attribute, classId: classId ?? null };
    if (classId === undefined) {
      // Not in the association's object list: for this client the object does not exist.
      out.push({ ...base, ok: false, error: classes?.ok === false ? `class id unknown: ${classes.error}; give --class or @CLASS` : 'object-undefined' });
      continue;
    }
    try {
      out.push({ ...base, ...await readItem(client, item.obis, item.attribute, classId) });
    } catch (err) {
      // In step with the meter (a refusal, a value that does not decode): the next item may still be read.
      if (!(err instanceof ProtocolError) || client.state !== 'associated') throw err;
      out.push({ ...base, ok: false, error: oneLine(err) });
    }
  }
  return out;
}

type Discovery = { readonly ok: true; readonly byObis: ReadonlyMap<string, number> } | { readonly ok: false; readonly error: string };

async function discoverClasses(client: DlmsClient): Promise<Discovery> {
  try {
    const objects = await readObjectList(client, { obis: COSEM_OBIS.currentAssociation });
    const byObis = new Map<string, number>();
    for (const o of objects) if (!byObis.has(o.obis)) byObis.set(o.obis, o.classId);
    return { ok: true, byObis };
  } catch (err) {
    if (!(err instanceof ProtocolError) || client.state !== 'associated') throw err;
    return { ok: false, error: `object list unreadable (${oneLine(err)})` };
  }
}

async function readItem(client: DlmsClient, obis: string, attribute: number, classId: number): Promise<ItemOutcome> {
  const ref = { classId, obis, attribute };
  const scalerAttribute = scalerAttributeOf(classId, attribute);
  // A register's value and its scaler_unit travel together in one GET-with-list.
  const [value, scalerUnit]: (GetResult | undefined)[] = scalerAttribute === undefined
    ? [await client.get(ref)]
    : await client.getList([ref, { classId, obis, attribute: scalerAttribute }]);
  if (value === undefined) return { ok: false, error: 'no result' };
  if (!value.ok) return { ok: false, error: value.error };
  const json = valueJson(classId, attribute, value.value);
  if (scalerUnit === undefined) return { ok: true, value: json };
  if (!scalerUnit.ok) return { ok: true, value: json, scalerError: scalerUnit.error };
  return { ok: true, value: json, ...scaledValue(value.value, scalerUnit.value) };
}

function scaledValue(raw: DlmsData, scalerUnit: DlmsData): { scaled: { value: number; unit: string } } | { scalerError: string } {
  try {
    const su = parseScalerUnit(scalerUnit);
    return { scaled: { value: scaled(raw, su.scaler), unit: unitSymbol(su.unit) } };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { scalerError: oneLine(err) };
  }
}

const { clock, extendedRegister, demandRegister } = INTERFACE_CLASSES;

/**
 * Attributes the Blue Book types as date-time, which meters send as an octet-string of 12
 * (IEC 62056-6-2 §4.1.6.1); shown as time rather than hex. The clock's time gets more.
 */
const DATE_TIME_ATTRIBUTES: ReadonlyMap<number, readonly number[]> = new Map([
  [extendedRegister.classId, [extendedRegister.attributes.capture_time]],
  [demandRegister.classId, [demandRegister.attributes.capture_time, demandRegister.attributes.start_time_current]],
  [clock.classId, [clock.attributes.daylight_savings_begin, clock.attributes.daylight_savings_end]],
]);

function valueJson(classId: number, attribute: number, raw: DlmsData): JsonValue {
  if (classId === clock.classId && attribute === clock.attributes.time) return clockJson(asDateTime(raw, 'clock time'));
  if (DATE_TIME_ATTRIBUTES.get(classId)?.includes(attribute) === true && raw.type === 'octet-string' && raw.value.length === 12) {
    return dataToJson({ type: 'date-time', value: asDateTime(raw) });
  }
  return dataToJson(raw);
}

/**
 * Clock time (IC 8 attribute 2): local time as ISO 8601 with its UTC offset, plus the COSEM
 * deviation (minutes, UTC = local + deviation), the clock status and the instant in UTC
 * when the meter's fields name one.
 */
function clockJson(dt: CosemDateTime): JsonValue {
  const time = dataToJson({ type: 'date-time', value: dt });
  const instant = typeof time === 'string' && dt.deviation !== undefined ? new Date(cosemDateTimeToEpochMs(dt)).toISOString() : null;
  return { time, utc: instant, deviation: dt.deviation ?? null, clockStatus: dt.clockStatus ?? null };
}

/** attribute_access_mode and method_access_mode names (Blue Book IC 15, object_list). */
const ATTRIBUTE_ACCESS = [
  'no-access', 'read-only', 'write-only', 'read-and-write',
  'authenticated-read-only', 'authenticated-write-only', 'authenticated-read-and-write',
] as const;
const METHOD_ACCESS = ['no-access', 'access', 'authenticated-access'] as const;

async function listObjects(client: DlmsClient): Promise<JsonValue> {
  return (await readObjectList(client, { obis: COSEM_OBIS.currentAssociation })).map(objectJson);
}

function objectJson(o: ObjectListEntry): JsonValue {
  const className = interfaceClassOf(o.classId);
  return {
    classId: o.classId,
    ...(className === undefined ? {} : { className }),
    version: o.version,
    obis: o.obis,
    attributes: o.attributeAccess.map((a) => ({
      id: a.attribute, access: ATTRIBUTE_ACCESS[a.access] ?? `unknown(${a.access})`,
      ...(a.selectors === undefined ? {} : { selectors: a.selectors }),
    })),
    methods: o.methodAccess.map((m) => ({ id: m.method, access: METHOD_ACCESS[m.access] ?? `unknown(${m.access})` })),
  };
}

function meterJson(m: MeterConnection): JsonValue {
  return { host: m.host, port: m.port, framing: m.framing, client: m.client, server: m.server, ...(m.lower === undefined ? {} : { lower: m.lower }) };
}

/** `CODE: message` on one line; an association refusal leads with its diagnostic. */
function oneLine(err: Error): string {
  const code = err instanceof ProtocolError ? err.code : err.name;
  const message = err instanceof AssociationRejected ? `${err.diagnosticName} (${err.message})` : err.message;
  return `${code}: ${message}`.replace(/\s*\n\s*/g, ' ');
}
