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
  /**
   * Present where the protocol's meters take firmware images from the station (DLMS image
   * transfer, IC 18). A meter without the object fails with FirmwareTransferUnsupported.
   */
  readonly firmware?: FirmwareTransfer;
  /**
   * Reads what a meter says it is (manufacturer, model, serial, firmware and hardware
   * versions), where the protocol's meters publish it. A field the meter does not publish is
   * absent, not an error.
   */
  readNameplate?(address: string, signal: AbortSignal): Promise<DeviceNameplate>;
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

/** What a device says it is; each field only where the device publishes it. */
export interface DeviceNameplate {
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  /** The active firmware identifier (DLMS 1.0.0.2.0.255 by default). */
  readonly firmwareVersion?: string;
  /** The active firmware signature, hex (DLMS 1.0.0.2.8.255 by default). */
  readonly firmwareSignature?: string;
  readonly hardwareVersion?: string;
}

/** A firmware image as the station sends it. */
export interface FirmwareImage {
  /** image_identifier: what the meter is told the image is (sent as an octet-string of these bytes). */
  readonly identifier: Uint8Array;
  readonly bytes: Uint8Array;
  /** The vendor's signature, passed through: compared with image_to_activate_info's signature where the meter reports one. */
  readonly signature?: Uint8Array;
}

/** IC 18 attribute 6 image_transfer_status (Blue Book §4.4.6), by name. */
export type ImageTransferStatus =
  | 'image-transfer-not-initiated' | 'image-transfer-initiated' | 'image-verification-initiated' | 'image-verification-successful'
  | 'image-verification-failed' | 'image-activation-initiated' | 'image-activation-successful' | 'image-activation-failed';

/** What the meter reports of a transfer, read from it (never assumed). */
export interface ImageTransferState {
  /** image_transfer_enabled (attribute 5). */
  readonly enabled: boolean;
  /** image_block_size in bytes (attribute 2). */
  readonly blockSize: number;
  /** image_transfer_status (attribute 6), or the number the meter sent when the Blue Book does not name it. */
  readonly status: ImageTransferStatus | number;
  /** image_first_not_transferred_block_number (attribute 4). */
  readonly firstNotTransferred: number;
}

/** Where a transfer stands after one slice of it. */
export interface ImageSendProgress {
  readonly blockSize: number;
  readonly blocksTotal: number;
  /** Blocks the meter holds, as it reported them (first-not-transferred, then the bitstring once gaps are looked for). */
  readonly blocksHeld: number;
  /** Blocks sent during this slice. */
  readonly blocksSent: number;
  /** The meter holds every block: the image can be verified. */
  readonly complete: boolean;
  /** This slice began by initiating the transfer (image_transfer_initiate). */
  readonly initiated: boolean;
}

export interface ImageSendRequest {
  readonly address: string;
  readonly image: FirmwareImage;
  /**
   * True: the meter already holds part of this image (the caller initiated it before), so the
   * transfer continues from the meter's image_first_not_transferred_block_number and the gaps of
   * its image_transferred_blocks_status. False: image_transfer_initiate first.
   */
  readonly resume: boolean;
  /** Block size the caller saw before (a meter whose block size changed between reads is refused); absent on the first slice. */
  readonly expectedBlockSize?: number;
  /** Stop after this many blocks (a slice), so other work on the connection can go first; default: until complete. */
  readonly maxBlocks?: number;
  /** The meter's largest image in bytes, where the caller knows it (configured per meter type): a larger image is refused before initiate. */
  readonly maxImageBytes?: number;
  /** Called after every block the meter acknowledged. */
  readonly onBlock?: (blocksHeld: number, blocksTotal: number) => void;
}

/** When and how the meter activates a verified image. */
export type ImageActivation =
  | { readonly at: 'now' }
  /** Through the meter's Single action schedule (IC 22, default 0.0.15.0.2.255): execution_time set to this instant (ms since the epoch). */
  | { readonly at: 'scheduled'; readonly time: number };

/** DLMS image transfer (IC 18) of one meter at a time on the session's connection; every answer read from the meter. */
export interface FirmwareTransfer {
  /** Attributes 2, 4, 5 and 6 in one read. */
  readState(address: string, signal: AbortSignal): Promise<ImageTransferState>;
  /** Sends (a slice of) the image: see ImageSendRequest. */
  send(request: ImageSendRequest, signal: AbortSignal): Promise<ImageSendProgress>;
  /**
   * image_verify, then polls image_transfer_status until verification succeeded (resolves) or
   * failed (ImageVerificationFailed with the status), then checks image_to_activate_info against the image.
   */
  verify(address: string, image: FirmwareImage, signal: AbortSignal): Promise<void>;
  /** image_activate now (polling until activation succeeded or failed), or the schedule set. */
  activate(address: string, activation: ImageActivation, signal: AbortSignal): Promise<void>;
  /** The active firmware identifier and signature, from the meter's objects. */
  readFirmware(address: string, signal: AbortSignal): Promise<{ readonly identifier: string; readonly signature?: string }>;
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
  /** A terminal said in a push what it is (an MQTT birth's firmwareVersion); only what it said is set. */
  nameplate?(terminalId: string, nameplate: DeviceNameplate, ts: number): void;
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
  /** Its sessions offer `firmware` (image transfer through the session); absent: false. */
  readonly firmwareTransfer?: boolean;
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

/** The meter has no image transfer object the station can use: `missing` names what it lacks. */
export class FirmwareTransferUnsupported extends ProtocolError {
  readonly code = 'FIRMWARE_TRANSFER_UNSUPPORTED';
  constructor(readonly missing: string, terminalId: string | undefined) {
    super(`firmware transfer not supported: ${missing}`, terminalId);
  }
}

/** The meter keeps no account, or not one the station can use: `missing` names what it lacks. */
export class PaymentMeteringUnsupported extends ProtocolError {
  readonly code = 'PAYMENT_METERING_UNSUPPORTED';
  constructor(readonly missing: string, terminalId: string | undefined) {
    super(`payment metering not supported: ${missing}`, terminalId);
  }
}
