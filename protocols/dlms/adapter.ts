/**
 * The head-end's DLMS/COSEM adapter behind the adapter contract: a terminal is a meter (or a
 * gateway) reached over TCP with the wrapper or HDLC; a meter's address on it is the server
 * logical device (server SAP). Reading a quantity reads the register the catalogue ties to
 * it, with its scaler and unit applied and converted to the catalogue unit.
 *
 * It speaks the protocol only: which quantities, how often, and what to do with the values
 * is the collector's business. Pushes (data-notifications over the TCP wrapper and over MQTT)
 * come in through `subscribe`, when the adapter has push options (push/intake.ts).
 */
import type {
  DeviceCommand, DeviceControlState, DeviceNameplate, FirmwareTransfer, PaymentMetering, ProfileKind, ProfileOutcome, ProfileRequest, PushSink, RawReading, ReadItem, ReadOutcome, TerminalRef, TerminalSession, TransportAdapter,
} from '../adapter.js';
import { ConnectionError, PaymentMeteringUnsupported, ProtocolError } from '../adapter.js';
import { dlmsPaymentMetering } from './accountControl.js';
import type { DlmsEndpoint, DlmsMeterTypeSettings } from './config.js';
import { dlmsFirmwareTransfer } from './imageTransferControl.js';
import { readDlmsNameplate } from './nameplate.js';
import { DlmsClient, type Authentication, type GetResult, type TrailingBytes } from './client/client.js';
import type { AttributeRef } from './client/refs.js';
import { DataAccessError } from './client/errors.js';
import { DlmsDecodeError } from './errors.js';
import { parseScalerUnit, readColumnScalers, readObjectList, readProfile, ScalerUnitCache, scaled, type ObjectListEntry } from './client/cosem.js';
import { catalogueExponent, unitSymbol, type ScalerUnit } from './cosem/units.js';
import { asDateTime } from './axdr/describe.js';
import { cosemDateTimeToEpochMs } from './axdr/dateTime.js';
import { executeDeviceCommand } from './deviceControl.js';
import { openDlmsTransport } from './net/clientTransport.js';
import { DlmsPushStateError, startDlmsPushIntake, type DlmsPushIntake, type DlmsPushOptions } from './push/intake.js';
import { parsePushObjectList, type PushListReader, type PushObjectList } from './push/pushObjects.js';
import { INTERFACE_CLASSES } from './cosem/classes.js';
import type { ClientSecurity } from './security/settings.js';

/** Logical names of the profiles (DLMS UA Blue Book / IEC 62056-6-1 OBIS for abstract and electricity objects). */
export const PROFILE_OBIS: Readonly<Record<ProfileKind, string>> = {
  load: '1.0.99.1.0.255',
  daily: '1.0.99.2.0.255',
  billing: '0.0.98.1.0.255',
};

const CLOCK_OBIS = '0.0.1.0.0.255';
/** Blue Book IC 8 Clock, attribute 2 time. */
const CLOCK_TIME: AttributeRef = { classId: INTERFACE_CLASSES.clock.classId, obis: CLOCK_OBIS, attribute: INTERFACE_CLASSES.clock.attributes.time };

