/**
 * The one contract every protocol adapter implements (OpenMUC-style driver SPI).
 *
 * Adapters speak their protocol and nothing else: they never schedule, store or decide.
 * `protocols/` knows nothing of `src/`, so the types here are the adapter's own view: a
 * terminal is an id plus a protocol-specific endpoint, quantities are catalogue names as
 * strings (ingest checks them against the catalogue).
 */

export type ProtocolName = 'dlms' | 'modbus' | 'mqtt';

/** Quality as an adapter sees it; see src/domain/reading.ts for the meaning of each. */
export type RawQuality = 'good' | 'suspect' | 'bad';

/** A value as it left the protocol layer: secondary side, not yet tied to a meter id. */
export interface RawReading {
  readonly terminalId: string;
  /** The meter's address on the terminal (Modbus unit id, MQTT meter key, …). */
  readonly address: string;
  /** Catalogue quantity name, e.g. `power.active`. */
  readonly quantity: string;
  readonly value: number;
  /** Unit as sent by the device; absent means the catalogue unit. */
  readonly unit?: string;
  /** Device timestamp, ms since the epoch; absent when the device gave none. */
  readonly ts?: number;
  readonly quality?: RawQuality;
}

/** One thing to read from a terminal: a quantity of the meter at `address`. */
export interface ReadItem {
  readonly address: string;
  readonly quantity: string;
}

export type ReadOutcome =
  | { readonly ok: true; readonly item: ReadItem; readonly reading: RawReading }
  | { readonly ok: false; readonly item: ReadItem; readonly error: Error };

export interface TerminalRef<E> {
  readonly id: string;
  readonly endpoint: E;
}

/** Profiles a meter keeps (DLMS IC 7): 15-minute load profile, daily and monthly billing snapshots. */
export type ProfileKind = 'load' | 'daily' | 'billing';

/** Entries captured in [from, to] (ms, both inclusive) of one meter's profile. */
export interface ProfileRequest {
  readonly address: string;
  readonly profile: ProfileKind;
  readonly from: number;
  readonly to: number;
}

export type ProfileOutcome =
  | { readonly ok: true; readonly readings: readonly RawReading[]; readonly lastCaptureTs: number | undefined }
  | { readonly ok: false; readonly error: Error };

