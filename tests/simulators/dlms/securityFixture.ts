/**
 * Shared set-up of the HLS-GMAC / suite-0 tests against the simulated meter: fixed keys and
 * system titles (the Green Book example's), client security settings with recorded events,
 * a connection helper for client 48, and a ciphering meter behind a capturing proxy.
 */
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { parseObis } from '../../../protocols/dlms/cosem/obis.js';
import type { ApduTransport } from '../../../protocols/dlms/client/transport.js';
import { DlmsClient, type DlmsClientOptions } from '../../../protocols/dlms/client/client.js';
import { openDlmsTransport, type DlmsFraming } from '../../../protocols/dlms/net/clientTransport.js';
import { MemorySecurityCounters } from '../../../protocols/dlms/security/memoryCounters.js';
import type { ApduProtection, ClientSecurity, SecurityCounters, SecurityEvent, SuiteZeroKeys } from '../../../protocols/dlms/security/settings.js';
import { DlmsMeterSimulator, HLS_CLIENT, type DlmsMeterSimulatorOptions } from '../../../simulators/dlms/server.js';
import { WrapperProxy } from './wrapperProxy.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

export const KEYS: SuiteZeroKeys = { ek: bytes('000102030405060708090A0B0C0D0E0F'), ak: bytes('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF') };
export const CLIENT_TITLE = bytes('4D4D4D0000000001');
export const METER_TITLE = bytes('4D4D4D0000BC614E');
export const OTHER_TITLE = bytes('4D4D4D0000BC614F');

let counterBase = 0;

/**
 * Fresh client counters above every earlier client's: the meter remembers the last counter of
 * client 48 across associations, as a real one does, so each client starts higher.
 */
export function freshCounters(): MemorySecurityCounters {
  counterBase += 1_000_000;
  return new MemorySecurityCounters(counterBase);
}

export interface RecordedSecurity extends ClientSecurity {
  readonly events: SecurityEvent[];
}

export function clientSecurity(protection: ApduProtection, overrides: Partial<ClientSecurity> = {}): RecordedSecurity {
  const events: SecurityEvent[] = [];
  return {
    protection, systemTitle: CLIENT_TITLE, keys: KEYS, counters: freshCounters(), expectedServerSystemTitle: METER_TITLE,
    ...overrides,
    onEvent: (e) => { events.push(e); },
    events,
  };
}

/** An ApduTransport that records every APDU sent, so a test can replay one or send raw bytes. */
export class RecordingTransport implements ApduTransport {
  readonly sent: Uint8Array[] = [];
  constructor(readonly inner: ApduTransport) {}
  request(apdu: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    this.sent.push(apdu);
    return this.inner.request(apdu, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface SecureConnection {
  readonly client: DlmsClient;
  readonly transport: RecordingTransport;
}

export async function connectHls(
  port: number, framing: DlmsFraming, security: ClientSecurity, options: Pick<DlmsClientOptions, 'maxReceivePduSize' | 'onTrailingBytes'> = {},
): Promise<SecureConnection> {
  const inner = await openDlmsTransport({
    host: '127.0.0.1', port, framing, clientSap: HLS_CLIENT, serverSap: 1, timeoutMs: 5_000,
    hdlc: { maxInfoTransmit: 128, maxInfoReceive: 128 },
  }, new AbortController().signal);
  const transport = new RecordingTransport(inner);
  const client = new DlmsClient(transport, {
    clientSap: HLS_CLIENT, timeoutMs: 5_000, maxReceivePduSize: options.maxReceivePduSize ?? 512, auth: { mechanism: 'high-gmac' }, security,
    ...(options.onTrailingBytes === undefined ? {} : { onTrailingBytes: options.onTrailingBytes }),
  });
  return { client, transport };
}

export interface ProxiedMeter {
  readonly sim: DlmsMeterSimulator;
  /** Between the test's client and `sim`: connect to its port to have the APDUs recorded. */
  readonly proxy: WrapperProxy;
  /** Stops the proxy, then the meter. */
  stop(): Promise<void>;
}

/** A wrapper-framed meter with these keys and system title (auth-enc), behind a WrapperProxy; both started. */
export async function startProxiedMeter(options: Omit<DlmsMeterSimulatorOptions, 'framing' | 'security'>): Promise<ProxiedMeter> {
  const sim = new DlmsMeterSimulator({ ...options, framing: 'wrapper', security: { systemTitle: METER_TITLE, keys: KEYS, protection: 'auth-enc' } });
  await sim.start();
  const proxy = new WrapperProxy(sim.port);
  try {
    await proxy.start();
  } catch (err) {
    await sim.stop();
    throw err;
  }
  return {
    sim,
    proxy,
    stop: async () => {
      await proxy.stop();
      await sim.stop();
    },
  };
}

/** Counters whose lastIncoming claims a server counter far ahead of the meter's: its replies look replayed. */
export function aheadOfMeter(): SecurityCounters {
  const c = freshCounters();
  return { nextOutgoing: () => c.nextOutgoing(), lastIncoming: () => 0xfffffff0, acceptIncoming: (n) => { c.acceptIncoming(n); } };
}

/** A push_object_list of `n` capture object definitions: long enough to need SET blocks. */
export function pushObjectList(n: number): DlmsData {
  return {
    type: 'array',
    value: Array.from({ length: n }, (_, i): DlmsData => ({
      type: 'structure',
      value: [
        { type: 'long-unsigned', value: 3 }, { type: 'octet-string', value: parseObis(`1.0.${1 + (i % 90)}.8.0.255`) },
        { type: 'integer', value: 2 }, { type: 'long-unsigned', value: 0 },
      ],
    })),
  };
}
