/**
 * The DLMS/COSEM client engine for the LN-referencing context (IEC 62056-5-3, Green Book §9.4):
 * associate, GET (normal, with-list, long GET by blocks), SET (normal, by blocks), ACTION,
 * release. It speaks APDUs to an ApduTransport and knows nothing of framing. With
 * `options.security` it also speaks security suite 0 (secureChannel.ts): HLS-GMAC and
 * glo-ciphered requests and responses.
 *
 * Rules it keeps:
 *   - one request in flight: calls queue in order behind a bounded RequestQueue;
 *   - invoke-id rolls 1..15, 0, 1…; every reply must carry the request's invoke-id, and all
 *     APDUs of one block transfer share it (Green Book §9.4.6.4);
 *   - a timeout, abort, transport failure or out-of-step reply breaks the association: every
 *     later request is refused until the caller closes and reconnects, so a late reply is
 *     never taken as the answer to the next request.
 */
import { hasConformance, type ConformanceFeature } from '../acse/conformance.js';
import { decodeLeadingApdu, encodeApdu, type Apdu } from '../apduCodec.js';
import type { AttributeWithSelection, SelectiveAccess } from '../apdu/descriptors.js';
import type { GetDataResult } from '../apdu/get.js';
import type { InvokeIdAndPriority } from '../apdu/invokeId.js';
import type { ActionResult, DataAccessResult } from '../apdu/results.js';
import { decodeData, encodeData } from '../axdr/codec.js';
import type { DlmsData } from '../axdr/data.js';
import { buildAarq, buildRlrq, readAssociationResponse, type NegotiatedAssociation } from './association.js';
import { DlmsDecodeError } from '../errors.js';
import { ClientCipher, type OpenedResponse } from './secureChannel.js';
import {
  HLS_REPLY_METHOD, aarqException, checkAare, checkHlsReply, checkRlre, hlsReplyParameter, openInitiate, securedAarqFields,
} from './secureAssociation.js';
import { DlmsSecurityError } from '../security/securityError.js';
import { LongGetAssembler, decodeListBlocks, splitIntoBlocks } from './blocks.js';
import {
  AssociationUnavailable, NotNegotiated, RequestAborted, ServiceRejected, TransferLimitExceeded, UnexpectedResponse,
  type ClientState,
} from './errors.js';
import { exchange } from './exchange.js';
import { resolveOptions, type DlmsClientOptions, type ResolvedOptions } from './options.js';
import { planListChunks, setBlockSize } from './pduSize.js';
import { RequestQueue } from './requestQueue.js';
import {
  attributeDescriptor, describeAttribute, describeMethod, describeSelection, methodDescriptor, type AttributeRef, type MethodRef,
} from './refs.js';
import type { ApduTransport } from './transport.js';

export type { AttributeRef, MethodRef } from './refs.js';
export type { Authentication, NegotiatedAssociation } from './association.js';
export { DEFAULT_CLIENT_CONFORMANCE, DEFAULT_CLIENT_OPTIONS, type DlmsClientOptions, type TrailingBytes } from './options.js';

export type GetResult = { readonly ok: true; readonly value: DlmsData } | { readonly ok: false; readonly error: DataAccessResult };
export type SetResult = { readonly ok: true } | { readonly ok: false; readonly error: DataAccessResult };
/** `returnError`: the method ran, but its return parameters came back as a data-access-result. */
export type ActionReply =
  | { readonly ok: true; readonly value?: DlmsData; readonly returnError?: DataAccessResult }
  | { readonly ok: false; readonly error: ActionResult };

/** One item of a GET-with-list. */
export interface AttributeRequest extends AttributeRef {
  readonly access?: SelectiveAccess;
}

type Reply<T extends Apdu['type']> = Extract<Apdu, { type: T }>;

export class DlmsClient {
  readonly options: ResolvedOptions;
  private current: ClientState = 'idle';
  private negotiated: NegotiatedAssociation | undefined;
  private brokenBy: Error | undefined;
  private invokeCounter = 0;
  private readonly queue: RequestQueue;
  /** The exchange in flight, aborted by close(). */
  private inflight: AbortController | undefined;
  /** Security suite 0 on this association, when options.security is given. */
  private readonly cipher: ClientCipher | undefined;

