/**
 * The arguments of `gridhead dlms get|objects|image-transfer`, checked before anything touches the network:
 * every problem becomes a UsageError whose message names the option (exit status 2).
 */
import { parseArgs } from 'node:util';
import { formatObis, parseObis } from '../../protocols/dlms/cosem/obis.js';
import type { DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import type { CipheringForm } from '../../protocols/dlms/security/settings.js';

export const DLMS_USAGE = `usage:
  gridhead dlms get     CONNECTION [--class N] OBIS:ATTR[@CLASS] ...   read attributes, print JSON
  gridhead dlms objects CONNECTION                                     print the object list as JSON
  gridhead dlms image-transfer CONNECTION --file F --identifier ID [--activate | --activate-at ISO] [--resume] [--block-timeout MS]
                                                                       send a firmware image (IC 18), verify it, optionally activate it
CONNECTION:
  --host H                 meter or gateway address (required)
  --port P                 TCP port, 1..65535 (required; 4059 is the registered DLMS/COSEM port)
  --framing wrapper|hdlc   TCP wrapper (IEC 62056-47) or HDLC over TCP (IEC 62056-46) (required)
  --client N               client SAP, 0..127 (default 16, the public client)
  --server N               server logical device / HDLC upper address, 0..16383 (default 1)
  --lower N                HDLC lower (physical device) address, 0..16383 (hdlc only)
  --auth none|low|high-gmac  authentication (default none, or low when --password is given)
  --password X             low-level security (LLS) password
  --security none|auth|enc|auth-enc  APDU protection, suite 0 (default auth-enc with high-gmac, else none)
  --system-title HEX       our system title, 16 hex digits (default 4752440000000001: "GRD", serial 1)
  --server-system-title HEX  the meter's system title, 16 hex digits; another one is refused
  --dedicated-key          propose a fresh dedicated key and ded-cipher the requests (needs --security enc|auth-enc)
  --ciphering service-specific|general-glo  how requests are ciphered: glo-get-request etc. (default) or general-glo-ciphering
  --ek HEX --ak HEX        global unicast encryption and authentication keys, 32 hex digits each
  --invocation-counter N   first outgoing invocation counter, 0..4294967295 (default derived from the clock)
  --timeout-ms N           bound on the connect and on every request, 1..600000 (default 5000)
get:
  --class N                class id of the items without @CLASS; else looked up in the object list
  OBIS:ATTR[@CLASS]        e.g. 1.0.1.8.0.255:2  1-0:1.8.0*255:2@3  0.0.1.0.0.255:2@8
image-transfer:
  --file F                 the image file (required)
  --identifier ID          image_identifier, as text (required)
  --activate               activate now once verified, then read the active firmware back
  --activate-at ISO        activate at that instant (e.g. 2026-12-08T02:00:00Z) through the Single action schedule (IC 22)
  --resume                 continue a transfer of this image the meter already holds in part (no new initiate)
  --block-timeout MS       bound on each block's round trip, 1..600000 (default: --timeout-ms)
exit status: 0 done (per-item failures are in the JSON), 2 bad arguments, 3 connection, association or transfer failure
`;

/** A command line argument the command cannot use; the message names the option. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** Our system title when --system-title is not given: "GRD" (manufacturer id) and serial 1. */
export const DEFAULT_SYSTEM_TITLE = '4752440000000001';

export type CliProtection = 'none' | 'auth' | 'enc' | 'auth-enc';

/** Security suite 0 settings from the command line (HLS-GMAC and/or APDU protection). */
export interface CliSecurity {
  readonly protection: CliProtection;
  readonly systemTitle: Uint8Array;
  readonly serverSystemTitle: Uint8Array | undefined;
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /** --invocation-counter; undefined: derived from the clock (see firstCliCounter). */
  readonly firstCounter: number | undefined;
  /** --dedicated-key: present (true) only when given. */
  readonly dedicatedKey?: boolean;
  /** --ciphering: present only when given. */
  readonly ciphering?: CipheringForm;
}

export interface MeterConnection {
  readonly host: string;
  readonly port: number;
  readonly framing: DlmsFraming;
  readonly client: number;
  readonly server: number;
  readonly lower: number | undefined;
  readonly password: string | undefined;
  readonly auth: 'none' | 'low' | 'high-gmac';
  /** Present with --auth high-gmac or --security other than none. */
  readonly security: CliSecurity | undefined;
  readonly timeoutMs: number;
}

/** One OBIS:ATTR[@CLASS] argument; classId undefined means "look it up in the object list". */
export interface ItemSpec {
  readonly obis: string;
  readonly attribute: number;
  readonly classId: number | undefined;
}

/** `gridhead dlms image-transfer`: what to send and what to do once the meter verified it. */
export interface ImageTransferSpec {
  readonly file: string;
  readonly identifier: string;
  /** none: verify only; now: image_activate; at: IC 22 execution_time (ms since the epoch). */
  readonly activation: { readonly at: 'none' } | { readonly at: 'now' } | { readonly at: 'scheduled'; readonly time: number };
  readonly resume: boolean;
  readonly blockTimeoutMs: number | undefined;
}

export type DlmsCommand =
  | { readonly kind: 'get'; readonly meter: MeterConnection; readonly items: readonly ItemSpec[] }
  | { readonly kind: 'objects'; readonly meter: MeterConnection }
  | { readonly kind: 'image-transfer'; readonly meter: MeterConnection; readonly transfer: ImageTransferSpec };

export function parseDlmsArgs(sub: string | undefined, args: readonly string[]): DlmsCommand {
  if (sub !== 'get' && sub !== 'objects' && sub !== 'image-transfer') {
    throw new UsageError(sub === undefined ? 'expected get, objects or image-transfer' : `unknown subcommand ${JSON.stringify(sub)}`);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args], strict: true, allowPositionals: sub === 'get',
      options: { ...CONNECTION_OPTIONS, ...(sub === 'get' ? { class: { type: 'string' } } : {}), ...(sub === 'image-transfer' ? IMAGE_TRANSFER_OPTIONS : {}) },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Partial<Record<string, string>>;
  const meter = parseConnection(v, (parsed.values as Partial<Record<string, unknown>>)['dedicated-key'] === true);
  if (sub === 'objects') return { kind: 'objects', meter };
  if (sub === 'image-transfer') return { kind: 'image-transfer', meter, transfer: parseImageTransfer(parsed.values) };
  const defaultClass = v.class === undefined ? undefined : integer('--class', v.class, 0, 0xffff);
  if (parsed.positionals.length === 0) throw new UsageError('get: give at least one OBIS:ATTR to read');
  return { kind: 'get', meter, items: parsed.positionals.map((p) => parseItem(p, defaultClass)) };
}

const CONNECTION_OPTIONS = {
  host: { type: 'string' }, port: { type: 'string' }, framing: { type: 'string' },
  client: { type: 'string' }, server: { type: 'string' }, lower: { type: 'string' },
  auth: { type: 'string' }, password: { type: 'string' }, 'timeout-ms': { type: 'string' },
  security: { type: 'string' }, 'system-title': { type: 'string' }, 'server-system-title': { type: 'string' },
  ek: { type: 'string' }, ak: { type: 'string' }, 'invocation-counter': { type: 'string' },
  'dedicated-key': { type: 'boolean' }, ciphering: { type: 'string' },
} as const;

const IMAGE_TRANSFER_OPTIONS = {
  file: { type: 'string' }, identifier: { type: 'string' }, activate: { type: 'boolean' }, 'activate-at': { type: 'string' },
  resume: { type: 'boolean' }, 'block-timeout': { type: 'string' },
} as const;

function parseImageTransfer(v: Partial<Record<string, string | boolean>>): ImageTransferSpec {
  const text = (o: string): string | undefined => (typeof v[o] === 'string' ? v[o] : undefined);
  const file = text('file');
  const identifier = text('identifier');
  if (file === undefined || file === '') throw new UsageError('image-transfer: --file is required');
  // image_identifier is an octet-string; a double-long-unsigned bounds nothing here, a PDU does: keep it short.
  if (identifier === undefined || identifier === '' || Buffer.byteLength(identifier) > 255) throw new UsageError('image-transfer: --identifier is required, 1..255 octets');
  const at = text('activate-at');
  if (at !== undefined && v.activate === true) throw new UsageError('image-transfer: give --activate or --activate-at, not both');
  let activation: ImageTransferSpec['activation'] = { at: v.activate === true ? 'now' : 'none' };
  if (at !== undefined) {
    const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(at) ? Date.parse(at) : NaN;
    if (Number.isNaN(time)) throw new UsageError(`--activate-at: expected an ISO 8601 instant with its offset (e.g. 2026-12-08T02:00:00Z), got ${JSON.stringify(at)}`);
    activation = { at: 'scheduled', time };
  }
  const blockTimeout = text('block-timeout');
  return {
    file, identifier, activation, resume: v.resume === true,
    blockTimeoutMs: blockTimeout === undefined ? undefined : integer('--block-timeout', blockTimeout, 1, 600_000),
  };
}

function parseConnection(v: Partial<Record<string, string>>, dedicatedKey: boolean): MeterConnection {
  if (v.host === undefined || v.host.trim() === '') throw new UsageError('--host is required');
  if (v.port === undefined) throw new UsageError('--port is required');
  if (v.framing !== 'wrapper' && v.framing !== 'hdlc') {
    throw new UsageError(v.framing === undefined ? '--framing is required (wrapper or hdlc)' : `--framing: expected wrapper or hdlc, got ${JSON.stringify(v.framing)}`);
  }
  if (v.lower !== undefined && v.framing !== 'hdlc') throw new UsageError('--lower applies to --framing hdlc only');
  const auth = v.auth ?? (v.password === undefined ? 'none' : 'low');
  if (auth !== 'none' && auth !== 'low' && auth !== 'high-gmac') throw new UsageError(`--auth: expected none, low or high-gmac, got ${JSON.stringify(auth)}`);
  if (auth === 'low' && v.password === undefined) throw new UsageError('--auth low needs --password');
  if (auth === 'none' && v.password !== undefined) throw new UsageError('--password needs --auth low (or no --auth)');
  if (auth === 'high-gmac' && v.password !== undefined) throw new UsageError('--password is for --auth low; HLS-GMAC uses --ak');
  return {
    host: v.host.trim(),
    port: integer('--port', v.port, 1, 65_535),
    framing: v.framing,
    // IEC 62056-46 §6.4.2: the client address is one octet of 7 bits; server addresses are up to 14 bits.
    client: v.client === undefined ? 16 : integer('--client', v.client, 0, 127),
    server: v.server === undefined ? 1 : integer('--server', v.server, 0, 0x3fff),
    lower: v.lower === undefined ? undefined : integer('--lower', v.lower, 0, 0x3fff),
    password: v.password,
    auth,
    security: parseSecurity(v, auth, dedicatedKey),
    timeoutMs: v['timeout-ms'] === undefined ? 5_000 : integer('--timeout-ms', v['timeout-ms'], 1, 600_000),
  };
}

function parseSecurity(v: Partial<Record<string, string>>, auth: MeterConnection['auth'], dedicatedKey: boolean): CliSecurity | undefined {
  const protection = v.security ?? (auth === 'high-gmac' ? 'auth-enc' : 'none');
  if (protection !== 'none' && protection !== 'auth' && protection !== 'enc' && protection !== 'auth-enc') {
    throw new UsageError(`--security: expected none, auth, enc or auth-enc, got ${JSON.stringify(protection)}`);
  }
  // The dedicated key travels in the ciphered InitiateRequest: only encryption keeps it secret.
  if (dedicatedKey && protection !== 'enc' && protection !== 'auth-enc') throw new UsageError('--dedicated-key needs --security enc or auth-enc');
  const ciphering = v.ciphering;
  if (ciphering !== undefined && ciphering !== 'service-specific' && ciphering !== 'general-glo') {
    throw new UsageError(`--ciphering: expected service-specific or general-glo, got ${JSON.stringify(ciphering)}`);
  }
  if (ciphering !== undefined && protection === 'none') throw new UsageError('--ciphering needs --security auth, enc or auth-enc');
  // General-glo-ciphering is under the global key; with a dedicated key the requests are ded-ciphered.
  if (ciphering === 'general-glo' && dedicatedKey) throw new UsageError('--ciphering general-glo cannot go with --dedicated-key');
  if (auth !== 'high-gmac' && protection === 'none') {
    for (const o of ['ek', 'ak', 'system-title', 'server-system-title', 'invocation-counter']) {
      if (v[o] !== undefined) throw new UsageError(`--${o} needs --auth high-gmac or --security auth|enc|auth-enc`);
    }
    return undefined;
  }
  if (v.ek === undefined || v.ak === undefined) throw new UsageError(`${auth === 'high-gmac' ? '--auth high-gmac' : `--security ${protection}`} needs --ek and --ak`);
  return {
    protection,
    systemTitle: hexOption('--system-title', v['system-title'] ?? DEFAULT_SYSTEM_TITLE, 8),
    serverSystemTitle: v['server-system-title'] === undefined ? undefined : hexOption('--server-system-title', v['server-system-title'], 8),
    ek: hexOption('--ek', v.ek, 16),
    ak: hexOption('--ak', v.ak, 16),
    firstCounter: v['invocation-counter'] === undefined ? undefined : integer('--invocation-counter', v['invocation-counter'], 0, 0xffffffff),
    ...(dedicatedKey ? { dedicatedKey: true } : {}),
    ...(ciphering === undefined ? {} : { ciphering }),
  };
}

/** Exactly `octets` octets in hex (spaces and colons allowed between digits). */
function hexOption(option: string, text: string, octets: number): Uint8Array {
  const digits = text.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length !== octets * 2) {
    throw new UsageError(`${option}: expected ${octets * 2} hex digits (${octets} octets), got ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/**
 * OBIS:ATTR[@CLASS]. The attribute follows the LAST colon, since the display form of OBIS
 * (A-B:C.D.E*F) has a colon of its own. Attribute ids are Integer8: negative ones are
 * manufacturer-specific (Blue Book §4.1.2), 0 names no attribute.
 */
export function parseItem(text: string, defaultClass: number | undefined): ItemSpec {
  const at = text.lastIndexOf('@');
  const head = at < 0 ? text : text.slice(0, at);
  const colon = head.lastIndexOf(':');
  const attrText = colon < 0 ? '' : head.slice(colon + 1);
  if (colon < 0 || !/^-?\d+$/.test(attrText)) throw new UsageError(`${JSON.stringify(text)}: expected OBIS:ATTR[@CLASS], e.g. 1.0.1.8.0.255:2`);
  let obis: string;
  try {
    obis = formatObis(parseObis(head.slice(0, colon)));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const attribute = integer(`${text}: attribute`, attrText, -128, 127);
  if (attribute === 0) throw new UsageError(`${JSON.stringify(text)}: attribute 0 names no attribute`);
  const classId = at < 0 ? defaultClass : integer(`${text}: class`, text.slice(at + 1), 0, 0xffff);
  return { obis, attribute, classId };
}

function integer(option: string, text: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option}: expected an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}
