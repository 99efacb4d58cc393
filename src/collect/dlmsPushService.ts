/**
 * The head-end's DLMS push intake as one unit for the composition root: the receiver
 * (dlmsPush.ts), its scaler cache reading attribute 3 through the DLMS adapter, the TCP
 * wrapper listener and the MQTT subscription, each enabled by `dlms.push`.
 */
import type { RawDeviceEvent, RawReading, TransportAdapter } from '../../protocols/adapter.js';
import type { ScalerUnit } from '../../protocols/dlms/cosem/units.js';
import { startPushListener, type PushListener } from '../../protocols/dlms/net/pushListener.js';
import { DlmsPushMqttSubscriber } from '../../protocols/dlms/net/pushMqtt.js';
import type { PushSecurity } from '../../protocols/dlms/push/notification.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import type { GridheadConfig } from '../config/schema.js';
import { endpointOf } from './terminalLane.js';
import { DlmsPushReceiver, type PushDirectory } from './dlmsPush.js';
import { PushScalerCache } from './dlmsPushScalers.js';

export interface DlmsPushServiceOptions {
  readonly config: GridheadConfig['dlms']['push'];
  readonly directory: PushDirectory;
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  /** The DLMS adapter: associations to read scalers, and its scaler cache (filled by polling). */
  readonly adapter: Pick<TransportAdapter, 'open'> & { readonly scalers: { get(meter: string, obis: string): ScalerUnit | undefined } };
  readonly requestTimeoutMs: number;
  readonly mqtt?: { readonly url: string; readonly clientId: string; readonly topicPrefix: string; readonly username?: string; readonly password?: string };
  readonly security?: PushSecurity;
  readonly readings: (batch: readonly RawReading[]) => void | Promise<void>;
  readonly events: (batch: readonly RawDeviceEvent[]) => void | Promise<void>;
  readonly onSecurityEvent?: (event: SecurityEvent & { readonly meterId?: string; readonly terminalId?: string }) => void;
  readonly onProblem: (source: 'receiver' | 'tcp' | 'mqtt', code: string, sender: string, detail: string) => void;
}

export interface DlmsPushService {
  readonly receiver: DlmsPushReceiver;
  /** The TCP listener's port, when it listens. */
  readonly tcpPort: number | undefined;
  readonly listener: PushListener | undefined;
  close(): Promise<void>;
}

export async function startDlmsPushService(o: DlmsPushServiceOptions): Promise<DlmsPushService> {
  const c = o.config;
  const quantityOf = new Map(Object.entries(o.catalogue).map(([q, e]) => [e.obis, q]));
  const scalers = new PushScalerCache({
    known: (terminalId, address, obis) => o.adapter.scalers.get(`${terminalId}/${address}`, obis),
    retryAfterMs: c.scalerRetryMs,
    load: async (terminal, address, obis) => {
      // Reading the registers through the adapter fills its scaler cache (value and scaler_unit in one GET-with-list).
      const signal = AbortSignal.timeout(o.requestTimeoutMs * 4);
      const session = await o.adapter.open({ id: terminal.id, endpoint: endpointOf(terminal) }, signal);
      try {
        const items = obis.flatMap((x) => { const q = quantityOf.get(x); return q === undefined ? [] : [{ address, quantity: q }]; });
        await session.read(items, signal);
      } finally {
        await session.close();
      }
      const got = new Map<string, ScalerUnit>();
      for (const x of obis) {
        const su = o.adapter.scalers.get(`${terminal.id}/${address}`, x);
        if (su !== undefined) got.set(x, su);
      }
      return got;
    },
  });
  const receiver = new DlmsPushReceiver({
    directory: o.directory,
    catalogue: o.catalogue,
    scalers,
    maxApduBytes: c.maxApduBytes,
    readings: o.readings,
    events: o.events,
    onProblem: (code, sender, detail) => { o.onProblem('receiver', code, sender, detail); },
    ...(o.security === undefined ? {} : { security: o.security }),
    ...(o.onSecurityEvent === undefined ? {} : { onSecurityEvent: o.onSecurityEvent }),
  });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const f of closers.reverse().splice(0)) await f().catch(() => undefined);
  };
  try {
    let listener: PushListener | undefined;
    if (c.listen.enabled) {
      listener = await startPushListener({
        host: c.listen.host,
        port: c.listen.port,
        maxConnections: c.maxConnections,
        maxApduBytes: c.maxApduBytes,
        maxBytesPerConnection: c.maxBytesPerConnection,
        idleTimeoutMs: c.idleTimeoutMs,
        onApdu: (apdu, origin) => receiver.handle(apdu, origin),
        onProblem: (problem, remote, detail) => { o.onProblem('tcp', problem, remote, detail); },
      });
      const l = listener;
      closers.push(() => l.close());
    }
    if (c.mqtt.enabled && o.mqtt !== undefined) {
      const m = o.mqtt;
      const sub = new DlmsPushMqttSubscriber({
        url: m.url,
        clientId: `${m.clientId}-dlms-push`,
        topicPrefix: m.topicPrefix,
        maxPayloadBytes: c.maxApduBytes,
        clientOptions: { ...(m.username === undefined ? {} : { username: m.username }), ...(m.password === undefined ? {} : { password: m.password }) },
        onApdu: (apdu, origin) => receiver.handle(apdu, origin),
        onProblem: (code, detail) => { o.onProblem('mqtt', code, '-', detail); },
      });
      closers.push(() => sub.close());
      await sub.start(AbortSignal.timeout(15_000)).catch((err: unknown) => {
        // Not fatal: mqtt.js keeps reconnecting and subscribes on connect.
        o.onProblem('mqtt', 'broker-error', '-', `not subscribed yet: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    return { receiver, tcpPort: listener?.port, listener, close };
  } catch (err) {
    await close();
    throw err;
  }
}
