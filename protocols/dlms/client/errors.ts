/**
 * Errors of the DLMS client engine. Each has a stable `code`; the data they carry is what a
 * caller needs to decide between "retry later", "reconnect" and "give up on this item".
 *
 * What they mean for the association (see DlmsClient):
 *   - ServiceRejected, DataAccessError, TransferLimitExceeded, NotNegotiated, ClientBusy, and
 *     a complete reply whose APDU does not decode (DlmsDecodeError): the request and reply
 *     were in step; the association stays usable.
 *   - UnexpectedResponse, TimeoutError (adapter.ts), RequestAborted, a transport failure
 *     (ConnectionError, FrameError) or a reply that fails security (DlmsSecurityError): the
 *     association is broken; only `close()` remains.
 */
import { ProtocolError } from '../../adapter.js';
import type { ActionResult, DataAccessResult } from '../apdu/results.js';
import {
  serviceErrorName, type ConfirmedServiceError, type ExceptionResponse,
} from '../apdu/serviceErrors.js';

/** The server refused the request as a whole: exception-response or confirmed-service-error. */
export class ServiceRejected extends ProtocolError {
  readonly code = 'DLMS_SERVICE_REJECTED';
  /** e.g. `service-not-allowed / operation-not-possible` or `getVariableAttribute: access: object-unavailable`. */
  readonly reason: string;

  constructor(readonly apdu: ExceptionResponse | ConfirmedServiceError, what: string, terminalId?: string) {
    const reason = apdu.type === 'exception-response'
      ? `${apdu.stateError} / ${apdu.serviceError}`
      : `${apdu.service}: ${serviceErrorName(apdu)}`;
    super(`${what}: the server answered ${apdu.type} (${reason})`, terminalId);
    this.reason = reason;
  }
}

/** A data-access-result other than success, where a helper needs the value to go on. */
export class DataAccessError extends ProtocolError {
  readonly code = 'DLMS_DATA_ACCESS';
  constructor(readonly result: DataAccessResult | ActionResult, readonly what: string, terminalId?: string) {
    super(`${what}: ${result}`, terminalId);
  }
}

export type UnexpectedResponseReason = 'invoke-id' | 'apdu-type' | 'block-number' | 'list-length';

/** The server answered out of step: the reply cannot be trusted to belong to our request. */
export class UnexpectedResponse extends ProtocolError {
  readonly code = 'DLMS_UNEXPECTED_RESPONSE';
  constructor(
    readonly reason: UnexpectedResponseReason,
    message: string,
    terminalId?: string,
    options?: ErrorOptions,
  ) {
    super(`${reason}: ${message}`, terminalId, options);
  }
}

export type TransferLimit = 'maxBlocks' | 'maxLongGetBytes' | 'serverMaxPduSize';

/** A long transfer went beyond one of the client's bounds (or cannot fit the server's PDU). */
export class TransferLimitExceeded extends ProtocolError {
  readonly code = 'DLMS_TRANSFER_LIMIT';
  constructor(readonly limit: TransferLimit, readonly value: number, message: string, terminalId?: string) {
    super(message, terminalId);
  }
}

/** The association did not negotiate a conformance feature the request needs. */
export class NotNegotiated extends ProtocolError {
  readonly code = 'DLMS_NOT_NEGOTIATED';
  constructor(readonly feature: string, terminalId?: string) {
    super(`the association did not negotiate ${feature}`, terminalId);
  }
}

/** More requests are waiting than the client's queue bound allows. */
export class ClientBusy extends ProtocolError {
  readonly code = 'DLMS_BUSY';
  constructor(readonly queued: number, terminalId?: string) {
    super(`${queued} request(s) already waiting for the association`, terminalId);
  }
}

export type ClientState = 'idle' | 'associated' | 'broken' | 'closed';

/** The client is not in a state to send this request (not associated, broken or closed). */
export class AssociationUnavailable extends ProtocolError {
  readonly code = 'DLMS_ASSOCIATION_UNAVAILABLE';
  constructor(readonly state: ClientState, what: string, terminalId?: string, options?: ErrorOptions) {
    super(`${what}: the association is ${state}${state === 'broken' ? '; close and reconnect' : ''}`, terminalId, options);
  }
}

/** The caller's signal aborted a request; like a timeout, this breaks the association. */
export class RequestAborted extends ProtocolError {
  readonly code = 'DLMS_ABORTED';
  constructor(what: string, terminalId?: string, options?: ErrorOptions) {
    super(`${what} aborted by the caller`, terminalId, options);
  }
}