  constructor(private readonly transport: ApduTransport, options: DlmsClientOptions = {}) {
    this.options = resolveOptions(options);
    this.queue = new RequestQueue(this.options.maxQueued, this.options.terminalId);
    const security = options.security;
    this.cipher = security === undefined ? undefined : new ClientCipher(security, this.options.terminalId);
    if (this.options.auth.mechanism === 'high-gmac' && security === undefined) {
      throw new DlmsSecurityError('bad-parameter', 'HLS-GMAC needs options.security (system title, keys, counters)');
    }
  }

  get state(): ClientState {
    return this.current;
  }

  /** What the server granted; undefined until associated. */
  get association(): NegotiatedAssociation | undefined {
    return this.negotiated;
  }

  /**
   * AARQ → AARE, then with HLS-GMAC passes 3 and 4 (reply_to_HLS_authentication). A refusal
   * throws AssociationRejected and leaves the client idle (it may try again); a security
   * failure throws DlmsSecurityError and closes the client, as does a failed HLS.
   */
  associate(signal?: AbortSignal): Promise<NegotiatedAssociation> {
    return this.queue.run(async () => {
      if (this.current !== 'idle') throw this.unavailable('associate');
      const cipher = this.cipher;
      const hls = this.options.auth.mechanism === 'high-gmac';
      const secured = cipher === undefined ? {} : securedAarqFields(cipher, hls);
      const reply = await this.roundTrip(buildAarq({ ...this.options, ...secured }), 'associate', signal);
      try {
        // A meter that cannot process the AARQ (commonly: cannot decipher it) may answer so.
        if (reply.type === 'exception-response') throw aarqException(reply, cipher, this.options.terminalId);
        if (cipher !== undefined && reply.type === 'aare') checkAare(cipher, reply, this.options.terminalId);
        this.negotiated = readAssociationResponse(reply, this.options.terminalId,
          cipher?.ciphered === true ? (u) => openInitiate(cipher, u) : undefined);
        if (hls && cipher !== undefined && reply.type === 'aare' && secured.challenge !== undefined) {
          await this.authenticate(cipher, reply, secured.challenge, signal);
        }
      } catch (e) {
        // No association: a dedicated key proposed for it is dead.
        cipher?.endAssociation();
        if (e instanceof DlmsSecurityError) {
          await this.close();
          throw e;
        }
        if (e instanceof UnexpectedResponse || e instanceof DlmsDecodeError) this.breakWith(e);
        throw e;
      }
      this.current = 'associated';
      return this.negotiated;
    });
  }

  /** GET-Request-Normal; a long answer is fetched block by block and decoded once complete. */
  get(ref: AttributeRef, access?: SelectiveAccess, signal?: AbortSignal): Promise<GetResult> {
    return this.service(`get ${describeAttribute(ref)}`, (what) => this.getOne(this.selection({ ...ref, access }), what, signal));
  }

  /**
   * GET-Request-With-List, cut into requests of at most `maxListItems` that fit the server's
   * PDU size; one result per item, in order. Without multiple-references, one GET per item.
   */
  getList(items: readonly AttributeRequest[], signal?: AbortSignal): Promise<GetResult[]> {
    return this.service(`get-with-list of ${items.length}`, async (what) => {
      const selections = items.map((i) => this.selection(i));
      const chunks = this.granted('multiple-references')
        ? planListChunks(selections, this.options.maxListItems, this.serverMaxPdu())
        : selections.map((s) => [s]);
      const out: GetResult[] = [];
      for (const chunk of chunks) {
        const [only] = chunk;
        // A single attribute goes as a normal GET, which every server understands.
        if (chunk.length === 1 && only !== undefined) out.push(await this.getOne(only, `get ${describeSelection(only)}`, signal));
        else out.push(...await this.getChunk(chunk, what, signal));
      }
      return out;
    });
  }

