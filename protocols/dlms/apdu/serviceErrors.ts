/**
 * The two error APDUs a DLMS server answers with when it cannot even attempt a service:
 * ConfirmedServiceError (tag 14, IEC 62056-5-3 §8.5 / Green Book §9.5 ASN.1, also the
 * answer to a refused InitiateRequest inside an AARE) and ExceptionResponse (tag 216,
 * state-error + service-error).
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import { keyOf } from './results.js';

/** ConfirmedServiceError CHOICE: which service failed. Only initiateError matters to a LN client. */
export const CONFIRMED_SERVICE = {
  initiateError: 1, getStatus: 2, getNameList: 3, getVariableAttribute: 4, read: 5, write: 6,
  getDataSetAttribute: 7, getTIAttribute: 8, changeScope: 9, start: 10, stop: 11, resume: 12,
  makeUsable: 13, initiateLoad: 14, loadSegment: 15, terminateLoad: 16, initiateUpLoad: 17,
  upLoadSegment: 18, terminateUpLoad: 19,
} as const;
export type ConfirmedService = keyof typeof CONFIRMED_SERVICE;

/** ServiceError CHOICE: the class of error and, per class, the named ENUMERATED values. */
export const SERVICE_ERROR = {
  'application-reference': { tag: 0, values: ['other', 'time-elapsed', 'application-unreachable', 'application-reference-invalid', 'application-context-unsupported', 'provider-communication-error', 'deciphering-error'] },
  'hardware-resource': { tag: 1, values: ['other', 'memory-unavailable', 'processor-resource-unavailable', 'mass-storage-unavailable', 'other-resource-unavailable'] },
  'vde-state-error': { tag: 2, values: ['other', 'no-dlms-context', 'loading-data-set', 'status-nochange', 'status-inoperable'] },
  service: { tag: 3, values: ['other', 'pdu-size', 'service-unsupported'] },
  definition: { tag: 4, values: ['other', 'object-undefined', 'object-class-inconsistent', 'object-attribute-inconsistent'] },
  access: { tag: 5, values: ['other', 'scope-of-access-violated', 'object-access-violated', 'hardware-fault', 'object-unavailable'] },
  initiate: { tag: 6, values: ['other', 'dlms-version-too-low', 'incompatible-conformance', 'pdu-size-too-short', 'refused-by-the-VDE-Handler'] },
  'load-data-set': { tag: 7, values: ['other', 'primitive-out-of-sequence', 'not-loadable', 'dataset-size-too-large', 'not-awaited-segment', 'interpretation-failure', 'storage-failure', 'data-set-not-ready'] },
  task: { tag: 9, values: ['other', 'no-remote-control', 'ti-stopped', 'ti-running', 'ti-unusable'] },
  other: { tag: 10, values: ['other'] },
} as const satisfies Record<string, { tag: number; values: readonly string[] }>;
export type ServiceErrorClass = keyof typeof SERVICE_ERROR;

export interface ConfirmedServiceError {
  readonly type: 'confirmed-service-error';
  readonly service: ConfirmedService;
  readonly errorClass: ServiceErrorClass;
  /** The ENUMERATED value; see `serviceErrorName` for its name. */
  readonly value: number;
}

/** ExceptionResponse state-error (Green Book §9.5: [0] IMPLICIT ENUMERATED). */
export const STATE_ERROR = { 'service-not-allowed': 1, 'service-unknown': 2 } as const;
export type StateError = keyof typeof STATE_ERROR;

/** ExceptionResponse service-error; invocation-counter-error carries the expected counter. */
export const EXCEPTION_SERVICE_ERROR = {
  'operation-not-possible': 1, 'service-not-supported': 2, 'other-reason': 3, 'pdu-too-long': 4,
  'deciphering-error': 5, 'invocation-counter-error': 6,
} as const;
export type ExceptionServiceError = keyof typeof EXCEPTION_SERVICE_ERROR;

export interface ExceptionResponse {
  readonly type: 'exception-response';
  readonly stateError: StateError;
  readonly serviceError: ExceptionServiceError;
  /** Only with invocation-counter-error (Green Book Ed. 9+: [6] IMPLICIT Unsigned32), when sent. */
  readonly invocationCounter?: number;
}

/** The name of a ServiceError value, e.g. `initiate: dlms-version-too-low`. */
export function serviceErrorName(e: Pick<ConfirmedServiceError, 'errorClass' | 'value'>): string {
  const values: readonly string[] = SERVICE_ERROR[e.errorClass].values;
  return `${e.errorClass}: ${values[e.value] ?? `unknown(${e.value})`}`;
}

/** Reads ConfirmedServiceError after its tag byte. */
export function readConfirmedServiceError(r: ByteReader): ConfirmedServiceError {
  const at = r.offset;
  const serviceTag = r.u8('confirmed-service-error service');
  const service = keyOf(CONFIRMED_SERVICE, serviceTag);
  if (service === undefined) return r.fail(`unknown ConfirmedServiceError choice ${serviceTag}`, at);
  const classTag = r.u8('service-error class');
  const errorClass = (Object.keys(SERVICE_ERROR) as ServiceErrorClass[]).find((k) => SERVICE_ERROR[k].tag === classTag);
  if (errorClass === undefined) return r.fail(`unknown ServiceError choice ${classTag}`, at + 1);
  return { type: 'confirmed-service-error', service, errorClass, value: r.u8('service-error value') };
}

export function writeConfirmedServiceError(w: ByteWriter, e: ConfirmedServiceError): void {
  if (!Number.isInteger(e.value) || e.value < 0 || e.value > 0xff) {
    throw new DlmsEncodeError('apdu', `service-error value ${e.value} is not an ENUMERATED octet`);
  }
  w.u8(CONFIRMED_SERVICE[e.service]).u8(SERVICE_ERROR[e.errorClass].tag).u8(e.value);
}

/** Reads ExceptionResponse after its tag byte. */
export function readExceptionResponse(r: ByteReader): ExceptionResponse {
  const at = r.offset;
  const stateError = keyOf(STATE_ERROR, r.u8('state-error'));
  if (stateError === undefined) return r.fail('unknown exception state-error', at);
  const serviceError = keyOf(EXCEPTION_SERVICE_ERROR, r.u8('service-error'));
  if (serviceError === undefined) return r.fail('unknown exception service-error', at + 1);
  // Older servers send invocation-counter-error without the counter, so it is optional here.
  if (serviceError === 'invocation-counter-error' && r.remaining >= 4) {
    return { type: 'exception-response', stateError, serviceError, invocationCounter: r.u32('invocation counter') };
  }
  return { type: 'exception-response', stateError, serviceError };
}

export function writeExceptionResponse(w: ByteWriter, e: ExceptionResponse): void {
  w.u8(STATE_ERROR[e.stateError]).u8(EXCEPTION_SERVICE_ERROR[e.serviceError]);
  if (e.invocationCounter !== undefined) {
    if (e.serviceError !== 'invocation-counter-error') {
      throw new DlmsEncodeError('apdu', 'an invocation counter goes only with invocation-counter-error');
    }
    w.u32(e.invocationCounter);
  }
}
