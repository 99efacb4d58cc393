/**
 * The LLC sublayer header between HDLC (MAC) and the application layer
 * (IEC 62056-46 §5.2 / Green Book §8.3): destination LSAP 0xE6, source LSAP 0xE6 for a
 * command (client → server) or 0xE7 for a response (server → client; the LSB is the C/R bit),
 * LLC quality 0x00.
 *
 * Placement: the LLC header is part of the LLC PDU that the MAC sublayer segments, so it
 * appears once, at the start of the first segment of an APDU, and counts against the
 * negotiated maximum information field length. HdlcLink adds and strips it; the frame codec
 * (frame.ts) treats the information field as opaque, and callers of HdlcLink see bare APDUs.
 */

export const LLC_HEADER_LENGTH = 3;
export const LLC_COMMAND = Uint8Array.of(0xe6, 0xe6, 0x00);
export const LLC_RESPONSE = Uint8Array.of(0xe6, 0xe7, 0x00);

/** `apdu` behind the LLC header for the given direction. */
export function withLlcHeader(apdu: Uint8Array, direction: 'command' | 'response'): Uint8Array {
  const out = new Uint8Array(LLC_HEADER_LENGTH + apdu.length);
  out.set(direction === 'command' ? LLC_COMMAND : LLC_RESPONSE);
  out.set(apdu, LLC_HEADER_LENGTH);
  return out;
}

/**
 * The APDU behind an LLC header of the expected direction, or undefined when the header is
 * missing or does not match.
 */
export function stripLlcHeader(pdu: Uint8Array, direction: 'command' | 'response'): Uint8Array | undefined {
  const expected = direction === 'command' ? LLC_COMMAND : LLC_RESPONSE;
  if (pdu.length < LLC_HEADER_LENGTH) return undefined;
  for (let i = 0; i < LLC_HEADER_LENGTH; i++) if (pdu[i] !== expected[i]) return undefined;
  return pdu.subarray(LLC_HEADER_LENGTH);
}
