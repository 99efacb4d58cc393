/**
 * The server engine with suite-0 client policies, for the sans-IO tests of ciphered contexts:
 * a server whose client 50 has a ciphered context without authentication and client 48
 * HLS-GMAC, a ciphered AARQ (its InitiateRequest glo-ciphered), and glo-/ded-ciphered requests,
 * each with a fresh client invocation counter.
 */
import type { Aarq } from '../../../../protocols/dlms/acse/aarq.js';
import type { Rlrq } from '../../../../protocols/dlms/acse/release.js';
import { LN_CLIENT_CONFORMANCE } from '../../../../protocols/dlms/acse/conformance.js';
import { encodeUserInformation, type InitiateRequest } from '../../../../protocols/dlms/acse/initiate.js';
import { APPLICATION_CONTEXT } from '../../../../protocols/dlms/acse/names.js';
import { encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { cipherApdu, type CipheredForm } from '../../../../protocols/dlms/security/ciphering.js';
import type { ServerAssociationOptions } from '../../../../protocols/dlms/server/engine.js';
import { MemorySecurityCounters } from '../../../../protocols/dlms/security/memoryCounters.js';
import { securityControlFor, type Protection } from '../../../../protocols/dlms/security/securityHeader.js';
import type { SecurityEvent } from '../../../../protocols/dlms/security/settings.js';
import { AK, CLIENT_TITLE, EK, SERVER_TITLE } from '../security/helpers.js';
import { PUBLIC, newServer, type Server } from './harness.js';

export const CIPHERED = 50;
export const HLS = 48;

export function cipheredServer(
  protection: Protection = 'auth-enc', firstServerCounter = 1, options: Partial<ServerAssociationOptions> = {},
): Server & { events: SecurityEvent[] } {
  const events: SecurityEvent[] = [];
  const security = (): { protection: Protection; systemTitle: Uint8Array; keys: { ek: Uint8Array; ak: Uint8Array }; counters: MemorySecurityCounters } => (
    { protection, systemTitle: SERVER_TITLE, keys: { ek: EK, ak: AK }, counters: new MemorySecurityCounters(firstServerCounter) });
  const server = newServer({
    clientPolicies: {
      [PUBLIC]: { mechanism: 'none', access: 'read-only' },
      [CIPHERED]: { mechanism: 'none', security: security() },
      [HLS]: { mechanism: 'high-gmac', security: security() },
    },
    onSecurityEvent: (e) => { events.push(e); },
    ...options,
  });
  return { ...server, events };
}

let counter = 100;

/** The next client invocation counter: above every one used before, so none is a replay. */
export function nextClientCounter(): number {
  return ++counter;
}

export function initiate(dedicatedKey?: Uint8Array): InitiateRequest {
  return {
    type: 'initiate-request', responseAllowed: true, proposedDlmsVersion: 6, proposedConformance: LN_CLIENT_CONFORMANCE,
    clientMaxReceivePduSize: 1024, ...(dedicatedKey === undefined ? {} : { dedicatedKey }),
  };
}

/** An AARQ for the ciphered context whose InitiateRequest is glo-ciphered with `protection`. */
export function cipheredAarq(dedicatedKey: Uint8Array | undefined, protection: Protection = 'auth-enc'): Aarq {
  const sealed = cipherApdu(encodeUserInformation(initiate(dedicatedKey)), {
    sc: securityControlFor(protection), systemTitle: CLIENT_TITLE, invocationCounter: nextClientCounter(), ek: EK, ak: AK,
  });
  return {
    type: 'aarq', applicationContext: APPLICATION_CONTEXT['logical-name-ciphered'], authenticationRequired: false,
    callingApTitle: CLIENT_TITLE, userInformation: { type: 'other', tag: sealed[0] ?? 0, bytes: sealed.subarray(1) },
  };
}

/** A request ciphered by the client (auth-enc) in `form`, with `key` as the encryption key. */
export function request(apdu: Apdu, form: CipheredForm, key: Uint8Array): Uint8Array {
  return cipherApdu(encodeApdu(apdu), {
    sc: securityControlFor('auth-enc'), systemTitle: CLIENT_TITLE, invocationCounter: nextClientCounter(), ek: key, ak: AK, form,
  });
}

/** The RLRQ of a protected release: reason normal, our InitiateRequest glo-ciphered (Green Book §9.3.3.2). */
export function cipheredRlrq(protection: Protection = 'auth-enc', invocationCounter = nextClientCounter()): Rlrq {
  const sealed = cipherApdu(encodeUserInformation(initiate()), {
    sc: securityControlFor(protection), systemTitle: CLIENT_TITLE, invocationCounter, ek: EK, ak: AK,
  });
  return { type: 'rlrq', reason: 'normal', userInformation: { type: 'other', tag: sealed[0] ?? 0, bytes: sealed.subarray(1) } };
}