export interface DlmsAdapterOptions {
  /** Catalogue quantity → OBIS code of its register and the catalogue unit to convert to. */
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  readonly timeoutMs: number;
  readonly maxReceivePduSize?: number;
  /**
   * scaler_unit entries cached, one per (meter, register): past it the least recently stored
   * goes and is read again with its value. Default 10,000; a fleet needs meters × registers read
   * (config `dlms.maxScalerEntries`).
   */
  readonly maxScalerEntries?: number;
  /** Attributes per GET-with-list; meters commonly accept 10 to 32. Default 16. */
  readonly maxListItems?: number;
  readonly now?: () => number;
  /**
   * Keys, system title and counters for a terminal whose endpoint uses HLS-GMAC or APDU
   * protection; called at each association, awaited (the key store may be a database). Undefined (or no function) fails the open with
   * DlmsNoKeysError. The endpoint's `security` and `systemTitle`, when set, override the
   * returned protection and expected server system title.
   */
  readonly securityFor?: (terminalId: string, endpoint: DlmsEndpoint) => ClientSecurity | undefined | Promise<ClientSecurity | undefined>;
  /**
   * The low-level security password of the logical device at `address`, for an endpoint
   * with `auth: 'low'`; called at each association. Undefined (or no function) fails the
   * association with DlmsNoPasswordError: an empty password is never sent.
   */
  readonly passwordFor?: (terminalId: string, address: string) => string | undefined | Promise<string | undefined>;
  /**
   * Every reply that carried bytes after its complete APDU, which the client ignored (some
   * meters pad); also counted in stats(). Runs inside the request: it must not throw.
   */
  readonly onTrailingBytes?: (event: TrailingBytes) => void;
  /** The push intake's settings and the station's parts it needs; without them `subscribe` throws. */
  readonly push?: DlmsPushOptions;
  /** Per meter type (endpoint `meterType`): firmware and nameplate object names, largest image (config `dlms.meterTypes`). */
  readonly meterTypes?: Readonly<Record<string, DlmsMeterTypeSettings>>;
}

export interface DlmsAdapterStats {
  /** Replies that carried bytes after their complete APDU. */
  readonly repliesWithTrailingBytes: number;
  /** The bytes ignored in them. */
  readonly trailingBytes: number;
}

/**
 * The values of `refs` in one GET-with-list. A value that does not decode spoils the rest of
 * the list APDU (A-XDR items carry no length of their own), so then each is read alone and
 * only the undecodable ones fail, each with its DlmsDecodeError.
 */
async function getEach(client: DlmsClient, refs: readonly AttributeRef[], signal: AbortSignal): Promise<(GetResult | DlmsDecodeError)[]> {
  try {
    return await client.getList(refs, signal);
  } catch (err) {
    if (!(err instanceof DlmsDecodeError) || !inStep(client)) throw err;
  }
  const out: (GetResult | DlmsDecodeError)[] = [];
  for (const ref of refs) {
    try {
      out.push(await client.get(ref, undefined, signal));
    } catch (err) {
      if (!(err instanceof DlmsDecodeError) || !inStep(client)) throw err;
      out.push(err);
    }
  }
  return out;
}

/** Whether a failed request left the association usable (the client reads its state afresh). */
function inStep(client: DlmsClient): boolean {
  return client.state === 'associated';
}

/** A terminal that needs security suite 0 has no keys in the key store. */
export class DlmsNoKeysError extends ProtocolError {
  readonly code = 'DLMS_NO_KEYS';
  constructor(terminalId: string) {
    super(`no keys for terminal ${terminalId}`, terminalId);
  }
}

/** A terminal whose endpoint uses low-level security has no password for the logical device. */
export class DlmsNoPasswordError extends ProtocolError {
  readonly code = 'DLMS_NO_PASSWORD';
  constructor(terminalId: string, address: string) {
    super(`no low-level security password for terminal ${terminalId}, address ${address}`, terminalId);
  }
}

/** A quantity the catalogue maps to an object the meter does not have, or in a unit that does not convert. */
export class DlmsMappingError extends ProtocolError {
  readonly code = 'DLMS_MAPPING';
}

export class DlmsAdapter implements TransportAdapter<DlmsEndpoint> {
  readonly protocol = 'dlms' as const;
  /** Polled over an association; commands take the same association (pushes arrive beside it). */
  readonly capabilities = { pollable: true, commandsOverPush: false, paymentMetering: true, firmwareTransfer: true } as const;
  private readonly sessions = new Set<DlmsSession>();
  /** scaler_unit of (meter, OBIS), shared by sessions: it never changes for a meter. */
  readonly scalers: ScalerUnitCache;
  /**
   * Object lists by meter type (endpoint `meterType`), at most 1,000 types. The read in
   * flight is kept too, so the first sessions of a type (thousands at once when a round
   * starts) wait for one read instead of each reading the list.
   */
  private readonly objectLists = new Map<string, Promise<ReadonlyMap<string, number>>>();
  private trailing = { replies: 0, bytes: 0 };
  private readonly options: DlmsAdapterOptions;
  private intake: DlmsPushIntake | undefined;
  private closed = false;

