/**
 * The client's side of security suite 0 on one association (IEC 62056-5-3 §5.3.4, Green Book
 * §9.2.7.2): it glo-ciphers every xDLMS request with the next outgoing invocation counter and
 * deciphers every response with the server's system title, accepting the server's counter only
 * when it authenticated and exceeds the last one accepted (a replay is refused).
 *
 * With `useDedicatedKey`, each association gets a fresh random dedicated key, proposed in the
 * glo-ciphered InitiateRequest; GET/SET/ACTION are then ded-ciphered with it as EK (the AK
 * stays the global one) and their responses must be ded-ciphered too (IEC 62056-5-3 §8,
 * Green Book §9.2.7.2.2). The key is zeroed when the association ends.
 *
 * Every security failure goes to `ClientSecurity.onEvent` before it is thrown, so the head-end
 * can record it; the event callback is the caller's code and must not turn one failure into two,
 * so its own exceptions are counted (`eventCallbackErrors`) rather than propagated.
 */
import { randomBytes } from 'node:crypto';
import { INITIATE_TAG } from '../acse/initiate.js';
import { hexUpper } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import {
  DED_TAG, GENERAL_GLO_CIPHERING_OVERHEAD, GENERAL_GLO_CIPHERING_TAG, GLO_CIPHERING_OVERHEAD, GLO_TAG, cipherApdu, decipherApdu,
} from '../security/ciphering.js';
import { KEY_LENGTH, SYSTEM_TITLE_LENGTH } from '../security/gcm.js';
import { DlmsSecurityError, type DlmsSecurityReason } from '../security/securityError.js';
import { securityControlFor, type Protection } from '../security/securityHeader.js';
import type { ClientSecurity, SecurityEvent } from '../security/settings.js';

/** ACSE APDUs (AARE, RLRE) and the two error APDUs a server may send plain, whatever the policy. */
const PASS_THROUGH: ReadonlySet<number> = new Set([0x61, 0x63, 0x0e, 0xd8]);
const CIPHERED_TAGS: ReadonlySet<number> = new Set([...Object.values(GLO_TAG), ...Object.values(DED_TAG), GENERAL_GLO_CIPHERING_TAG]);
/** Glo-ciphered service responses: refused while a dedicated key is in use (they must be ded-). */
const GLO_SERVICE_RESPONSES: ReadonlySet<number> = new Set([0xcc, 0xcd, 0xcf]);

/** A response opened: the plain APDU and how many bytes the meter sent after the ciphered one. */
export interface OpenedResponse {
  readonly plaintext: Uint8Array;
  readonly trailing: number;
}

export class ClientCipher {
  /** Exceptions thrown by `onEvent` itself (counted, never propagated). */
  eventCallbackErrors = 0;
  /** RLREs without the ciphered InitiateResponse of a protected release, tolerated (secureAssociation.ts checkRlre). */
  plainReleaseResponses = 0;
  private server: Uint8Array | undefined;
  /** The dedicated key of the current association, when one was proposed. */
  private dedicated: Uint8Array | undefined;

  constructor(
    readonly security: ClientSecurity,
    private readonly terminalId?: string,
  ) {
    // The key travels in the InitiateRequest: without encryption it would be sent in clear.
    if (security.useDedicatedKey === true && security.protection !== 'enc' && security.protection !== 'auth-enc') {
      throw new DlmsSecurityError('bad-parameter', `a dedicated key needs APDU protection with encryption, not '${security.protection}'`);
    }
    if (security.useDedicatedKey === true && security.ciphering === 'general-glo') {
      throw new DlmsSecurityError('bad-parameter', 'general-glo ciphering uses the global key; with a dedicated key the services are ded-ciphered');
    }
  }

  /** Octets ciphering adds to a plain request, at most: what the server's max PDU size must leave room for. */
  get overhead(): number {
    if (!this.ciphered) return 0;
    return this.security.ciphering === 'general-glo' ? GENERAL_GLO_CIPHERING_OVERHEAD : GLO_CIPHERING_OVERHEAD;
  }

  /** Whether the current association's services are ded-ciphered. */
  get usesDedicatedKey(): boolean {
    return this.dedicated !== undefined;
  }

  /**
   * A new association starts: with `useDedicatedKey`, a fresh random 16-octet dedicated key
   * for its InitiateRequest (the previous one, if any, is forgotten); otherwise undefined.
   */
  beginAssociation(): Uint8Array | undefined {
    this.endAssociation();
    if (this.security.useDedicatedKey !== true) return undefined;
    this.dedicated = Uint8Array.from(randomBytes(KEY_LENGTH));
    return this.dedicated.slice();
  }

  /** The association is over: its dedicated key dies with it (zeroed, then dropped). */
  endAssociation(): void {
    this.dedicated?.fill(0);
    this.dedicated = undefined;
  }

  /** APDU protection is on: requests are glo-ciphered, responses must be. */
  get ciphered(): boolean {
    return this.security.protection !== 'none';
  }

  /** The server's system title, once the AARE told it. */
  get serverSystemTitle(): Uint8Array | undefined {
    return this.server;
  }

