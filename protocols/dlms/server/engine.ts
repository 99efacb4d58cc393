/**
 * The DLMS/COSEM server engine, sans-IO: one `ServerAssociation` per connection (TCP wrapper
 * connection or HDLC link) takes each APDU a client sends and returns the APDUs to send back,
 * dispatching GET, SET and ACTION to a CosemObjectModel. Framing, sockets and timers live
 * elsewhere (protocols/dlms/net); this file owns the association state machine of the server
 * control function (Green Book §9.4.1: IDLE ⇄ ASSOCIATED) and the reactions to misuse.
 *
 * Reactions to input that cannot be served (ExceptionResponse, Green Book §9.5 ASN.1,
 * IEC 62056-5-3 §8; state-error / service-error):
 * - an xDLMS request with no association for the client SAP (before AARQ, after RLRQ, or
 *   from another SAP than the associated one): service-not-allowed / operation-not-possible,
 *   as the server CF handles GET/SET/ACTION only in the ASSOCIATED state;
 * - a request whose service or option was not negotiated in the conformance block (e.g.
 *   with-list without multiple-references), or the ACTION pblock variants, which this server
 *   does not offer: service-not-allowed / service-not-supported;
 * - an xDLMS request longer than server-max-receive-pdu-size: service-not-allowed / pdu-too-long;
 * - no response is longer than the smaller of the client's and our own max receive PDU size
 *   (AssociationContext.maxResponseSize): a longer GET answer goes in blocks;
 * - a GET, SET, ACTION or RLRQ tag whose body does not decode: service-not-allowed / other-reason;
 * - an unknown tag, a ciphered or SN APDU, or an APDU a server never receives (responses,
 *   notifications, AARE, RLRE): service-unknown / service-not-supported;
 * - AARQ-tagged bytes that do not decode: AARE rejected-permanent, no-reason-given;
 *   an AARQ while associated: AARE rejected-transient, the association is kept.
 * Security suite 0 (sessionSecurity.ts), for a client whose policy asks for it:
 * - on a ciphered association a plain GET/SET/ACTION is refused, and so is a ciphered one that
 *   does not decipher: service-not-allowed / deciphering-error; a replayed invocation counter:
 *   service-not-allowed / invocation-counter-error. Each is counted and reported through
 *   `onSecurityEvent`; responses are glo-ciphered with the association's protection, or
 *   ded-ciphered with its dedicated key when the request came ded-ciphered;
 * - on a ciphered association the release is protected (Green Book §9.3.3.2): an RLRQ without
 *   a glo-initiate-request that deciphers is refused like a plain request (deciphering-error, or
 *   invocation-counter-error for a replay) and the association is kept; the RLRE carries the
 *   negotiated InitiateResponse glo-ciphered;
 * - with HLS-GMAC, until pass 3 succeeds only reply_to_HLS_authentication (IC 15 method 1 of
 *   0.0.40.0.0.255) and RLRQ are served (Green Book §9.2.7.4: the association is only
 *   "associated" after it); anything else gets service-not-allowed / operation-not-possible. A
 *   failed pass 3 is answered read-write-denied and ends the association.
 * SET and ACTION sent unconfirmed (service-class bit 0 of Invoke-Id-And-Priority, Green Book
 * §9.5) are executed and not answered. receive() never throws: a fault of the model or of the
 * engine is reported through `onError` and answered with hardware-fault (per item) or
 * other-reason (whole request).
 */
import { decodeApdu, encodeApdu, APDU_TAG, type Apdu } from '../apduCodec.js';
import { DlmsDecodeError } from '../errors.js';
import { ByteWriter, hexUpper } from '../bytes.js';
import { hasConformance, type Conformance, type ConformanceFeature } from '../acse/conformance.js';
import type { Aarq } from '../acse/aarq.js';
import type { UserInformation } from '../acse/initiate.js';
import type { Rlrq } from '../acse/release.js';
import type { GetRequest } from '../apdu/get.js';
import type { SetRequest } from '../apdu/set.js';
import type { ActionRequest } from '../apdu/action.js';
import type { AttributeWithSelection } from '../apdu/descriptors.js';
import type { CosemObjectModel } from './objectModel.js';
import { DED_TAG, GENERAL_GLO_CIPHERING_TAG, GLO_TAG } from '../security/ciphering.js';
import { DlmsSecurityError } from '../security/securityError.js';
import type { SecurityEvent } from '../security/settings.js';
import {
  answerHlsReply, cipherResponse, ciphered, decipherRequest, isHlsReply, openInitiateRequest, sealInitiateResponse, securityRefusal,
  type PendingHls, type SessionSecurity,
} from './sessionSecurity.js';
import { answerAarq, initiateResponse, rejectMalformedAarq, rejectWhileAssociated, type AssociationContext } from './association.js';
import {
  DEFAULT_SERVER_CONFORMANCE, DEFAULT_SERVER_LIMITS, checkServerConfig, type ClientPolicy, type ServerLimits,
} from './options.js';
import { exception, type PendingTransfers, type ServiceEnv } from './serviceEnv.js';
import { getNext, getNormal, getWithList } from './getService.js';
import { setFirstBlock, setNextBlock, setNormal, setWithList } from './setService.js';
import { actionListFits, actionNormal, actionWithList } from './actionService.js';