  constructor(options: DlmsAdapterOptions) {
    const report = options.onTrailingBytes;
    this.scalers = new ScalerUnitCache(options.maxScalerEntries);
    this.options = {
      ...options,
      onTrailingBytes: (e) => {
        this.trailing = { replies: this.trailing.replies + 1, bytes: this.trailing.bytes + e.count };
        report?.(e);
      },
    };
  }

  stats(): DlmsAdapterStats {
    return { repliesWithTrailingBytes: this.trailing.replies, trailingBytes: this.trailing.bytes };
  }

  async open(terminal: TerminalRef<DlmsEndpoint>, signal: AbortSignal): Promise<TerminalSession> {
    const cache: ObjectListCache = {
      get: (type) => this.objectLists.get(type),
      set: (type, classes) => {
        if (this.objectLists.size >= 1_000) this.objectLists.delete(this.objectLists.keys().next().value ?? '');
        this.objectLists.set(type, classes);
      },
      forget: (type, classes) => {
        if (this.objectLists.get(type) === classes) this.objectLists.delete(type);
      },
    };
    const session = new DlmsSession(terminal, this.options, this.scalers, cache, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    // Connect the terminal's first logical device now, so a dead terminal fails at open.
    try {
      await session.meter('1', signal);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /**
   * Starts the push intake (TCP listener, MQTT subscription, as the push settings enable);
   * every push's readings and events go to `sink`, whose `session` lends the terminal's lane
   * for the reads a push may need. The returned function stops it. One subscription at a time.
   */
  subscribe(sink: PushSink): () => Promise<void> {
    const push = this.options.push;
    if (push === undefined) throw new DlmsPushStateError('the DLMS adapter has no push options', undefined);
    if (this.closed) throw new DlmsPushStateError('adapter is closed', undefined);
    if (this.intake !== undefined) throw new DlmsPushStateError('adapter already has a subscription', undefined);
    const intake = startDlmsPushIntake({
      ...push, catalogue: this.options.catalogue, requestTimeoutMs: this.options.timeoutMs,
      knownScaler: (meterKey, obis) => this.scalers.get(meterKey, obis),
    }, sink);
    this.intake = intake;
    return async () => {
      if (this.intake === intake) this.intake = undefined;
      await intake.close();
    };
  }

  /** Resolves once the push listener listens (with its port) and the MQTT subscription was tried; rejects if the listener could not start. */
  whenSubscribed(): Promise<{ readonly tcpPort: number | undefined }> {
    if (this.intake === undefined) return Promise.reject(new DlmsPushStateError('not subscribed', undefined));
    return this.intake.ready;
  }

  /** The running push intake (receiver, learner, counters), while subscribed. */
  get pushIntake(): DlmsPushIntake | undefined {
    return this.intake;
  }

  async close(): Promise<void> {
    this.closed = true;
    const intake = this.intake;
    this.intake = undefined;
    await intake?.close();
    await Promise.all([...this.sessions].map((s) => s.close()));
  }
}

interface ObjectListCache {
  get(type: string): Promise<ReadonlyMap<string, number>> | undefined;
  set(type: string, classes: Promise<ReadonlyMap<string, number>>): void;
  /** Drops `classes` (a read that failed) unless a newer read took its place. */
  forget(type: string, classes: Promise<ReadonlyMap<string, number>>): void;
}

/** What `shared` resolves to, undefined if it rejects; rejects with the reason if `signal` aborts first. */
function untilAbortedOrFailed<T>(shared: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => { reject(signal.reason instanceof Error ? signal.reason : new ConnectionError('aborted', undefined)); };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      () => { signal.removeEventListener('abort', onAbort); resolve(undefined); },
    );
  });
}

interface MeterLink {
  readonly client: DlmsClient;
  /** Class id of each object the association lists, by OBIS: read once per association. */
  readonly classes: ReadonlyMap<string, number>;
}

