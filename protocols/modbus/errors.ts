/**
 * Modbus-specific errors. Timeouts and connection problems use the shared TimeoutError and
 * ConnectionError from protocols/adapter.ts; everything here carries a stable `code`.
 */
import { ConnectionError, ProtocolError } from '../adapter.js';

/** Modbus Application Protocol v1.1b3 §7: exception codes a server may answer with. */
export const MODBUS_EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** The device answered with an exception response (function code | 0x80). */
export class ModbusExceptionError extends ProtocolError {
  readonly code = 'MODBUS_EXCEPTION';
  readonly exceptionName: string;
  constructor(
    terminalId: string | undefined,
    readonly unitId: number,
    readonly exceptionCode: number,
  ) {
    const name = MODBUS_EXCEPTION_NAMES[exceptionCode] ?? 'unknown exception';
    super(`unit ${unitId} answered exception ${exceptionCode} (${name})`, terminalId);
    this.exceptionName = name;
  }
}

/** A reply that does not fit its request (bad CRC, wrong length, wrong unit or function). */
export class ModbusResponseError extends ProtocolError {
  readonly code = 'MODBUS_RESPONSE';
}

/** A ReadItem address that is not a Modbus unit id (a decimal 1..247, Modbus over Serial Line §2.2). */
export class ModbusAddressError extends ProtocolError {
  readonly code = 'MODBUS_ADDRESS';
  constructor(terminalId: string | undefined, readonly address: string) {
    super(`"${address}" is not a Modbus unit id (1..247)`, terminalId);
  }
}

/** The terminal's register map has no point for the quantity asked for. */
export class UnmappedQuantityError extends ProtocolError {
  readonly code = 'MODBUS_UNMAPPED';
  constructor(terminalId: string | undefined, readonly quantity: string, readonly registerMap: string) {
    super(`register map "${registerMap}" has no point for ${quantity}`, terminalId);
  }
}

/** Too many reads are already waiting for this terminal's one connection. */
export class SessionBusyError extends ProtocolError {
  readonly code = 'MODBUS_BUSY';
}

/** The session is between reconnect attempts: failed fast without touching the device. */
export class ReconnectBackoffError extends ConnectionError {
  constructor(terminalId: string | undefined, readonly retryAt: number, now: number) {
    super(`not reconnecting yet: next attempt in ${Math.max(0, retryAt - now)} ms`, terminalId);
  }
}

/** The terminal's register map has no control for the command (no relay, no limit register, no clock). */
export class UnmappedControlError extends ProtocolError {
  readonly code = 'MODBUS_NO_CONTROL';
  constructor(terminalId: string | undefined, readonly command: string, readonly registerMap: string) {
    super(`register map "${registerMap}" has no control for ${command}`, terminalId);
  }
}
