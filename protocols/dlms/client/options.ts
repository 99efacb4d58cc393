/**
 * DlmsClient options and their defaults. Every limit is named here so a config key can set it.
 */
import { conformance as conformanceOf, type Conformance } from '../acse/conformance.js';
import type { Authentication } from './association.js';
import type { ClientSecurity } from '../security/settings.js';

export interface DlmsClientOptions {
  /** Client SAP (16 public client, 1 management): the framing addresses with it; informational here. */
  readonly clientSap?: number;
  readonly auth?: Authentication;
  /** client-max-receive-pdu-size proposed in the InitiateRequest. */
  readonly maxReceivePduSize?: number;
  /** Conformance block proposed; the server's answer is what the client then uses. */
  readonly conformance?: Conformance;
  /** Deadline of each request/reply exchange (each block of a long transfer gets its own). */
  readonly timeoutMs?: number;
  /** Priority bit of Invoke-Id-And-Priority (high = 1). */
  readonly highPriority?: boolean;
  /** Requests allowed to wait behind the one in flight; beyond, ClientBusy. */
  readonly maxQueued?: number;
  /** Most blocks one long GET or long SET may take. */
  readonly maxBlocks?: number;
  /** Most raw-data octets one long GET may collect. */
  readonly maxLongGetBytes?: number;
  /** Most attributes per GET-with-list request (meters commonly accept 10 to 32). */
  readonly maxListItems?: number;
  /** Carried into errors so logs say which terminal failed. */
  readonly terminalId?: string;
  /**
   * Security suite 0: required with auth 'high-gmac'; with protection other than 'none' the
   * context is LN with ciphering and every xDLMS APDU is glo-ciphered.
   */
  readonly security?: ClientSecurity;
  /**
   * Called for every reply that carried bytes after its complete APDU (they are ignored);
   * the head-end counts them and warns. It runs inside the request: it must not throw.
   */
  readonly onTrailingBytes?: (event: TrailingBytes) => void;
}

/** A reply whose APDU was complete before the end of the bytes the transport delivered. */
export interface TrailingBytes {
  /** The request, e.g. `get 8/0.0.1.0.0.255/2`. */
  readonly what: string;
  /** The type of the (plain) APDU decoded. */
  readonly apduType: string;
  /** Bytes ignored: after the ciphered APDU, plus after the plain APDU inside it. */
  readonly count: number;
  readonly terminalId: string | undefined;
}

export const DEFAULT_CLIENT_CONFORMANCE: Conformance = conformanceOf(
  'get', 'set', 'action', 'selective-access', 'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write',
  'multiple-references',
);

export const DEFAULT_CLIENT_OPTIONS = {
  clientSap: 16,
  auth: { mechanism: 'none' } as Authentication,
  // The largest the Unsigned16 allows: the server's own buffer still bounds what it sends,
  // and fewer blocks means fewer round trips for profiles.
  maxReceivePduSize: 0xffff,
  conformance: DEFAULT_CLIENT_CONFORMANCE,
  timeoutMs: 10_000,
  highPriority: true,
  maxQueued: 32,
  maxBlocks: 4096,
  maxLongGetBytes: 4 * 1024 * 1024,
  maxListItems: 10,
} as const;

export type ResolvedOptions = Required<Omit<DlmsClientOptions, 'terminalId' | 'security' | 'onTrailingBytes'>>
  & { readonly terminalId: string | undefined; readonly onTrailingBytes: DlmsClientOptions['onTrailingBytes'] };

/** The defaults overlaid with the options given (keys given as undefined keep the default). */
export function resolveOptions(options: DlmsClientOptions): ResolvedOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as DlmsClientOptions;
  const { security: _security, ...rest } = given;
  return { ...DEFAULT_CLIENT_OPTIONS, ...rest, terminalId: options.terminalId, onTrailingBytes: options.onTrailingBytes };
}