export type ServerState = 'idle' | 'associated';

export interface ServerAssociationOptions {
  readonly model: CosemObjectModel;
  /** Who may associate, by client SAP; a SAP without a policy is refused. */
  readonly clientPolicies: ReadonlyMap<number, ClientPolicy> | Readonly<Record<number, ClientPolicy>>;
  /** Largest APDU the server accepts, announced in the InitiateResponse. Default 1024. */
  readonly serverMaxReceivePduSize?: number;
  /** Conformance offered; the negotiated block is its intersection with the client's proposal. */
  readonly conformance?: Conformance;
  /** ms since the epoch, passed to the model as the request's instant. Default Date.now. */
  readonly clock?: () => number;
  readonly limits?: Partial<ServerLimits>;
  /** A fault of the model or the engine (never a client's mistake); the request is still answered. */
  readonly onError?: (error: unknown, where: string) => void;
  /** A request or association refused for security (bad tag, replay, failed HLS, plain on a ciphered association). */
  readonly onSecurityEvent?: (event: SecurityEvent, clientSap: number) => void;
}

/** Counts of what the engine refused or could not serve, for metrics and rate-limited logs. */
export interface ServerStats {
  /** APDUs that did not decode. */
  malformed: number;
  /** Requests answered with an ExceptionResponse or a rejected AARE. */
  refused: number;
  /** Faults reported through onError. */
  faults: number;
  /** Requests and associations refused for security, replays included. */
  securityFailures: number;
  /** Of those, replayed invocation counters. */
  replayed: number;
}

export const DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE = 1024;

type XdlmsRequest = GetRequest | SetRequest | ActionRequest;

/** Responses that have a glo- form: on a ciphered association they are sent ciphered. */
const RESPONSE_TAGS: ReadonlySet<number> = new Set([APDU_TAG['get-response'], APDU_TAG['set-response'], APDU_TAG['action-response']]);
const XDLMS_REQUEST_TAGS: ReadonlySet<number> = new Set([APDU_TAG['get-request'], APDU_TAG['set-request'], APDU_TAG['action-request']]);
const CIPHERED_TAGS: ReadonlySet<number> = new Set([...Object.values(GLO_TAG), ...Object.values(DED_TAG), GENERAL_GLO_CIPHERING_TAG]);

const ACSE_TAGS: ReadonlySet<number> = new Set([APDU_TAG.aarq, APDU_TAG.aare, APDU_TAG.rlrq, APDU_TAG.rlre]);
/** Tags of the requests a server serves: a malformed one is a broken request, not an unknown service. */
const REQUEST_TAGS: ReadonlySet<number> = new Set([
  APDU_TAG['get-request'], APDU_TAG['set-request'], APDU_TAG['action-request'], APDU_TAG.rlrq,
]);

export class ServerAssociation {
  readonly stats: ServerStats = { malformed: 0, refused: 0, faults: 0, securityFailures: 0, replayed: 0 };
  private session: AssociationContext | undefined;
  /** HLS-GMAC: the association waits for pass 3 while this is set. */
  private hls: PendingHls | undefined;
  private readonly pending: PendingTransfers = { get: undefined, set: undefined };
  /** The request being served came ded-ciphered: its answer is ded-ciphered too (set by open()). */
  private replyDedicated = false;
  private readonly policies: ReadonlyMap<number, ClientPolicy>;
  private readonly offered: Conformance;
  private readonly serverMaxPdu: number;
  private readonly limits: ServerLimits;
  private readonly clock: () => number;

