/**
 * Configuration of the server engine: who may associate and how (per client SAP), what the
 * server offers in the xDLMS context, and the bounds of block transfers. Defaults are named
 * here so a reader of the engine sees every limit in one place.
 */
import { ProtocolError } from '../../adapter.js';
import { conformance, conformanceFeatures, type Conformance } from '../acse/conformance.js';

/**
 * How one client SAP authenticates and what it may do. The public client (SAP 16) is by
 * convention `{ mechanism: 'none', access: 'read-only' }`; management clients use LLS.
 */
export interface ClientPolicy {
  /** 'none' = lowest-level security, 'low' = LLS with `password` (Green Book, low-level security). */
  readonly mechanism: 'none' | 'low';
  /** The LLS secret; required when `mechanism` is 'low'. */
  readonly password?: string;
  /** 'read-only' refuses SET and ACTION with read-write-denied. Default 'read-write'. */
  readonly access?: 'read-only' | 'read-write';
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
  }
  if (limits.maxBlocks < 1 || limits.maxBlockTransferBytes < 1) throw new ServerConfigError('block transfer limits must be positive');
}
