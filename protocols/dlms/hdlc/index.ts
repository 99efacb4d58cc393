/** HDLC for DLMS/COSEM (IEC 62056-46): frame codec, stream decoder, negotiation, link state machine. */
export { clientAddress, decodeAddress, encodeAddress, sameAddress, type HdlcAddress } from './address.js';
export { fcs16 } from './crc.js';
export { HdlcFrameDecoder, HDLC_MAX_FRAME_SIZE, type HdlcDecoded, type HdlcDecoderStats, type HdlcFrameDecoderOptions } from './decoder.js';
export { decodeHdlcFrame, encodeHdlcFrame, HDLC_FLAG, type HdlcFrame, type HdlcFrameKind, type HdlcIFrame, type HdlcSupervisoryFrame, type HdlcUnnumberedFrame } from './frame.js';
export { HdlcLink } from './link.js';
export * from './linkTypes.js';
export { LLC_COMMAND, LLC_RESPONSE } from './llc.js';
export { acceptAnswer, answerProposal, decodeHdlcParameters, DEFAULT_HDLC_PARAMETERS, encodeHdlcParameters, HDLC_MAX_INFO_LENGTH, type HdlcParameters } from './parameters.js';