  constructor(private readonly options: ServerAssociationOptions) {
    const p = options.clientPolicies;
    this.policies = p instanceof Map ? p : new Map(Object.entries(p).map(([k, v]) => [Number(k), v]));
    this.offered = options.conformance ?? DEFAULT_SERVER_CONFORMANCE;
    this.serverMaxPdu = options.serverMaxReceivePduSize ?? DEFAULT_SERVER_MAX_RECEIVE_PDU_SIZE;
    this.limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
    this.clock = options.clock ?? Date.now;
    checkServerConfig(this.offered, this.serverMaxPdu, this.policies, this.limits);
  }

  get state(): ServerState {
    return this.session === undefined || this.hls !== undefined ? 'idle' : 'associated';
  }

  /** The negotiated context of the open association, if any. */
  get association(): AssociationContext | undefined {
    return this.session;
  }

  /** One APDU from the client at `clientSap` in, zero or more encoded APDUs out. Never throws. */
  receive(apdu: Uint8Array, clientSap: number): Uint8Array[] {
    try {
      // The association the request arrived on ciphers the answer, even if the request ended it.
      const before = this.sessionOf(clientSap);
      this.replyDedicated = false;
      const out = this.handle(apdu, clientSap);
      for (const a of out) if (a.type === 'exception-response' || (a.type === 'aare' && a.result !== 'accepted')) this.stats.refused++;
      return out.map((a) => this.seal(a, before?.security));
    } catch (e) {
      this.report(e, 'engine');
      this.stats.refused++;
      return [encodeApdu(exception('service-not-allowed', 'other-reason'))];
    }
  }

  private handle(received: Uint8Array, clientSap: number): Apdu[] {
    if (received[0] !== undefined && !ACSE_TAGS.has(received[0]) && received.length > this.serverMaxPdu) {
      return [exception('service-not-allowed', 'pdu-too-long')];
    }
    const opened = this.open(received, clientSap);
    if (!opened.ok) return [opened.refusal];
    const bytes = opened.bytes;
    const tag = bytes[0];
    let apdu: Apdu;
    try {
      apdu = decodeApdu(bytes);
    } catch (e) {
      if (!(e instanceof DlmsDecodeError)) throw e;
      this.stats.malformed++;
      if (tag === APDU_TAG.aarq) return [rejectMalformedAarq()];
      return [REQUEST_TAGS.has(tag ?? -1) ? exception('service-not-allowed', 'other-reason') : exception('service-unknown', 'service-not-supported')];
    }
    switch (apdu.type) {
      case 'aarq':
        return this.associate(apdu, clientSap);
      case 'rlrq':
        return this.release(apdu, clientSap);
      case 'get-request-normal': case 'get-request-next': case 'get-request-with-list':
      case 'set-request-normal': case 'set-request-with-first-datablock': case 'set-request-with-datablock':
      case 'set-request-with-list': case 'set-request-with-list-and-first-datablock':
      case 'action-request-normal': case 'action-request-next-pblock': case 'action-request-with-list':
      case 'action-request-with-first-pblock': case 'action-request-with-list-and-first-pblock': case 'action-request-with-pblock': {
        const session = this.session;
        if (session?.clientSap !== clientSap) return [exception('service-not-allowed', 'operation-not-possible')];
        if (this.hls !== undefined) return [this.authenticate(apdu, session, this.hls)];
        return this.serve(apdu, session);
      }
      default:
        return [exception('service-unknown', 'service-not-supported')];
    }
  }

  private associate(aarq: Aarq, clientSap: number): Apdu[] {
    if (this.session !== undefined) return [rejectWhileAssociated()];
    const outcome = answerAarq(aarq, clientSap, {
      policies: this.policies,
      conformance: this.offered,
      serverMaxReceivePduSize: this.serverMaxPdu,
      minClientPduSize: this.limits.minClientPduSize,
    });
    if (outcome.accepted) {
      this.session = outcome.context;
      this.hls = outcome.hls;
      this.clearTransfers();
      return outcome.aare === undefined ? [] : [outcome.aare];
    }
    if (outcome.securityFailure !== undefined) this.securityFailure(outcome.securityFailure, clientSap, aarq.callingApTitle);
    return [outcome.aare];
  }

