/**
 * What the DLMS client consumes from the framing layer: one APDU out, the next APDU in.
 *
 * The framing (TCP wrapper, IEC 62056-47, or HDLC, IEC 62056-46) implements this over a
 * socket or a serial line; the client never sees frames. The client guarantees at most one
 * `request` in flight per transport, so an implementation needs no correlation of its own.
 */
export interface ApduTransport {
  /**
   * Sends one complete APDU and resolves with the next complete APDU the server sends.
   * Rejects when the link fails or `signal` aborts; after an abort the client treats the
   * association as broken and only calls `close`, so a late reply is never read as the
   * answer to another request.
   *
   * Unsolicited APDUs a server may push on the same link (data-notification 0x0F,
   * event-notification-request 0xC2) are not replies: the framing layer should hand them
   * to its push path instead of resolving a pending request with them.
   */
  request(apdu: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  /** Closes the link (HDLC: DISC; wrapper: the socket). Safe to call twice. */
  close(): Promise<void>;
}