  /** SET-Request-Normal, or by blocks when the request would exceed the server's PDU size. */
  set(ref: AttributeRef, value: DlmsData, signal?: AbortSignal): Promise<SetResult> {
    return this.service(`set ${describeAttribute(ref)}`, async (what) => {
      const invoke = this.nextInvoke();
      const attribute = attributeDescriptor(ref);
      const normal = encodeApdu({ type: 'set-request-normal', invoke, attribute, value });
      if (normal.length <= this.serverMaxPdu()) {
        const reply = this.checkReply(await this.roundTripBytes(normal, what, signal), invoke, ['set-response-normal'], what);
        return reply.result === 'success' ? { ok: true } : { ok: false, error: reply.result };
      }
      return this.setInBlocks(invoke, attribute, encodeData(value), what, signal);
    });
  }

  /** ACTION-Request-Normal with optional method-invocation-parameters. */
  action(ref: MethodRef, parameters?: DlmsData, signal?: AbortSignal): Promise<ActionReply> {
    return this.service(`action ${describeMethod(ref)}`, (what) => this.invokeAction(ref, parameters, what, signal));
  }

  /** HLS passes 3 and 4 (Green Book §9.2.7.4): our f(StoC) out, the server's f(CtoS) checked. */
  private async authenticate(cipher: ClientCipher, aare: Reply<'aare'>, ctos: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const { parameter } = hlsReplyParameter(cipher, aare);
    let returned: DlmsData | undefined;
    let refused: string | undefined;
    try {
      const reply = await this.invokeAction(HLS_REPLY_METHOD, parameter, 'HLS reply_to_HLS_authentication', signal);
      if (reply.ok) [returned, refused] = [reply.value, reply.returnError];
      else refused = reply.error;
    } catch (e) {
      // A server refusing the whole ACTION (exception-response) refused our proof as well.
      if (!(e instanceof ServiceRejected)) throw e;
      refused = e.reason;
    }
    checkHlsReply(cipher, ctos, returned, refused);
  }

  private async invokeAction(ref: MethodRef, parameters: DlmsData | undefined, what: string, signal: AbortSignal | undefined): Promise<ActionReply> {
    const invoke = this.nextInvoke();
    const request = encodeApdu({
      type: 'action-request-normal', invoke, method: methodDescriptor(ref), ...(parameters === undefined ? {} : { parameters }),
    });
    // Long ACTION (pblocks) is not proposed in our conformance block, so it cannot be used.
    if (request.length > this.serverMaxPdu()) {
      throw new TransferLimitExceeded('serverMaxPduSize', this.serverMaxPdu(), `${what}: request of ${request.length} octets`, this.options.terminalId);
    }
    const reply = this.checkReply(await this.roundTripBytes(request, what, signal), invoke, ['action-response-normal'], what);
    const { result, returnParameters } = reply.response;
    if (result !== 'success') return { ok: false, error: result };
    if (returnParameters === undefined) return { ok: true };
    return returnParameters.ok ? { ok: true, value: returnParameters.data } : { ok: true, returnError: returnParameters.result };
  }