  /**
   * The plain APDU to serve: deciphered on a ciphered association, where a plain GET, SET or
   * ACTION is refused. Elsewhere the bytes are served as they came (a ciphered APDU outside a
   * ciphered association then fails to decode, as an unknown service).
   */
  private open(bytes: Uint8Array, clientSap: number): { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly refusal: Apdu } {
    const security = this.sessionOf(clientSap)?.security;
    const tag = bytes[0] ?? -1;
    if (!ciphered(security)) return { ok: true, bytes };
    if (XDLMS_REQUEST_TAGS.has(tag)) {
      const error = new DlmsSecurityError('policy-violation', `plain APDU 0x${tag.toString(16)} on an association that requires ${security.policy.protection}`);
      return { ok: false, refusal: this.securityFailure(error, clientSap, security.clientSystemTitle, security) };
    }
    if (!CIPHERED_TAGS.has(tag)) return { ok: true, bytes };
    const plain = decipherRequest(bytes, security);
    if (!plain.ok) return { ok: false, refusal: this.securityFailure(plain.error, clientSap, security.clientSystemTitle, security) };
    // general-glo-ciphering may carry any APDU; only the services have a meaning here.
    if (!XDLMS_REQUEST_TAGS.has(plain.value.plaintext[0] ?? -1)) return { ok: false, refusal: exception('service-not-allowed', 'service-not-supported') };
    this.replyDedicated = plain.value.dedicated;
    return { ok: true, bytes: plain.value.plaintext };
  }

  /** HLS pass 3 → 4 while the association is pending; nothing else is served. */
  private authenticate(req: XdlmsRequest, session: AssociationContext, pending: PendingHls): Apdu {
    if (req.type !== 'action-request-normal' || !isHlsReply(req.method) || session.security === undefined) {
      return exception('service-not-allowed', 'operation-not-possible');
    }
    const answer = answerHlsReply(req.parameters, pending, session.security);
    this.hls = undefined;
    if (answer.ok) return { type: 'action-response-normal', invoke: req.invoke, response: answer.value };
    this.securityFailure(answer.error, session.clientSap, session.security.clientSystemTitle);
    // Dropped, not zeroed: the refusal below is still sealed with this association's keys.
    this.session = undefined;
    this.clearTransfers();
    return { type: 'action-response-normal', invoke: req.invoke, response: { result: 'read-write-denied' } };
  }

  /** Counts and reports a security refusal; the ExceptionResponse to answer a request with. */
  private securityFailure(error: DlmsSecurityError, clientSap: number, title?: Uint8Array, security?: SessionSecurity): Apdu {
    this.stats.securityFailures++;
    if (error.reason === 'replay') this.stats.replayed++;
    const event: SecurityEvent = {
      kind: error.reason, detail: error.message, ...(title === undefined ? {} : { systemTitle: hexUpper(title) }),
    };
    try {
      this.options.onSecurityEvent?.(event, clientSap);
    } catch (e) {
      this.report(e, 'onSecurityEvent');
    }
    return security === undefined ? exception('service-not-allowed', 'deciphering-error') : securityRefusal(error, security.policy);
  }

  private seal(a: Apdu, security: SessionSecurity | undefined): Uint8Array {
    const bytes = encodeApdu(a);
    return ciphered(security) && RESPONSE_TAGS.has(bytes[0] ?? -1) ? cipherResponse(bytes, security, this.replyDedicated) : bytes;
  }

  private sessionOf(clientSap: number): AssociationContext | undefined {
    return this.session?.clientSap === clientSap ? this.session : undefined;
  }

  /**
   * RLRQ → RLRE normal (Green Book §9.3.3, §9.4.2.3); also when idle, so a client's cleanup
   * always completes. On a ciphered association the release is protected (§9.3.3.2): the RLRQ
   * must carry the client's InitiateRequest as a glo-initiate-request that deciphers, and the
   * RLRE carries the negotiated InitiateResponse as a glo-initiate-response. A plain RLRQ, or
   * one that does not decipher or replays a counter, is refused with the ExceptionResponse of
   * any request refused for security, and the association stays, as meters passing the DLMS UA
   * conformance tests do: otherwise anyone on the path could end a secured association.
   */
  private release(rlrq: Rlrq, clientSap: number): Apdu[] {
    const session = this.session;
    if (session !== undefined && session.clientSap !== clientSap) {
      return [exception('service-not-allowed', 'operation-not-possible')];
    }
    let userInformation: UserInformation | undefined;
    const security = session?.security;
    if (session !== undefined && ciphered(security)) {
      const opened = openInitiateRequest(rlrq.userInformation, security);
      if (!opened.ok) return [this.securityFailure(opened.error, clientSap, security.clientSystemTitle, security)];
      if (opened.value.type !== 'initiate-request') return [exception('service-not-allowed', 'other-reason')];
      userInformation = sealInitiateResponse(initiateResponse(session.conformance, this.serverMaxPdu), security);
    }
    this.endSession();
    this.hls = undefined;
    this.clearTransfers();
    return [{ type: 'rlre', reason: 'normal', ...(userInformation === undefined ? {} : { userInformation }) }];
  }

