/**
 * The COSEM object model a DLMS server dispatches to (IEC 62056-6-2 §4.1: an object is a
 * class id, a logical name, attributes and methods). The server engine decodes GET, SET and
 * ACTION requests and calls one of the three methods below per item; the model answers with
 * Data or a result code and never throws for a client's mistake (an unknown object, a wrong
 * class, a value of the wrong type are all answered with a result code).
 *
 * The request descriptors and the result shapes are the APDU layer's own types, so the engine
 * passes them through without translation: a GetResult is a Get-Data-Result, a
 * ModelActionOutcome an Action-Response-With-Optional-Data (IEC 62056-5-3 §8).
 */
import type { DlmsData } from '../axdr/data.js';
import type { CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess } from '../apdu/descriptors.js';
import type { ActionResult, DataAccessResult } from '../apdu/results.js';

export type { CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess };

/**
 * Data-Access-Result codes an object model answers with. The block-transfer codes
 * (long-get-aborted, data-block-number-invalid, …) belong to the server engine, not to a model.
 */
export type DataAccessResultName = Exclude<
  DataAccessResult,
  'long-get-aborted' | 'no-long-get-in-progress' | 'long-set-aborted' | 'no-long-set-in-progress' | 'data-block-number-invalid'
>;

/** Action-Result codes an object model answers with (the pblock codes are the engine's). */
export type ActionResultName = Exclude<ActionResult, 'long-action-aborted' | 'no-long-action-in-progress' | 'data-block-unavailable'>;

/** Get-Data-Result: the attribute's value, or why there is none. */
export type GetResult = { readonly ok: true; readonly data: DlmsData } | { readonly ok: false; readonly result: DataAccessResultName };

/** Action-Response-With-Optional-Data: the result and, for methods that return something, the return parameters. */
export interface ModelActionOutcome {
  readonly result: ActionResultName;
  readonly returnParameters?: GetResult;
}

/** Who is asking, and when. */
export interface AccessContext {
  /** Client SAP of the association (16 = public client, 1 = management client, …). */
  readonly clientSap: number;
  /** Authentication the association was established with (the engine checked the secret). */
  readonly authenticated: 'none' | 'low' | 'high';
  /** Instant of the request, ms since the epoch, from the server's injected clock. */
  readonly now: number;
}

export interface CosemObjectModel {
  /**
   * GET of one attribute; `access` is the Selective-Access-Descriptor when the client sent one.
   * Results: object-undefined (no such object or attribute), object-class-inconsistent (the
   * object exists with another class id), read-write-denied (not readable in this context),
   * other-reason (selective access the object does not support or that is malformed).
   */
  get(ref: CosemAttributeDescriptor, access: SelectiveAccess | undefined, ctx: AccessContext): GetResult;
  /** SET of one attribute: success, or read-write-denied, type-unmatched, other-reason, … as for get. */
  set(ref: CosemAttributeDescriptor, value: DlmsData, ctx: AccessContext): DataAccessResultName;
  /** ACTION: invokes one method; `parameters` is absent when the request carried none. */
  action(ref: CosemMethodDescriptor, parameters: DlmsData | undefined, ctx: AccessContext): ModelActionOutcome;
}
