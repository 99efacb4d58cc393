/**
 * Test harness for the server engine: a small in-memory CosemObjectModel (a Map of attribute
 * values and a few methods), AARQ builders, and a `call` helper that sends one typed APDU and
 * decodes the answers.
 */
import { expect } from 'vitest';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { invokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import type { Aarq } from '../../../../protocols/dlms/acse/aarq.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../../../../protocols/dlms/acse/names.js';
import { LN_CLIENT_CONFORMANCE } from '../../../../protocols/dlms/acse/conformance.js';
import type {
  AccessContext, CosemAttributeDescriptor, CosemMethodDescriptor, CosemObjectModel, DataAccessResultName, GetResult,
  ModelActionOutcome, SelectiveAccess,
} from '../../../../protocols/dlms/server/objectModel.js';
import { ServerAssociation, type ServerAssociationOptions } from '../../../../protocols/dlms/server/engine.js';
import { ascii, ln } from '../apdu/helpers.js';

export const PUBLIC = 16;
export const MANAGEMENT = 1;
export const PASSWORD = '12345678';

export const CLOCK = { classId: 8, instanceId: ln('0.0.1.0.0.255'), attributeId: 2 };
export const ENERGY = { classId: 3, instanceId: ln('1.0.1.8.0.255'), attributeId: 2 };
export const PROFILE = { classId: 7, instanceId: ln('1.0.99.1.0.255'), attributeId: 2 };
export const UNKNOWN = { classId: 1, instanceId: ln('0.0.96.99.99.255'), attributeId: 2 };
export const DISCONNECT = { classId: 70, instanceId: ln('0.0.96.3.10.255'), methodId: 1 };
/** A method that echoes its parameters back as return parameters. */
export const ECHO = { classId: 1, instanceId: ln('0.0.96.50.0.255'), methodId: 1 };
/** An attribute and a method whose model code throws (a model bug). */
export const BROKEN = { classId: 1, instanceId: ln('0.0.96.66.0.255'), attributeId: 2 };
export const BROKEN_METHOD = { classId: 1, instanceId: ln('0.0.96.66.0.255'), methodId: 1 };

/** 500 profile rows: structure { octet-string(12) timestamp, double-long-unsigned, long-unsigned, enum }. */
export function bigProfile(rows = 500): DlmsData {
  return {
    type: 'array',
    value: Array.from({ length: rows }, (_, i): DlmsData => ({
      type: 'structure',
      value: [
        { type: 'octet-string', value: Uint8Array.of(0x07, 0xe8, 1, 1 + (i % 28), 1, i % 24, (i * 15) % 60, 0, 0, 0x80, 0, 0) },
        { type: 'double-long-unsigned', value: 100_000 + i * 37 },
        { type: 'long-unsigned', value: i },
        { type: 'enum', value: i % 4 },
      ],
    })),
  };
}

const key = (d: { classId: number; instanceId: Uint8Array }, index: number): string => `${d.classId}/${d.instanceId.join('.')}/${index}`;

/** A Map of attribute values; `calls` records what the engine asked for, to check access and context. */
export class FakeModel implements CosemObjectModel {
  readonly values = new Map<string, DlmsData>();
  readonly calls: { op: string; access?: SelectiveAccess; ctx: AccessContext }[] = [];
  relay = true;

  constructor() {
    this.values.set(key(CLOCK, 2), { type: 'octet-string', value: Uint8Array.of(0x07, 0xe8, 3, 1, 5, 12, 0, 0, 0, 0x80, 0, 0) });
    this.values.set(key(ENERGY, 2), { type: 'double-long-unsigned', value: 123_456 });
    this.values.set(key(PROFILE, 2), bigProfile());
  }

  get(ref: CosemAttributeDescriptor, access: SelectiveAccess | undefined, ctx: AccessContext): GetResult {
    this.calls.push({ op: `get ${key(ref, ref.attributeId)}`, ...(access === undefined ? {} : { access }), ctx });
    if (key(ref, ref.attributeId) === key(BROKEN, 2)) throw new Error('model bug');
    const v = this.values.get(key(ref, ref.attributeId));
    return v === undefined ? { ok: false, result: 'object-undefined' } : { ok: true, data: v };
  }

  set(ref: CosemAttributeDescriptor, value: DlmsData, ctx: AccessContext): DataAccessResultName {
    this.calls.push({ op: `set ${key(ref, ref.attributeId)}`, ctx });
    if (key(ref, ref.attributeId) === key(BROKEN, 2)) throw new Error('model bug');
    const k = key(ref, ref.attributeId);
    const old = this.values.get(k);
    if (old === undefined) return 'object-undefined';
    if (old.type !== value.type) return 'type-unmatched';
    this.values.set(k, value);
    return 'success';
  }

  action(ref: CosemMethodDescriptor, parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome {
    this.calls.push({ op: `action ${key(ref, ref.methodId)}`, ctx });
    const k = key(ref, ref.methodId);
    if (k === key(BROKEN_METHOD, 1)) throw new Error('model bug');
    if (k === key(DISCONNECT, 1)) {
      this.relay = false;
      return { result: 'success' };
    }
    if (k === key(ECHO, 1)) return { result: 'success', returnParameters: { ok: true, data: parameters ?? { type: 'null-data' } } };
    return { result: 'object-undefined' };
  }
}

export interface Server {
  readonly engine: ServerAssociation;
  readonly model: FakeModel;
  readonly errors: { error: unknown; where: string }[];
}

export function newServer(options: Partial<ServerAssociationOptions> = {}): Server {
  const model = new FakeModel();
  const errors: { error: unknown; where: string }[] = [];
  const engine = new ServerAssociation({
    model,
    clientPolicies: {
      [PUBLIC]: { mechanism: 'none', access: 'read-only' },
      [MANAGEMENT]: { mechanism: 'low', password: PASSWORD },
      17: { mechanism: 'low', password: 'other-secret' },
    },
    clock: () => 1_700_000_000_000,
    onError: (error, where) => errors.push({ error, where }),
    ...options,
  });
  return { engine, model, errors };
}

/** An AARQ for LN without ciphering; `password` selects LLS. */
export function aarq(opts: { password?: string; pdu?: number; version?: number; conformance?: number; mechanism?: string } = {}): Aarq {
  const lls = opts.password !== undefined || opts.mechanism !== undefined;
  return {
    type: 'aarq',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    authenticationRequired: lls,
    ...(lls ? { mechanismName: opts.mechanism ?? MECHANISM.low } : {}),
    ...(opts.password === undefined ? {} : { callingAuthenticationValue: ascii(opts.password) }),
    userInformation: {
      type: 'initiate-request',
      responseAllowed: true,
      proposedDlmsVersion: opts.version ?? 6,
      proposedConformance: opts.conformance ?? LN_CLIENT_CONFORMANCE,
      clientMaxReceivePduSize: opts.pdu ?? 1024,
    },
  };
}

/** Sends one APDU and decodes every answer (each must decode). */
export function call(engine: ServerAssociation, apdu: Apdu | Uint8Array, clientSap: number): Apdu[] {
  const bytes = apdu instanceof Uint8Array ? apdu : encodeApdu(apdu);
  return engine.receive(bytes, clientSap).map((b) => decodeApdu(b));
}

/** Sends one APDU and returns the single answer. */
export function one(engine: ServerAssociation, apdu: Apdu | Uint8Array, clientSap: number): Apdu {
  const out = call(engine, apdu, clientSap);
  expect(out).toHaveLength(1);
  return out[0]!;
}

/** Associates `clientSap` (LLS for the management client) and checks the AARE accepted it. */
export function associate(engine: ServerAssociation, clientSap: number, pdu = 1024): void {
  const answer = one(engine, aarq({ pdu, ...(clientSap === PUBLIC ? {} : { password: PASSWORD }) }), clientSap);
  expect(answer).toMatchObject({ type: 'aare', result: 'accepted' });
}

export const invoke = invokeIdAndPriority(5);