  private serve(req: XdlmsRequest, session: AssociationContext): Apdu[] {
    if (!permitted(req, session.conformance)) return [exception('service-not-allowed', 'service-not-supported')];
    // A new request abandons a block transfer it does not continue (Green Book, long data transfer).
    if (req.type !== 'get-request-next') this.pending.get = undefined;
    if (req.type !== 'set-request-with-datablock') this.pending.set = undefined;
    const env: ServiceEnv = {
      model: this.options.model,
      session,
      access: { clientSap: session.clientSap, authenticated: session.authenticated, now: this.clock() },
      limits: this.limits,
      pending: this.pending,
      fault: (e, where) => { this.report(e, where); },
    };
    const response = this.dispatch(req, env);
    const unconfirmed = !req.invoke.confirmed && (
      req.type === 'set-request-normal' || req.type === 'set-request-with-list' ||
      req.type === 'action-request-normal' || req.type === 'action-request-with-list');
    return unconfirmed ? [] : [response];
  }

  private dispatch(req: XdlmsRequest, env: ServiceEnv): Apdu {
    switch (req.type) {
      case 'get-request-normal': return getNormal(req, env);
      case 'get-request-next': return getNext(req, env);
      case 'get-request-with-list': return getWithList(req, env);
      case 'set-request-normal': return setNormal(req, env);
      case 'set-request-with-list':
        // Set-Response-With-List carries one octet per item: refuse a list whose answer cannot fit.
        if (3 + new ByteWriter(8).length(req.attributes.length).size + req.attributes.length > env.session.maxResponseSize) {
          return exception('service-not-allowed', 'pdu-too-long');
        }
        return setWithList(req, env);
      case 'set-request-with-first-datablock': case 'set-request-with-list-and-first-datablock': return setFirstBlock(req, env);
      case 'set-request-with-datablock': return setNextBlock(req, env);
      case 'action-request-normal': return actionNormal(req, env);
      case 'action-request-with-list':
        return actionListFits(req.methods.length, env) ? actionWithList(req, env) : exception('service-not-allowed', 'pdu-too-long');
      default:
        // The pblock variants: refused by permitted() already, kept here so the switch is total.
        return exception('service-not-allowed', 'service-not-supported');
    }
  }

  /** The association ends; its dedicated key, if any, dies with it (zeroed, then dropped). */
  private endSession(): void {
    this.session?.security?.dedicatedKey?.fill(0);
    this.session = undefined;
  }

  private clearTransfers(): void {
    this.pending.get = undefined;
    this.pending.set = undefined;
  }

  private report(error: unknown, where: string): void {
    this.stats.faults++;
    try {
      this.options.onError?.(error, where);
    } catch {
      // A throwing error callback must not turn one fault into a crash; the fault is counted above.
    }
  }
}

/** Whether the negotiated conformance block allows this request (Green Book §9.4.6.1, conformance bits). */
function permitted(req: XdlmsRequest, c: Conformance): boolean {
  const has = (...f: ConformanceFeature[]): boolean => f.every((x) => hasConformance(c, x));
  const selective = (items: readonly AttributeWithSelection[]): boolean =>
    items.every((i) => i.access === undefined) || has('selective-access');
  switch (req.type) {
    case 'get-request-normal': return has('get') && selective([req]);
    case 'get-request-next': return has('get', 'block-transfer-with-get-or-read');
    case 'get-request-with-list': return has('get', 'multiple-references') && selective(req.attributes);
    case 'set-request-normal': return has('set') && selective([req]);
    case 'set-request-with-first-datablock': return has('set', 'block-transfer-with-set-or-write') && selective([req]);
    case 'set-request-with-datablock': return has('set', 'block-transfer-with-set-or-write');
    case 'set-request-with-list': return has('set', 'multiple-references') && selective(req.attributes);
    case 'set-request-with-list-and-first-datablock':
      return has('set', 'multiple-references', 'block-transfer-with-set-or-write') && selective(req.attributes);
    case 'action-request-normal': return has('action');
    case 'action-request-with-list': return has('action', 'multiple-references');
    default: return false;
  }
}
