/**
 * Typed errors of the MQTT adapter. Every one carries a stable `code` (part of the
 * convention: dead-letter records and problem reports use the same codes, see README.md).
 */
import { ProtocolError } from '../adapter.js';

export type TopicErrorCode =
  /** The topic is not `<prefix>/<terminalId>/<kind>`. */
  | 'FOREIGN_TOPIC'
  /** The terminal id does not match `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`. */
  | 'INVALID_TERMINAL_ID'
  /** The last level is not `telemetry`, `status` or `events`. */
  | 'UNKNOWN_KIND';

export class TopicError extends ProtocolError {
  constructor(
    readonly code: TopicErrorCode,
    readonly topic: string,
    message: string,
  ) {
    super(message, undefined);
  }
}

export type PayloadErrorCode =
  /** Larger than `maxPayloadBytes`; nothing of it was parsed. */
  | 'TOO_LARGE'
  /** Not UTF-8, or not JSON. */
  | 'INVALID_JSON'
  /** `v` is not a version this adapter speaks (only 1). */
  | 'UNSUPPORTED_VERSION'
  /** JSON, but not the convention's shape; `path` names the first problem. */
  | 'INVALID_SHAPE'
  /** A quantity name that is not in the catalogue. */
  | 'UNKNOWN_QUANTITY'
  /** More readings than `maxReadingsPerMessage`. */
  | 'TOO_MANY_READINGS'
  /** More events than `maxEventsPerMessage`. */
  | 'TOO_MANY_EVENTS'
  /** A timestamp that is malformed, before 2000 or too far in the future. */
  | 'BAD_TIMESTAMP'
  /** A value that is null (a serialised NaN or Infinity) or overflows a double. */
  | 'NON_FINITE_VALUE';

export class PayloadError extends ProtocolError {
  constructor(
    readonly code: PayloadErrorCode,
    terminalId: string | undefined,
    message: string,
    /** JSON path of the first problem, e.g. `$.meters[0].values["power.active"]`. */
    readonly path?: string,
  ) {
    super(path === undefined ? message : `${message} at ${path}`, terminalId);
  }
}

/** MQTT terminals push; reading on demand waits for the command convention. */
export class UnsupportedOperationError extends ProtocolError {
  readonly code = 'UNSUPPORTED_OPERATION';
}

/** The broker refused a subscription (SUBACK return code 0x80, MQTT 3.1.1 §3.9.3). */
export class SubscribeRefusedError extends ProtocolError {
  readonly code = 'SUBSCRIBE_REFUSED';
}

/** The adapter was used out of order (subscribed twice, used after close). */
export class AdapterStateError extends ProtocolError {
  readonly code = 'ADAPTER_STATE';
}

/** Options that cannot work together (a dead-letter topic inside the subscription, …). */
export class MqttOptionsError extends ProtocolError {
  readonly code = 'MQTT_OPTIONS';
}
