/**
 * What an association needs to speak security suite 0 (IEC 62056-5-3 §5.3.4, Green Book
 * §9.2.7): our system title, the meter's keys, and the invocation counters. The counters are
 * an interface because their storage is the head-end's business: the outgoing counter must
 * survive a restart and never be reused under the same key, and the last counter accepted
 * from a meter must survive too, or a recorded APDU could be replayed after a restart.
 */
import type { Protection } from './securityHeader.js';

/** APDU protection required on an association: 'none' sends plain xDLMS APDUs. */
export type ApduProtection = 'none' | Protection;

export interface SuiteZeroKeys {
  /** Global unicast encryption key (16 octets). */
  readonly ek: Uint8Array;
  /** Authentication key (16 octets); also the HLS-GMAC key. */
  readonly ak: Uint8Array;
  /** Global broadcast encryption key (16 octets), when the meter uses one. */
  readonly bk?: Uint8Array;
}

/** Invocation counters of one (head-end, meter) pair under one key set. */
export interface SecurityCounters {
  /** The next outgoing invocation counter: strictly greater than every one returned before, also across restarts. */
  nextOutgoing(): number;
  /** The last invocation counter accepted from the meter, if any. */
  lastIncoming(): number | undefined;
  /** Records a counter accepted from the meter (called only after the APDU authenticated). */
  acceptIncoming(counter: number): void;
}

/** A security failure worth an operator's attention: recorded, never silently dropped. */
export interface SecurityEvent {
  readonly kind:
    | 'tag-mismatch' | 'bad-header' | 'policy-violation' | 'system-title-mismatch' | 'replay'
    | 'counter-exhausted' | 'hls-failed' | 'unsupported-suite' | 'unsupported-compression' | 'bad-parameter';
  readonly detail: string;
  /** The peer's system title (hex), when known. */
  readonly systemTitle?: string;
  readonly counter?: number;
}

export interface ClientSecurity {
  readonly protection: ApduProtection;
  /** The head-end's (client's) system title, 8 octets. */
  readonly systemTitle: Uint8Array;
  readonly keys: SuiteZeroKeys;
  /** The meter's system title; when given, an AARE or APDU carrying another one is refused. */
  readonly expectedServerSystemTitle?: Uint8Array;
  readonly counters: SecurityCounters;
  readonly onEvent?: (event: SecurityEvent) => void;
  /**
   * Propose a fresh random dedicated key (16 octets) in every InitiateRequest and ded-cipher
   * the association's GET/SET/ACTION with it (IEC 62056-5-3 §8, Green Book §9.2.7.2.2): a
   * compromised global EK then does not open this association's traffic. Needs APDU
   * protection with encryption ('enc' or 'auth-enc'), since the key travels in the ciphered
   * InitiateRequest.
   */
  readonly useDedicatedKey?: boolean;
  /**
   * How GET, SET and ACTION requests are ciphered (IEC 62056-5-3 §8): 'service-specific'
   * (default) as glo-get-request and its siblings, 'general-glo' as general-glo-ciphering
   * [219], which carries our system title in the APDU, for meters that ask for it. The
   * InitiateRequest stays a glo-initiate-request. Not with `useDedicatedKey` (there is no
   * general form of ded-ciphering with the dedicated key in suite 0 here).
   */
  readonly ciphering?: CipheringForm;
}

/** How the client ciphers its service requests. */
export type CipheringForm = 'service-specific' | 'general-glo';