export interface TerminalSession {
  /** Reads every item; one item's failure is its own outcome and does not fail the rest. */
  read(items: readonly ReadItem[], signal: AbortSignal): Promise<ReadOutcome[]>;
  /** Reads a stored profile, for protocols whose meters keep one (DLMS). */
  readProfile?(request: ProfileRequest, signal: AbortSignal): Promise<ProfileOutcome>;
  /**
   * Sends one control command to the meter at `command.address` and reads the resulting
   * state back (verification is the caller's business; the adapter reports what it read).
   * Adapters that cannot control throw UnsupportedOperation.
   */
  execute?(command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState>;
  /**
   * Present where the protocol's meters may keep their own account (DLMS payment metering,
   * IC 111–115). A meter of such a protocol that has no account still fails with
   * PaymentMeteringUnsupported, naming what it lacks.
   */
  readonly payment?: PaymentMetering;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}

/** A control command as an adapter sees it (the command service in src/control owns lifecycle and audit). */
export type DeviceCommand =
  | { readonly type: 'disconnect'; readonly address: string }
  | { readonly type: 'reconnect'; readonly address: string }
  /** Active power limit in kW (DLMS IC 71 threshold, Modbus limit register). */
  | { readonly type: 'set-limit'; readonly address: string; readonly limitKw: number }
  | { readonly type: 'clear-limit'; readonly address: string }
  /** Sets the meter clock to `time` (ms since the epoch). */
  | { readonly type: 'sync-clock'; readonly address: string; readonly time: number }
  /** Reads the relay or limit state without changing it (re-verification after an interrupted command). */
  | { readonly type: 'read-state'; readonly address: string; readonly of: 'relay' | 'limit' };

/** What the device reported after a command: only the fields the command concerns are read back. */
export interface DeviceControlState {
  /** Relay (disconnect control output state): true connected, false disconnected. */
  readonly connected?: boolean;
  /** The active limit in kW, null when none is set. */
  readonly limitKw?: number | null;
  /** The meter clock after a sync, ms since the epoch. */
  readonly clock?: number;
  /** The meter's own account, after a read-account or an add-credit. */
  readonly account?: MeterAccountState;
  /** add-credit: the available credit read just before the credit was added. */
  readonly availableCreditBefore?: AccountAmount;
}

/** Reading a meter's own account and adding credit to it; each answer is read from the meter. */
export interface PaymentMetering {
  readAccount(address: string, signal: AbortSignal): Promise<MeterAccountState>;
  /** Adds `amount` and reads the account before and after. */
  addCredit(request: CreditTopUp, signal: AbortSignal): Promise<{ readonly before: MeterAccountState; readonly after: MeterAccountState }>;
}

/** Credit to add: `units` × 10^`exponent` in `currency` (e.g. 5000 × 10^−2 CNY is 50.00 CNY). */
export interface CreditTopUp {
  readonly address: string;
  readonly units: number;
  readonly exponent: number;
  readonly currency: string;
  /** A vending system's token for the amount (hex), for meters that take credit through a token gateway. */
  readonly token?: string;
}

/** An amount of a meter's account: `raw` as the meter holds it, `value` = raw × 10^scale in `currency`. */
export interface AccountAmount {
  readonly raw: number;
  readonly scale: number;
  readonly value: number;
  readonly currency: string;
}

export interface MeterAccountState {
  /** Logical name (or the protocol's address) of the account object. */
  readonly account: string;
  readonly mode: 'credit' | 'prepayment';
  readonly status: 'new' | 'active' | 'closed';
  /** What amounts count: money, time or consumption. */
  readonly unit: 'monetary' | 'time' | 'consumption';
  readonly availableCredit: AccountAmount;
  readonly amountToClear: AccountAmount;
  readonly aggregatedDebt: AccountAmount;
  readonly lowCreditThreshold: AccountAmount;
  /** The credit status flags set (inCredit, lowCredit, outOfCredit, …). */
  readonly creditStatus: readonly string[];
  readonly credits: readonly {
    readonly credit: string;
    readonly amount: AccountAmount;
    readonly type: string;
    readonly status: string;
    readonly priority: number;
  }[];
  readonly charges: readonly {
    readonly charge: string;
    readonly type: string;
    readonly priority: number;
    readonly totalAmountPaid: AccountAmount;
  }[];
}

/** An event the device reported (DLMS event/data-notification, MQTT event message, event log). */
export interface RawDeviceEvent {
  readonly terminalId: string;
  readonly address: string;
  /** A code of the event vocabulary (src/domain/event.ts), e.g. 'power-down', 'relay-disconnected'. */
  readonly code: string;
  /** Device timestamp, ms since the epoch; absent when the device gave none. */
  readonly ts?: number;
  /** Protocol-level detail for the operator (e.g. the DLMS event code). */
  readonly detail?: string;
}

/** A reading of a pushed batch that the station refused (unknown meter, quantity or unit, implausible value, …). */
export interface RefusedReading {
  /** The station's stable reason code, e.g. `UNKNOWN_METER`. */
  readonly code: string;
  readonly reason: string;
}

/** What the station did with a pushed batch of readings, once it is done with it. */
export interface PushReceipt {
  /** Readings refused and not stored; every other reading of the batch is committed. */
  readonly refused: readonly RefusedReading[];
}

/** A value now, or a promise of it. */
export type Settles<T> = T | Promise<T>;

/**
 * Where a push adapter delivers. `readings` may return a promise, and that promise is the
 * durability contract: it settles only once the batch is committed to the station's
 * store (or refused, as the receipt lists). An adapter acknowledges a message to the
 * device only after that, so a crash never loses what a device was told was delivered.
 * Batches are taken in the order handed over; an adapter may hand over the next one
 * before the previous one settled, and must bound how many it leaves unsettled: the
 * settling slows as the station falls behind, which is how a slow store slows the devices
 * instead of growing memory.
 */
export interface PushSink {
  /** Settles with a receipt, or with nothing when the sink refuses nothing (tests, simple sinks). */
  readings(batch: readonly RawReading[]): Settles<PushReceipt> | Settles<void>;
  /** A terminal announced itself online or offline (MQTT birth / last will). */
  status?(terminalId: string, online: boolean, ts: number): void;
  /** Events the devices reported; the promise settles once they are stored. */
  events?(batch: readonly RawDeviceEvent[]): void | Promise<void>;
  /**
   * The collector lends the terminal's own session (its collection lane) to an adapter that
   * must read the device to make sense of a push (DLMS: scaler_unit, push object lists): a
   * meter allows one association per client, so a push never opens a second one beside the
   * poller's. Settles with `work`'s result, or rejects (timeout, terminal unknown, offline).
   * Absent: such reads fail, and the adapter handles the push without them.
   */
  session?<T>(
    terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>,
    options: { readonly timeoutMs: number },
  ): Promise<T>;
}

/**
 * What an adapter's terminals allow, declared by the adapter so that the collector and the
 * command route ask for a capability and never test a protocol's name.
 */
export interface AdapterCapabilities {
  /**
   * The station opens sessions and reads the terminals on a schedule (a collection lane each).
   * False: the terminals push, and the collector only watches them for silence.
   */
  readonly pollable: boolean;
  /** Commands travel over the push channel, one short session each, instead of a collection lane. */
  readonly commandsOverPush: boolean;
  /** Its sessions offer `payment` (meters that keep their own account); absent: false. */
  readonly paymentMetering?: boolean;
}

export interface TransportAdapter<E = unknown> {
  readonly protocol: ProtocolName;
  readonly capabilities: AdapterCapabilities;
  /** Connects (and associates, where the protocol has associations). */
  open(terminal: TerminalRef<E>, signal: AbortSignal): Promise<TerminalSession>;
  /** Push path: delivers device-initiated readings; resolves the returned stop function on unsubscribe. */
  subscribe?(sink: PushSink): () => Promise<void>;
  /** Releases everything the adapter owns (sockets, clients, timers). */
  close(): Promise<void>;
}

/** Base of every protocol-layer error: a stable `code` and the terminal it concerns. */
export abstract class ProtocolError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly terminalId: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The device did not answer within the per-request timeout. */
export class TimeoutError extends ProtocolError {
  readonly code = 'TIMEOUT';
  constructor(terminalId: string | undefined, readonly timeoutMs: number, what: string) {
    super(`${what} timed out after ${timeoutMs} ms`, terminalId);
  }
}

/** The connection could not be opened or was lost. */
export class ConnectionError extends ProtocolError {
  readonly code = 'CONNECTION';
}

/** The meter keeps no account, or not one the station can use: `missing` names what it lacks. */
export class PaymentMeteringUnsupported extends ProtocolError {
  readonly code = 'PAYMENT_METERING_UNSUPPORTED';
  constructor(readonly missing: string, terminalId: string | undefined) {
    super(`payment metering not supported: ${missing}`, terminalId);
  }
}
