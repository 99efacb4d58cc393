/**
 * Server-side Modbus framing for the simulator, sans-IO: bytes in, requests out; replies to
 * bytes. Two framings over a TCP stream: MBAP (Modbus Messaging on TCP/IP Implementation
 * Guide v1.0b §3.1.3) and bare RTU frames with CRC (Modbus over Serial Line v1.02 §2.5.1).
 */

export type Framing = 'tcp' | 'rtu-over-tcp';

export interface ModbusRequest {
  /** MBAP transaction id (0 for RTU). */
  readonly transactionId: number;
  readonly unitId: number;
  /** Protocol data unit: function code and data. */
  readonly pdu: Uint8Array;
}

export type DecodeResult =
  | { readonly ok: true; readonly requests: ModbusRequest[]; readonly rest: Buffer }
  | { readonly ok: false; readonly reason: string };

/** MBAP §3.1.3: length counts the unit id and the PDU; a PDU is at most 253 bytes. */
const MAX_MBAP_LENGTH = 254;
/** Modbus over Serial Line §2.5.1: an RTU frame is at most 256 bytes. */
const MAX_RTU_FRAME = 256;

/** Splits whole requests off the front of `buf`. `ok: false` means the stream is unusable. */
export function decodeRequests(framing: Framing, buf: Buffer): DecodeResult {
  return framing === 'tcp' ? decodeMbap(buf) : decodeRtu(buf);
}

/** Wraps a reply PDU for the wire. */
export function encodeReply(framing: Framing, req: ModbusRequest, pdu: Uint8Array): Buffer {
  if (framing === 'tcp') {
    const out = Buffer.allocUnsafe(7 + pdu.length);
    out.writeUInt16BE(req.transactionId, 0);
    out.writeUInt16BE(0, 2); // protocol id 0 = Modbus
    out.writeUInt16BE(pdu.length + 1, 4);
    out[6] = req.unitId;
    out.set(pdu, 7);
    return out;
  }
  const out = Buffer.allocUnsafe(pdu.length + 3);
  out[0] = req.unitId;
  out.set(pdu, 1);
  // §2.5.1.2: the CRC is sent low byte first.
  out.writeUInt16LE(crc16Modbus(out.subarray(0, pdu.length + 1)), pdu.length + 1);
  return out;
}

/** An exception response PDU (Modbus Application Protocol v1.1b3 §7): function | 0x80, code. */
export function exceptionPdu(functionCode: number, exceptionCode: number): Uint8Array {
  return Uint8Array.of((functionCode | 0x80) & 0xff, exceptionCode);
}

/** CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF (Serial Line §6.2.2). */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function decodeMbap(buf: Buffer): DecodeResult {
  const requests: ModbusRequest[] = [];
  let at = 0;
  while (buf.length - at >= 7) {
    const protocolId = buf.readUInt16BE(at + 2);
    const length = buf.readUInt16BE(at + 4);
    if (protocolId !== 0) return { ok: false, reason: `MBAP protocol id ${protocolId}, expected 0` };
    if (length < 2 || length > MAX_MBAP_LENGTH) return { ok: false, reason: `MBAP length ${length} out of 2..${MAX_MBAP_LENGTH}` };
    if (buf.length - at < 6 + length) break;
    requests.push({
      transactionId: buf.readUInt16BE(at),
      unitId: buf[at + 6] ?? 0,
      pdu: buf.subarray(at + 7, at + 6 + length),
    });
    at += 6 + length;
  }
  return { ok: true, requests, rest: buf.subarray(at) };
}

function decodeRtu(buf: Buffer): DecodeResult {
  const requests: ModbusRequest[] = [];
  let at = 0;
  while (buf.length - at >= 4) {
    const size = rtuRequestSize(buf, at);
    if (size === undefined) return { ok: false, reason: `cannot frame RTU function ${buf[at + 1] ?? 0}` };
    if (size === 0 || buf.length - at < size) break;
    const frame = buf.subarray(at, at + size);
    if (crc16Modbus(frame.subarray(0, size - 2)) !== frame.readUInt16LE(size - 2)) {
      return { ok: false, reason: 'RTU CRC mismatch' };
    }
    requests.push({ transactionId: 0, unitId: frame[0] ?? 0, pdu: frame.subarray(1, size - 2) });
    at += size;
  }
  if (buf.length - at > MAX_RTU_FRAME) return { ok: false, reason: 'RTU buffer overflow' };
  return { ok: true, requests, rest: buf.subarray(at) };
}

/**
 * RTU has no length field: the request size follows from the function code (Application
 * Protocol §6). 0 = need more bytes; undefined = a function we cannot frame.
 */
function rtuRequestSize(buf: Buffer, at: number): number | undefined {
  const fn = buf[at + 1] ?? 0;
  if (fn >= 1 && fn <= 6) return 8;
  if (fn === 15 || fn === 16) {
    const byteCount = buf[at + 6];
    return byteCount === undefined ? 0 : 9 + byteCount;
  }
  return undefined;
}