class DlmsSession implements TerminalSession, PushListReader {
  private readonly meters = new Map<string, Promise<MeterLink>>();
  private closed = false;
  private readonly now: () => number;
  readonly payment: PaymentMetering;
  readonly firmware: FirmwareTransfer;
  private readonly meterType: DlmsMeterTypeSettings | undefined;

  constructor(
    private readonly terminal: TerminalRef<DlmsEndpoint>,
    private readonly o: DlmsAdapterOptions,
    private readonly scalers: ScalerUnitCache,
    private readonly objectLists: ObjectListCache,
    private readonly onClose: (s: DlmsSession) => void,
  ) {
    this.now = o.now ?? Date.now;
    this.payment = dlmsPaymentMetering(terminal.id, terminal.endpoint, (address, signal, work) => this.onMeter(address, signal, work));
    const type = terminal.endpoint.meterType;
    this.meterType = type === undefined ? undefined : o.meterTypes?.[type];
    this.firmware = dlmsFirmwareTransfer(terminal.id, this.meterType, (address, signal, work) => this.onMeter(address, signal, work));
  }

  /** The meter's nameplate objects (nameplate.ts), those its object list names. */
  readNameplate(address: string, signal: AbortSignal): Promise<DeviceNameplate> {
    return this.onMeter(address, signal, (client, classes) =>
      readDlmsNameplate(client, classes, this.meterType?.objects, { signal, terminalId: this.terminal.id }));
  }

  /**
   * `work` on the association with the meter at `address`. A refusal, an object the meter lacks
   * or a value that does not decode leaves the association in step and it is kept; anything
   * else may have broken it, and it is dropped.
   */
  private async onMeter<T>(address: string, signal: AbortSignal, work: (client: DlmsClient, classes: ReadonlyMap<string, number>) => Promise<T>): Promise<T> {
    const link = await this.meter(address, signal);
    try {
      return await work(link.client, link.classes);
    } catch (err) {
      const kept = err instanceof DataAccessError || err instanceof PaymentMeteringUnsupported || (err instanceof ProtocolError && inStep(link.client));
      if (!kept) this.forget(address);
      throw err;
    }
  }

