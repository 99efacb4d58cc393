/**
 * The ACTION service on the server (Green Book §9.3 / IEC 62056-5-3, ACTION service): normal and
 * with-list, with optional method-invocation-parameters and return parameters. The pblock
 * variants need block-transfer-with-action, which this server does not offer (the engine
 * answers them with an ExceptionResponse).
 *
 * Reactions chosen:
 * - a read-only client: read-write-denied for every method;
 * - return parameters too long for the client's max receive PDU size (no block transfer with
 *   ACTION): the method's result is kept and its return parameters become the
 *   data-access-result other-reason, so the client still learns whether the method ran.
 */
import { ByteWriter } from '../bytes.js';
import type { Apdu } from '../apduCodec.js';
import type { ActionOutcome, ActionRequestNormal, ActionRequestWithList } from '../apdu/action.js';
import { encodeApdu } from '../apduCodec.js';
import type { CosemMethodDescriptor } from '../apdu/descriptors.js';
import type { DlmsData } from '../axdr/data.js';
import { invokeMethod, type ServiceEnv } from './serviceEnv.js';

export function actionNormal(req: ActionRequestNormal, env: ServiceEnv): Apdu {
  const response: Apdu = { type: 'action-response-normal', invoke: req.invoke, response: runOne(env, req.method, req.parameters) };
  return fits(response, env) ? response : { ...response, response: withoutData(response.response) };
}

export function actionWithList(req: ActionRequestWithList, env: ServiceEnv): Apdu {
  const responses = req.methods.map((m, i) => runOne(env, m, req.parameters[i]));
  const response: Apdu = { type: 'action-response-with-list', invoke: req.invoke, responses };
  return fits(response, env) ? response : { ...response, responses: responses.map(withoutData) };
}

/**
 * The smallest possible with-list answer: per method result, return-parameters present,
 * Get-Data-Result choice and code. A request whose answer cannot fit even so is refused
 * before any method runs.
 */
export function actionListFits(methods: number, env: ServiceEnv): boolean {
  return 3 + new ByteWriter(8).length(methods).size + 4 * methods <= env.session.maxResponseSize;
}

function runOne(env: ServiceEnv, method: CosemMethodDescriptor, parameters: DlmsData | undefined): ActionOutcome {
  if (env.session.readOnly) return { result: 'read-write-denied' };
  return invokeMethod(env, method, parameters);
}

function fits(response: Apdu, env: ServiceEnv): boolean {
  return encodeApdu(response).length <= env.session.maxResponseSize;
}

function withoutData(o: ActionOutcome): ActionOutcome {
  return o.returnParameters?.ok === true ? { result: o.result, returnParameters: { ok: false, result: 'other-reason' } } : o;
}
