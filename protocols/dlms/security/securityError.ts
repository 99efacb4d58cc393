/**
 * The one error of the security layer (IEC 62056-5-3 §5.3 / Green Book §9.2.7): a message
 * that fails authentication, a header this stack does not speak, a replayed or exhausted
 * invocation counter, an HLS response that does not verify. Crypto library exceptions are
 * never let through: they are wrapped here (as `cause`) so callers can record a security
 * event on one stable `code` and switch on `reason`.
 */
import { ProtocolError } from '../../adapter.js';

export type DlmsSecurityReason =
  /** The GCM tag (or HLS GMAC) does not match: wrong key, wrong system title, tampered bytes. */
  | 'tag-mismatch'
  /** Security header or ciphered framing malformed: too short, unknown bits, plain tag mismatch. */
  | 'bad-header'
  /** A security suite other than 0 (AES-GCM-128). */
  | 'unsupported-suite'
  /** Compression bit set: Green Book §9.2.7.2.3 leaves the algorithm to a later edition. */
  | 'unsupported-compression'
  /** Neither authentication nor encryption requested, or less than the receiver requires. */
  | 'policy-violation'
  /** A key, system title, counter or challenge of the wrong size. */
  | 'bad-parameter'
  /** The sender's system title is not the one this association expects. */
  | 'system-title-mismatch'
  /** A received invocation counter that does not strictly increase. */
  | 'replay'
  /** The sender's invocation counter reached 2^32 - 1: keys must be changed. */
  | 'counter-exhausted'
  /** HLS pass 3/4 failed: the peer refused our f(StoC), or its f(CtoS) does not verify. */
  | 'hls-failed';

export class DlmsSecurityError extends ProtocolError {
  readonly code = 'DLMS_SECURITY';
  constructor(
    readonly reason: DlmsSecurityReason,
    message: string,
    options?: ErrorOptions & { terminalId?: string },
  ) {
    super(`security: ${reason}: ${message}`, options?.terminalId, options);
  }
}