  async read(items: readonly ReadItem[], signal: AbortSignal): Promise<ReadOutcome[]> {
    const byAddress = new Map<string, ReadItem[]>();
    for (const item of items) byAddress.set(item.address, [...(byAddress.get(item.address) ?? []), item]);
    const outcomes: ReadOutcome[] = [];
    for (const [address, group] of byAddress) {
      try {
        const link = await this.meter(address, signal);
        outcomes.push(...(await this.readMeter(link, address, group, signal)));
      } catch (err) {
        // The association is gone: drop it so the next read reconnects.
        this.forget(address);
        const error = err instanceof Error ? err : new ConnectionError(String(err), this.terminal.id);
        for (const item of group) outcomes.push({ ok: false, item, error });
      }
    }
    // In the order asked, whatever order the meters answered in.
    const rank = new Map(items.map((item, i) => [item, i]));
    return outcomes.sort((a, b) => (rank.get(a.item) ?? 0) - (rank.get(b.item) ?? 0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    const links = [...this.meters.values()];
    this.meters.clear();
    await Promise.allSettled(links.map(async (p) => {
      const link = await p;
      await link.client.release().catch(() => undefined);
      await link.client.close();
    }));
  }

  /** The association with the logical device at `address`, opened on first use. */
  meter(address: string, signal: AbortSignal): Promise<MeterLink> {
    if (this.closed) return Promise.reject(new ConnectionError('session closed', this.terminal.id));
    let link = this.meters.get(address);
    if (link === undefined) {
      link = this.associate(address, signal);
      this.meters.set(address, link);
      link.catch(() => { this.forget(address); });
    }
    return link;
  }

  private forget(address: string): void {
    const link = this.meters.get(address);
    this.meters.delete(address);
    void link?.then((l) => l.client.close(), () => undefined);
  }

  private async associate(address: string, signal: AbortSignal): Promise<MeterLink> {
    const serverSap = Number(address);
    if (!Number.isInteger(serverSap) || serverSap < 0 || serverSap > 0x3fff) {
      throw new DlmsMappingError(`meter address ${JSON.stringify(address)} is not a server SAP (0..16383)`, this.terminal.id);
    }
    const e = this.terminal.endpoint;
    // Before connecting: a meter we cannot authenticate to is not worth a connection.
    const auth = await this.authentication(address);
    const transport = await openDlmsTransport({
      host: e.host, port: e.port, framing: e.framing, clientSap: e.clientSap, serverSap,
      ...(e.serverLower === undefined ? {} : { serverLower: e.serverLower }),
      timeoutMs: this.o.timeoutMs, terminalId: this.terminal.id,
    }, signal);
    let security: ClientSecurity | undefined;
    try {
      security = await this.security();
    } catch (err) {
      await transport.close();
      throw err;
    }
    const client = new DlmsClient(transport, {
      clientSap: e.clientSap, timeoutMs: this.o.timeoutMs, terminalId: this.terminal.id, maxListItems: this.o.maxListItems ?? 16,
      auth,
      ...(this.o.maxReceivePduSize === undefined ? {} : { maxReceivePduSize: this.o.maxReceivePduSize }),
      ...(security === undefined ? {} : { security }),
      ...(this.o.onTrailingBytes === undefined ? {} : { onTrailingBytes: this.o.onTrailingBytes }),
    });
    try {
      await client.associate(signal);
      return { client, classes: await this.classesOf(client, e.meterType, signal) };
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /**
   * Class id of each object the association lists (Blue Book IC 15 attribute 2), by OBIS: the
   * meter type's list when one was read or is being read, else this association's own.
   */
  private async classesOf(client: DlmsClient, type: string | undefined, signal: AbortSignal): Promise<ReadonlyMap<string, number>> {
    const own = async () => new Map((await readObjectList(client, { signal })).map((x: ObjectListEntry) => [x.obis, x.classId] as const));
    if (type === undefined) return own();
    const shared = this.objectLists.get(type);
    if (shared !== undefined) {
      // Another session's read failed: this one reads the list itself.
      const classes = await untilAbortedOrFailed(shared, signal);
      if (classes !== undefined) return classes;
    }
    const reading = own();
    this.objectLists.set(type, reading);
    reading.catch(() => { this.objectLists.forget(type, reading); });
    return reading;
  }

  /** Green Book §9.2.7.2.2 (LLS): the password goes in the AARQ's calling-authentication-value. */
  private async authentication(address: string): Promise<Authentication> {
    const e = this.terminal.endpoint;
    if (e.auth !== 'low') return { mechanism: e.auth };
    const password = await this.o.passwordFor?.(this.terminal.id, address);
    if (password === undefined || password.length === 0) throw new DlmsNoPasswordError(this.terminal.id, address);
    return { mechanism: 'low', password };
  }

  /** The security settings of this terminal's associations, when its endpoint needs any. */
  private async security(): Promise<ClientSecurity | undefined> {
    const e = this.terminal.endpoint;
    if (e.auth !== 'high-gmac' && (e.security ?? 'none') === 'none') return undefined;
    const given = await this.o.securityFor?.(this.terminal.id, e);
    if (given === undefined) throw new DlmsNoKeysError(this.terminal.id);
    const title = e.systemTitle === undefined ? undefined : Uint8Array.from(Buffer.from(e.systemTitle, 'hex'));
    return {
      ...given,
      ...(e.security === undefined ? {} : { protection: e.security }),
      ...(title === undefined ? {} : { expectedServerSystemTitle: title }),
      ...(e.dedicatedKey === undefined ? {} : { useDedicatedKey: e.dedicatedKey }),
      ...(e.ciphering === undefined ? {} : { ciphering: e.ciphering }),
    };
  }

  /**
   * Profile entries captured in [from, to], each register column a reading at the entry's
   * capture time, in catalogue units. Columns that are no catalogue register (status words,
   * averages of other classes) are left out.
   */
  async readProfile(request: ProfileRequest, signal: AbortSignal): Promise<ProfileOutcome> {
    const { address } = request;
    let link: MeterLink | undefined;
    try {
      link = await this.meter(address, signal);
      const obis = PROFILE_OBIS[request.profile];
      if (!link.classes.has(obis)) return { ok: false, error: new DlmsMappingError(`the meter has no ${request.profile} profile ${obis}`, this.terminal.id) };
      const profile = await readProfile(link.client, obis, { from: request.from, to: request.to }, { signal });
      const meterKey = `${this.terminal.id}/${address}`;
      const scalers = await readColumnScalers(link.client, profile.columns, { cache: this.scalers, meter: meterKey, signal });
      const byObis = new Map(Object.entries(this.o.catalogue).map(([q, e]) => [e.obis, { quantity: q, unit: e.unit }]));
      const readings: RawReading[] = [];
      for (const row of profile.rows) {
        for (const cell of row.columns) {
          const target = byObis.get(cell.obis);
          const su = scalers.get(cell.obis);
          if (target === undefined || su === undefined || cell.attribute !== 2 || cell.dataIndex !== 0 || (cell.classId !== 3 && cell.classId !== 4)) continue;
          const exponent = catalogueExponent(su.unit, target.unit);
          if (exponent === undefined || cell.value.type === 'null-data') continue;
          readings.push({ terminalId: this.terminal.id, address, quantity: target.quantity, value: scaled(cell.value, su.scaler + exponent), ts: row.ts });
        }
      }
      return { ok: true, readings, lastCaptureTs: profile.rows.at(-1)?.ts };
    } catch (err) {
      // A refusal or a value that does not decode leaves the association in step; keep it.
      if (link === undefined || !inStep(link.client)) this.forget(address);
      return { ok: false, error: err instanceof Error ? err : new ConnectionError(String(err), this.terminal.id) };
    }
  }

  /** Remote control of the meter at `command.address`, read back (deviceControl.ts). */
  async execute(command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState> {
    const link = await this.meter(command.address, signal);
    try {
      return await executeDeviceCommand(link.client, command, {
        terminalId: this.terminal.id, meterKey: `${this.terminal.id}/${command.address}`, scalers: this.scalers, signal,
      });
    } catch (err) {
      // A refusal by the meter leaves the association usable; anything else may not have.
      if (!(err instanceof DataAccessError)) this.forget(command.address);
      throw err;
    }
  }

  /**
   * Every push setup's push_object_list, in one GET-with-list over this association: the
   * head-end reads them for a push whose list it does not know (Blue Book IC 40 attribute 2).
   */
  async readPushObjectLists(address: string, signal: AbortSignal): Promise<readonly PushObjectList[]> {
    const link = await this.meter(address, signal);
    const { classId, attributes } = INTERFACE_CLASSES.pushSetup;
    const refs = [...link.classes].filter(([, c]) => c === classId).map(([obis]) => ({ classId, obis, attribute: attributes.push_object_list }));
    if (refs.length === 0) return [];
    let results: GetResult[];
    try {
      results = await link.client.getList(refs, signal);
    } catch (err) {
      this.forget(address);
      throw err;
    }
    // A push setup this association may not read (a data-access-result) is left out, not fatal.
    return refs.flatMap((ref, i) => {
      const r = results[i];
      return r?.ok === true ? [parsePushObjectList(ref.obis, r.value)] : [];
    });
  }

  /**
   * One GET-with-list for the values, the clock (when asked for its drift) and the scalers not
   * yet known, then conversion. On a link of 400 ms round trip each request is 400 ms of a
   * session in flight, so the clock rides in the same list rather than in a request of its own.
   */
  private async readMeter(link: MeterLink, address: string, items: readonly ReadItem[], signal: AbortSignal): Promise<ReadOutcome[]> {
    const scalerKey = `${this.terminal.id}/${address}`;
    const plans: { item: ReadItem; obis: string; classId: number; unit: string; known: ScalerUnit | undefined }[] = [];
    const outcomes: ReadOutcome[] = [];
    const clockItems: ReadItem[] = [];
    for (const item of items) {
      const entry = this.o.catalogue[item.quantity];
      if (entry?.obis === CLOCK_OBIS) {
        clockItems.push(item);
        continue;
      }
      const classId = entry === undefined ? undefined : link.classes.get(entry.obis);
      if (entry === undefined || classId === undefined || (classId !== 3 && classId !== 4)) {
        outcomes.push({ ok: false, item, error: new DlmsMappingError(
          entry === undefined ? `no OBIS code for ${item.quantity}` : `the meter has no register ${entry.obis} for ${item.quantity}`, this.terminal.id) });
        continue;
      }
      // Taken now, not after the reply: another session may evict it from the bounded cache meanwhile.
      plans.push({ item, obis: entry.obis, classId, unit: entry.unit, known: this.scalers.get(scalerKey, entry.obis) });
    }
    const refs: AttributeRef[] = plans.flatMap((p) => [
      { classId: p.classId, obis: p.obis, attribute: 2 },
      ...(p.known === undefined ? [{ classId: p.classId, obis: p.obis, attribute: 3 }] : []),
    ]);
    if (clockItems.length > 0) refs.push(CLOCK_TIME);
    const before = this.now();
    const results = refs.length === 0 ? [] : await getEach(link.client, refs, signal);
    const ts = this.now();
    let i = 0;
    for (const p of plans) {
      const value = results[i++];
      const scalerResult = p.known === undefined ? results[i++] : undefined;
      if (value instanceof DlmsDecodeError) {
        outcomes.push({ ok: false, item: p.item, error: value });
        continue;
      }
      let su = p.known;
      if (scalerResult !== undefined && !(scalerResult instanceof DlmsDecodeError) && scalerResult.ok) {
        su = parseScalerUnit(scalerResult.value);
        this.scalers.set(scalerKey, p.obis, su);
      }
      if (value === undefined || !value.ok || su === undefined) {
        const why = value !== undefined && !value.ok ? value.error : scalerResult instanceof DlmsDecodeError ? `scaler_unit: ${scalerResult.message}` : 'no scaler_unit';
        outcomes.push({ ok: false, item: p.item, error: new DlmsMappingError(`${p.obis}: ${why}`, this.terminal.id) });
        continue;
      }
      const exponent = catalogueExponent(su.unit, p.unit);
      if (exponent === undefined) {
        outcomes.push({ ok: false, item: p.item, error: new DlmsMappingError(`${p.obis} is in ${unitSymbol(su.unit)}, not convertible to ${p.unit}`, this.terminal.id) });
        continue;
      }
      const reading: RawReading = { terminalId: this.terminal.id, address, quantity: p.item.quantity, value: scaled(value.value, su.scaler + exponent), ts };
      outcomes.push({ ok: true, item: p.item, reading });
    }
    if (clockItems.length > 0) {
      // The meter read its clock somewhere in the round trip; the midpoint halves the error.
      const drift = this.clockDrift(results[i], (before + ts) / 2);
      for (const item of clockItems) {
        outcomes.push(drift.ok ? { ok: true, item, reading: { terminalId: this.terminal.id, address, quantity: item.quantity, value: drift.seconds, ts: drift.ts } } : { ok: false, item, error: drift.error });
      }
    }
    return outcomes;
  }

  /** The meter's clock against ours: meter minus station, seconds. A clock refused or undecodable fails its item only. */
  private clockDrift(result: GetResult | DlmsDecodeError | undefined, station: number): { ok: true; seconds: number; ts: number } | { ok: false; error: Error } {
    if (result instanceof DlmsDecodeError) return { ok: false, error: result };
    if (result === undefined) return { ok: false, error: new DlmsMappingError(`${CLOCK_OBIS}: no result`, this.terminal.id) };
    if (!result.ok) return { ok: false, error: new DataAccessError(result.error, `get clock ${CLOCK_OBIS}`, this.terminal.id) };
    try {
      const epochMs = cosemDateTimeToEpochMs(asDateTime(result.value, 'clock time'));
      return { ok: true, seconds: (epochMs - station) / 1000, ts: Math.round(station) };
    } catch (err) {
      if (err instanceof DlmsDecodeError) return { ok: false, error: err };
      throw err;
    }
  }
}