  /**
   * Takes the server's system title from the AARE's responding-AP-title (Green Book §9.2.7.2.2:
   * sent in ciphered contexts and with HLS-GMAC). A title other than the expected one, or none
   * at all when there is nothing to fall back on, fails closed.
   */
  learnServerTitle(respondingApTitle: Uint8Array | undefined): Uint8Array {
    const expected = this.security.expectedServerSystemTitle;
    const title = respondingApTitle ?? expected;
    if (title === undefined) throw this.fail('system-title-mismatch', 'the AARE carries no responding-AP-title (the server system title)');
    if (title.length !== SYSTEM_TITLE_LENGTH) throw this.fail('bad-parameter', `responding-AP-title of ${title.length} octets, expected ${SYSTEM_TITLE_LENGTH}`, title);
    if (expected !== undefined && !sameBytes(title, expected)) {
      throw this.fail('system-title-mismatch', `the meter answered with system title ${hexUpper(title)}, expected ${hexUpper(expected)}`, title);
    }
    this.server = title.slice();
    return this.server;
  }

  /**
   * Ciphers one plain xDLMS APDU with the next outgoing counter: ded- with the dedicated key
   * when the association has one and the APDU has a ded- form, general-glo when the settings
   * ask for it, else glo- (the initiate-request always glo-).
   */
  protect(plain: Uint8Array): Uint8Array {
    const ded = this.dedicated !== undefined && DED_TAG[plain[0] ?? -1] !== undefined ? this.dedicated : undefined;
    const general = ded === undefined && this.security.ciphering === 'general-glo' && plain[0] !== INITIATE_TAG.request;
    return this.guard(() => cipherApdu(plain, {
      sc: securityControlFor(this.protection()),
      systemTitle: this.security.systemTitle,
      invocationCounter: this.security.counters.nextOutgoing(),
      ek: ded ?? this.security.keys.ek,
      ak: this.security.keys.ak,
      ...(ded === undefined ? {} : { form: 'ded' as const }),
      ...(general ? { form: 'general-glo' as const } : {}),
    }));
  }

  /**
   * The plain APDU of a server response. ACSE APDUs and plain exception-response /
   * confirmed-service-error pass through (they carry no data, and a server that cannot
   * decipher a request may not be able to cipher its refusal); any other plain APDU on a
   * ciphered association is a policy violation. Bytes after the ciphered APDU are counted,
   * not refused: they are outside what the GCM tag covers, and nothing reads them.
   */
  unprotect(bytes: Uint8Array): OpenedResponse {
    const tag = bytes[0] ?? -1;
    if (PASS_THROUGH.has(tag)) return { plaintext: bytes, trailing: 0 };
    if (!CIPHERED_TAGS.has(tag)) throw this.fail('policy-violation', `plain APDU with tag 0x${tag.toString(16)} on an association that requires ${this.protection()}`);
    if (this.dedicated !== undefined && GLO_SERVICE_RESPONSES.has(tag)) {
      throw this.fail('policy-violation', `glo-ciphered response 0x${tag.toString(16)} to a ded-ciphered request`);
    }
    return this.guard(() => {
      const keys = this.security.keys;
      const out = decipherApdu(bytes, {
        ...(this.server === undefined ? {} : { peerSystemTitle: this.server }),
        ek: keys.ek, ak: keys.ak, ...(keys.bk === undefined ? {} : { broadcastKey: keys.bk }),
        ...(this.dedicated === undefined ? {} : { dedicatedKey: this.dedicated }),
        required: this.protection(),
        ...lastSeen(this.security.counters.lastIncoming()),
        tolerateTrailing: true,
      });
      this.security.counters.acceptIncoming(out.header.invocationCounter);
      return { plaintext: out.plaintext, trailing: out.trailing };
    });
  }

  /** Runs `f`; a DlmsSecurityError it throws is reported as an event first. */
  guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DlmsSecurityError) this.report(e.reason, e.message);
      // A ciphered APDU whose framing does not even parse is a security failure for the record.
      else if (e instanceof DlmsDecodeError && e.layer === 'security') this.report('bad-header', e.message);
      throw e;
    }
  }

  /** A DlmsSecurityError, reported as an event; the caller throws it. */
  fail(reason: DlmsSecurityReason, detail: string, title?: Uint8Array, options?: ErrorOptions): DlmsSecurityError {
    this.report(reason, detail, title);
    return new DlmsSecurityError(reason, detail, { ...options, ...(this.terminalId === undefined ? {} : { terminalId: this.terminalId }) });
  }

  private report(kind: SecurityEvent['kind'], detail: string, title = this.server): void {
    const event: SecurityEvent = { kind, detail, ...(title === undefined ? {} : { systemTitle: hexUpper(title) }) };
    try {
      this.security.onEvent?.(event);
    } catch {
      this.eventCallbackErrors++;
    }
  }

  private protection(): Protection {
    const p = this.security.protection;
    if (p === 'none') throw new DlmsSecurityError('bad-parameter', 'ciphering asked on an association without APDU protection');
    return p;
  }
}

function lastSeen(v: number | undefined): { lastSeenCounter?: number } {
  return v === undefined ? {} : { lastSeenCounter: v };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