  /**
   * RLRQ → RLRE, then close. The link is closed whatever happens (no answer, a refusal);
   * the outcome says whether the server confirmed the release. On a ciphered association the
   * RLRQ carries our glo-ciphered InitiateRequest, which takes the next invocation counter like
   * any other APDU, and the RLRE must carry the server's ciphered InitiateResponse
   * (secureAssociation.ts checkRlre).
   */
  async release(signal?: AbortSignal): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: Error }> {
    try {
      return await this.queue.run(async () => {
        if (this.current === 'idle') return { ok: true } as const;
        if (this.current !== 'associated') return { ok: false, error: this.unavailable('release') } as const;
        const cipher = this.cipher?.ciphered === true ? this.cipher : undefined;
        const rlrq = buildRlrq({ ...this.options, ...(cipher === undefined ? {} : { cipherInitiate: (plain: Uint8Array) => cipher.protect(plain) }) });
        const reply = await this.roundTrip(rlrq, 'release', signal);
        if (reply.type === 'exception-response' || reply.type === 'confirmed-service-error') {
          return { ok: false, error: new ServiceRejected(reply, 'release', this.options.terminalId) } as const;
        }
        if (reply.type !== 'rlre' || (reply.reason !== undefined && reply.reason !== 'normal')) {
          const got = reply.type === 'rlre' ? `RLRE with reason ${reply.reason ?? ''}` : reply.type;
          return { ok: false, error: new UnexpectedResponse('apdu-type', `release: expected a normal RLRE, got ${got}`, this.options.terminalId) } as const;
        }
        if (cipher !== undefined) checkRlre(cipher, reply);
        return { ok: true } as const;
      });
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    } finally {
      await this.close();
    }
  }

  /**
   * The largest request APDU the server takes on this association, before ciphering (its max
   * receive PDU size less our ciphering overhead); 65535 before the association.
   */
  get maxRequestBytes(): number {
    return this.serverMaxPdu();
  }

  /** RLREs accepted without the ciphered InitiateResponse a protected release should carry (counted, see checkRlre). */
  get plainReleaseResponses(): number {
    return this.cipher?.plainReleaseResponses ?? 0;
  }

  /** Closes the transport; an exchange in flight is abandoned and queued requests are refused. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.cipher?.endAssociation();
    this.inflight?.abort(new AssociationUnavailable('closed', 'request', this.options.terminalId));
    await this.transport.close();
  }

  private service<T>(what: string, body: (what: string) => Promise<T>): Promise<T> {
    return this.queue.run(() => {
      if (this.current !== 'associated') throw this.unavailable(what);
      return body(what);
    });
  }

  private async getOne(selection: AttributeWithSelection, what: string, signal: AbortSignal | undefined): Promise<GetResult> {
    const invoke = this.nextInvoke();
    const { attribute, access } = selection;
    const request = { type: 'get-request-normal', invoke, attribute, ...(access === undefined ? {} : { access }) } as const;
    const reply = this.checkReply(await this.roundTrip(request, what, signal), invoke, ['get-response-normal', 'get-response-with-datablock'], what);
    if (reply.type === 'get-response-normal') return reply.result.ok ? { ok: true, value: reply.result.data } : { ok: false, error: reply.result.result };
    const raw = await this.collectBlocks(reply, invoke, what, signal);
    return raw.ok ? { ok: true, value: decodeData(raw.raw) } : raw;
  }

  private async getChunk(selections: AttributeWithSelection[], what: string, signal: AbortSignal | undefined): Promise<GetResult[]> {
    const invoke = this.nextInvoke();
    const request = { type: 'get-request-with-list', invoke, attributes: selections } as const;
    const reply = this.checkReply(await this.roundTrip(request, what, signal), invoke, ['get-response-with-list', 'get-response-with-datablock'], what);
    let results: readonly GetDataResult[];
    if (reply.type === 'get-response-with-list') {
      results = reply.results;
      if (results.length !== selections.length) {
        throw this.breakWith(new UnexpectedResponse('list-length', `${what}: asked for ${selections.length}, got ${results.length} results`, this.options.terminalId));
      }
    } else {
      const raw = await this.collectBlocks(reply, invoke, what, signal);
      if (!raw.ok) return selections.map(() => raw);
      results = decodeListBlocks(raw.raw, selections.length, {
        maxApduBytes: this.options.maxLongGetBytes, maxListItems: selections.length, data: {},
      }, this.options.terminalId);
    }
    return results.map((r) => (r.ok ? { ok: true, value: r.data } : { ok: false, error: r.result }));
  }

  /** Long GET: acknowledge each block with GET-Request-Next (same invoke-id) until the last. */
  private async collectBlocks(
    first: Reply<'get-response-with-datablock'>, invoke: InvokeIdAndPriority, what: string, signal: AbortSignal | undefined,
  ): Promise<{ readonly ok: true; readonly raw: Uint8Array } | { readonly ok: false; readonly error: DataAccessResult }> {
    const assembler = new LongGetAssembler(this.options, this.options.terminalId);
    let block = first;
    for (;;) {
      let step;
      try {
        step = assembler.add(block);
      } catch (e) {
        if (e instanceof UnexpectedResponse) this.breakWith(e);
        throw e;
      }
      if (step.kind === 'complete') return { ok: true, raw: step.raw };
      if (step.kind === 'failed') return { ok: false, error: step.result };
      const next = { type: 'get-request-next', invoke, blockNumber: step.blockNumber } as const;
      block = this.checkReply(await this.roundTrip(next, what, signal), invoke, ['get-response-with-datablock'], what);
    }
  }

  /** Long SET (Green Book §9.4.6.4): blocks numbered from 1, each acknowledged by number. */
  private async setInBlocks(
    invoke: InvokeIdAndPriority, attribute: ReturnType<typeof attributeDescriptor>, raw: Uint8Array, what: string, signal: AbortSignal | undefined,
  ): Promise<SetResult> {
    if (!this.granted('block-transfer-with-set-or-write')) throw new NotNegotiated('block-transfer-with-set-or-write', this.options.terminalId);
    const empty = encodeApdu({ type: 'set-request-with-first-datablock', invoke, attribute, block: { lastBlock: false, blockNumber: 1, rawData: new Uint8Array(0) } });
    const size = setBlockSize(this.serverMaxPdu(), empty.length);
    if (size < 1) throw new TransferLimitExceeded('serverMaxPduSize', this.serverMaxPdu(), `${what}: the server's PDU size leaves no room for data`, this.options.terminalId);
    const blocks = splitIntoBlocks(raw, size);
    if (blocks.length > this.options.maxBlocks) {
      throw new TransferLimitExceeded('maxBlocks', this.options.maxBlocks, `${what}: ${blocks.length} blocks needed`, this.options.terminalId);
    }
    for (const [i, rawData] of blocks.entries()) {
      const block = { lastBlock: i === blocks.length - 1, blockNumber: i + 1, rawData };
      const request: Apdu = i === 0
        ? { type: 'set-request-with-first-datablock', invoke, attribute, block }
        : { type: 'set-request-with-datablock', invoke, block };
      const reply = this.checkReply(await this.roundTrip(request, what, signal), invoke,
        ['set-response-datablock', 'set-response-last-datablock', 'set-response-normal'], what);
      if (reply.type !== 'set-response-normal' && reply.blockNumber !== block.blockNumber) {
        throw this.breakWith(new UnexpectedResponse('block-number', `${what}: sent block ${block.blockNumber}, server acknowledged ${reply.blockNumber}`, this.options.terminalId));
      }
      // A server may end a long SET early, with a result other than success.
      if (reply.type !== 'set-response-datablock' && reply.result !== 'success') return { ok: false, error: reply.result };
      if (block.lastBlock !== (reply.type !== 'set-response-datablock')) {
        throw this.breakWith(new UnexpectedResponse('apdu-type', `${what}: ${reply.type} to block ${block.blockNumber} of ${blocks.length}`, this.options.terminalId));
      }
    }
    return { ok: true };
  }

  /** Checks a service reply: service errors are thrown typed, out-of-step replies break the association. */
  private checkReply<T extends ServiceReplyType>(reply: Apdu, invoke: InvokeIdAndPriority, types: readonly T[], what: string): Reply<T> {
    if (reply.type === 'exception-response' || reply.type === 'confirmed-service-error') {
      throw new ServiceRejected(reply, what, this.options.terminalId);
    }
    if (!isOneOf(reply, types)) {
      throw this.breakWith(new UnexpectedResponse('apdu-type', `${what}: expected ${types.join(' or ')}, got ${reply.type}`, this.options.terminalId));
    }
    const got = (reply as Reply<ServiceReplyType>).invoke.invokeId;
    if (got !== invoke.invokeId) {
      throw this.breakWith(new UnexpectedResponse('invoke-id', `${what}: sent invoke-id ${invoke.invokeId}, reply carries ${got}`, this.options.terminalId));
    }
    return reply;
  }

  private roundTrip(request: Apdu, what: string, signal: AbortSignal | undefined): Promise<Apdu> {
    // Encoding errors (a value that does not fit its type) surface before anything is sent.
    return this.roundTripBytes(encodeApdu(request), what, signal);
  }

  private async roundTripBytes(bytes: Uint8Array, what: string, signal: AbortSignal | undefined): Promise<Apdu> {
    if (signal?.aborted === true) throw new RequestAborted(what, this.options.terminalId, { cause: signal.reason });
    const controller = new AbortController();
    this.inflight = controller;
    let opened: OpenedResponse;
    try {
      // ACSE APDUs travel plain; with APDU protection every xDLMS request is ciphered.
      const cipher = this.cipher?.ciphered === true ? this.cipher : undefined;
      const out = cipher === undefined || isAcse(bytes) ? bytes : cipher.protect(bytes);
      const reply = await exchange(this.transport, out, {
        timeoutMs: this.options.timeoutMs, what, terminalId: this.options.terminalId, signal, controller,
      });
      opened = cipher === undefined ? { plaintext: reply, trailing: 0 } : cipher.unprotect(reply);
    } catch (e) {
      throw this.breakWith(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.inflight = undefined;
    }
    return this.decodeReply(opened, what);
  }

  /**
   * The reply's APDU. One request drew one complete reply, so the link is in step whatever
   * its bytes hold: a reply that does not decode fails this request (DlmsDecodeError) and
   * the association stays usable for the next one. Bytes after the complete APDU are
   * ignored and reported (decodeLeadingApdu says why that is safe).
   */
  private decodeReply(opened: OpenedResponse, what: string): Apdu {
    const { apdu, trailing } = decodeLeadingApdu(opened.plaintext);
    const count = trailing + opened.trailing;
    if (count > 0) this.options.onTrailingBytes?.({ what, apduType: apdu.type, count, terminalId: this.options.terminalId });
    return apdu;
  }

  private breakWith<E extends Error>(e: E): E {
    if (this.current !== 'closed' && this.current !== 'broken') {
      this.current = 'broken';
      this.brokenBy = e;
    }
    return e;
  }

  private unavailable(what: string): AssociationUnavailable {
    return new AssociationUnavailable(this.current, what, this.options.terminalId, this.brokenBy === undefined ? undefined : { cause: this.brokenBy });
  }

  private nextInvoke(): InvokeIdAndPriority {
    this.invokeCounter = (this.invokeCounter + 1) & 0x0f;
    return { invokeId: this.invokeCounter, confirmed: true, highPriority: this.options.highPriority };
  }

  private selection(item: AttributeRequest): AttributeWithSelection {
    const attribute = attributeDescriptor(item);
    if (item.access === undefined) return { attribute };
    if (!this.granted('selective-access')) throw new NotNegotiated('selective-access', this.options.terminalId);
    return { attribute, access: item.access };
  }

  private granted(feature: ConformanceFeature): boolean {
    return this.negotiated !== undefined && hasConformance(this.negotiated.conformance, feature);
  }

  /** The largest plain APDU we may send: ciphering adds its framing, header and tag on top. */
  private serverMaxPdu(): number {
    return (this.negotiated?.serverMaxReceivePduSize ?? 0xffff) - (this.cipher?.overhead ?? 0);
  }
}

type ServiceReplyType =
  | 'get-response-normal' | 'get-response-with-datablock' | 'get-response-with-list'
  | 'set-response-normal' | 'set-response-datablock' | 'set-response-last-datablock'
  | 'action-response-normal';

/** AARQ, AARE, RLRQ, RLRE: never ciphered (their user-information is, separately). */
function isAcse(apdu: Uint8Array): boolean {
  const tag = apdu[0] ?? 0;
  return tag >= 0x60 && tag <= 0x63;
}

function isOneOf<T extends Apdu['type']>(a: Apdu, types: readonly T[]): a is Reply<T> {
  return (types as readonly string[]).includes(a.type);
}
