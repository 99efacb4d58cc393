/**
 * What the GET, SET and ACTION handlers share: the object model, the association, the
 * request's access context, the limits, the pending block transfers, and the guarded calls
 * into the model. A model that throws, or answers with something that cannot be encoded,
 * is a bug in the model, not in the request: the item is answered with hardware-fault
 * (the device could not serve it) and the error goes to `fault`, never out of receive().
 */
import type { DlmsData } from '../axdr/data.js';
import { encodeData } from '../axdr/codec.js';
import { ACTION_RESULT, DATA_ACCESS_RESULT, type DataAccessResult } from '../apdu/results.js';
import type { CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess } from '../apdu/descriptors.js';
import type { GetDataResult } from '../apdu/get.js';
import type { ActionOutcome } from '../apdu/action.js';
import type { ExceptionResponse, ExceptionServiceError, StateError } from '../apdu/serviceErrors.js';
import type { AccessContext, CosemObjectModel } from './objectModel.js';
import type { AssociationContext } from './association.js';
import type { ServerLimits } from './options.js';
import type { LongGet, LongSet } from './blocks.js';

/** The block transfers in progress on this association; a new request abandons them. */
export interface PendingTransfers {
  get: LongGet | undefined;
  set: LongSet | undefined;
}

export interface ServiceEnv {
  readonly model: CosemObjectModel;
  readonly session: AssociationContext;
  readonly access: AccessContext;
  readonly limits: ServerLimits;
  readonly pending: PendingTransfers;
  /** Reports a fault of the model or the engine (never a client's mistake). */
  readonly fault: (error: unknown, where: string) => void;
}

/** A Get-Data-Result with its A-XDR encoding, so sizes are known before a response is built. */
export interface EncodedResult {
  readonly result: GetDataResult;
  /** Get-Data-Result as sent: 0x00 + Data, or 0x01 + Data-Access-Result. */
  readonly encoded: Uint8Array;
}

/** GET of one attribute through the model. */
export function readAttribute(env: ServiceEnv, ref: CosemAttributeDescriptor, access: SelectiveAccess | undefined): EncodedResult {
  let outcome: GetDataResult;
  try {
    outcome = env.model.get(ref, access, env.access);
  } catch (e) {
    env.fault(e, 'model.get');
    return failed('hardware-fault');
  }
  if (!outcome.ok) return knownResult(outcome.result) ? failed(outcome.result) : faulty(env, 'model.get', outcome.result);
  const data = encodeResult(env, outcome.data, 'model.get');
  return data === undefined ? failed('hardware-fault') : { result: outcome, encoded: data };
}

/** SET of one attribute through the model. */
export function writeAttribute(env: ServiceEnv, ref: CosemAttributeDescriptor, value: DlmsData): DataAccessResult {
  try {
    const result = env.model.set(ref, value, env.access);
    if (knownResult(result)) return result;
    env.fault(new TypeError(`model.set answered with unknown result ${String(result)}`), 'model.set');
  } catch (e) {
    env.fault(e, 'model.set');
  }
  return 'hardware-fault';
}

/** ACTION of one method through the model; return parameters are checked to be encodable. */
export function invokeMethod(env: ServiceEnv, ref: CosemMethodDescriptor, parameters: DlmsData | undefined): ActionOutcome {
  let outcome: ActionOutcome;
  try {
    outcome = env.model.action(ref, parameters, env.access);
  } catch (e) {
    env.fault(e, 'model.action');
    return { result: 'hardware-fault' };
  }
  if (!Object.hasOwn(ACTION_RESULT, outcome.result)) {
    env.fault(new TypeError(`model.action answered with unknown result ${outcome.result}`), 'model.action');
    return { result: 'hardware-fault' };
  }
  const ret = outcome.returnParameters;
  if (ret === undefined) return { result: outcome.result };
  if (ret.ok) {
    if (encodeResult(env, ret.data, 'model.action') === undefined) return { result: 'hardware-fault' };
  } else if (!knownResult(ret.result)) {
    env.fault(new TypeError(`model.action answered with unknown return result ${String(ret.result)}`), 'model.action');
    return { result: 'hardware-fault' };
  }
  return { result: outcome.result, returnParameters: ret };
}

export function exception(stateError: StateError, serviceError: ExceptionServiceError): ExceptionResponse {
  return { type: 'exception-response', stateError, serviceError };
}

/** The A-XDR of one value, or undefined (reported) when the model built a value that does not fit its type. */
function encodeResult(env: ServiceEnv, data: DlmsData, where: string): Uint8Array | undefined {
  try {
    const body = encodeData(data);
    const out = new Uint8Array(body.length + 1);
    out.set(body, 1);
    return out;
  } catch (e) {
    env.fault(e, where);
    return undefined;
  }
}

function failed(result: DataAccessResult): EncodedResult {
  return { result: { ok: false, result }, encoded: Uint8Array.of(1, DATA_ACCESS_RESULT[result]) };
}

function faulty(env: ServiceEnv, where: string, result: unknown): EncodedResult {
  env.fault(new TypeError(`${where} answered with unknown result ${String(result)}`), where);
  return failed('hardware-fault');
}

function knownResult(v: unknown): v is DataAccessResult {
  return typeof v === 'string' && Object.hasOwn(DATA_ACCESS_RESULT, v);
}
