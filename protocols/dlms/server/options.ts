/**
 * Configuration of the server engine: who may associate and how (per client SAP), what the
 * server offers in the xDLMS context, and the bounds of block transfers. Defaults are named
 * here so a reader of the engine sees every limit in one place.
 */
import { ProtocolError } from '../../adapter.js';
import { conformance, conformanceFeatures, type Conformance } from '../acse/conformance.js';
import { KEY_LENGTH, SYSTEM_TITLE_LENGTH } from '../security/gcm.js';
import type { ApduProtection, SecurityCounters, SuiteZeroKeys } from '../security/settings.js';

/**
 * How one client SAP authenticates and what it may do. The public client (SAP 16) is by
 * convention `{ mechanism: 'none', access: 'read-only' }`; management clients use LLS.
 */
export interface ClientPolicy {
  /**
   * 'none' = lowest-level security, 'low' = LLS with `password` (Green Book, low-level
   * security), 'high-gmac' = HLS mechanism 5 with the keys of `security` (Green Book §9.2.7.4).
   */
  readonly mechanism: 'none' | 'low' | 'high-gmac';
  /** The LLS secret; required when `mechanism` is 'low'. */
  readonly password?: string;
  /** 'read-only' refuses SET and ACTION with read-write-denied. Default 'read-write'. */
  readonly access?: 'read-only' | 'read-write';
  /** Security suite 0; required with 'high-gmac'. Protection other than 'none' makes the context LN with ciphering. */
  readonly security?: ServerSecurityPolicy;
}

/** What the server needs to speak security suite 0 with one client (IEC 62056-5-3 §5.3.4). */
export interface ServerSecurityPolicy {
  /** Protection every xDLMS request must carry and every response gets. */
  readonly protection: ApduProtection;
  /** The server's own system title (8 octets), sent as responding-AP-title. */
  readonly systemTitle: Uint8Array;
  readonly keys: SuiteZeroKeys;
  /** The client's system title, when only one client is expected; another one is refused. */
  readonly clientSystemTitle?: Uint8Array;
  /**
   * The server's outgoing counter (nextOutgoing) and the last counter accepted from this
   * client (lastIncoming / acceptIncoming). Shared by every association of the client, so a
   * request recorded in one association cannot be replayed in the next.
   */
  readonly counters: SecurityCounters;
}

/** Bounds of one association's block transfers. The standard sets none; they are ours. */
export interface ServerLimits {
  /** Most blocks one long GET may be cut into, or a long SET may arrive in. */
  readonly maxBlocks: number;
  /** Largest encoded value held for a long GET, or reassembled for a long SET. */
  readonly maxBlockTransferBytes: number;
  /**
   * Smallest client-max-receive-pdu-size accepted; below it the InitiateRequest is refused
   * with pdu-size-too-short. 64 leaves room for a GET-Response-With-Datablock header and data.
   */
  readonly minClientPduSize: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxBlocks: 100_000,
  maxBlockTransferBytes: 4 * 1024 * 1024,
  minClientPduSize: 64,
};

/**
 * Conformance bits the engine implements. Notification bits are included because they only
 * announce that the server may send notifications; priority management is satisfied by
 * answering in order. Block transfer with ACTION and general block transfer are not offered.
 */
export const SUPPORTED_CONFORMANCE: Conformance = conformance(
  'get', 'set', 'action', 'selective-access', 'multiple-references',
  'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write',
  'priority-mgmt-supported', 'event-notification', 'data-notification',
);

/** What the server offers when the options do not say: every service the engine implements for LN. */
export const DEFAULT_SERVER_CONFORMANCE: Conformance = conformance(
  'get', 'set', 'action', 'selective-access', 'multiple-references',
  'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write',
);

/** A server configuration that cannot work (unsupported conformance bit, LLS without a password). */
export class ServerConfigError extends ProtocolError {
  readonly code = 'DLMS_SERVER_CONFIG';
  constructor(message: string) {
    super(`dlms server: ${message}`, undefined);
  }
}

/** Checks what the constructor is given, so a misconfiguration fails at start, not on the wire. */
export function checkServerConfig(
  offered: Conformance,
  serverMaxReceivePduSize: number,
  policies: ReadonlyMap<number, ClientPolicy>,
  limits: ServerLimits,
): void {
  const unsupported = offered & ~SUPPORTED_CONFORMANCE & 0xffffff;
  if (!Number.isInteger(offered) || offered < 0 || offered > 0xffffff) throw new ServerConfigError(`conformance ${offered} is not 24 bits`);
  if (unsupported !== 0) throw new ServerConfigError(`conformance offers unsupported ${conformanceFeatures(unsupported).join(', ')}`);
  if (!Number.isInteger(serverMaxReceivePduSize) || serverMaxReceivePduSize < limits.minClientPduSize || serverMaxReceivePduSize > 0xffff) {
    throw new ServerConfigError(`serverMaxReceivePduSize ${serverMaxReceivePduSize} must be ${limits.minClientPduSize}..65535`);
  }
  for (const [sap, p] of policies) {
    if (p.mechanism === 'low' && (p.password === undefined || p.password.length === 0)) {
      throw new ServerConfigError(`client SAP ${sap} uses low-level security without a password`);
    }
    if (p.mechanism === 'high-gmac' && p.security === undefined) throw new ServerConfigError(`client SAP ${sap} uses HLS-GMAC without security settings`);
    const s = p.security;
    if (s !== undefined && (s.systemTitle.length !== SYSTEM_TITLE_LENGTH || s.keys.ek.length !== KEY_LENGTH || s.keys.ak.length !== KEY_LENGTH
      || (s.clientSystemTitle !== undefined && s.clientSystemTitle.length !== SYSTEM_TITLE_LENGTH))) {
      throw new ServerConfigError(`client SAP ${sap}: system titles are ${SYSTEM_TITLE_LENGTH} octets and keys ${KEY_LENGTH}`);
    }
  }
  if (limits.maxBlocks < 1 || limits.maxBlockTransferBytes < 1) throw new ServerConfigError('block transfer limits must be positive');
}
