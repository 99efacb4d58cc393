/**
 * The OTA channel over the station's broker (docs/mqtt-ota.md): offers go out at QoS 1 on
 * each terminal's offer topic, reports come in on `<prefix>/+/ota/report`. Its own mqtt.js
 * client with a clean session, like the command channel (protocols/mqtt/commandChannel.ts):
 * a report lost while the station is away is made good by the campaign offering again, which
 * a terminal answers with its current state of that offer (the convention's "Repeated offers").
 *
 * What terminals send is never trusted: a report is parsed strictly, and a bad one is counted
 * and logged once a minute per problem code, never passed on and never thrown.
 */
import type { MqttClient } from 'mqtt';
import { ConnectionError, ProtocolError, TimeoutError } from '../../../protocols/adapter.js';
import { SubscribedClient, type MqttConnection } from '../../../protocols/mqtt/connection.js';
import { withDeadline } from '../../../protocols/mqtt/disconnect.js';
import { AdapterStateError, TopicError } from '../../../protocols/mqtt/errors.js';
import { encodeOtaOffer, otaOfferTopic, otaReportFilter, parseOtaReport, parseOtaTopic } from '../../../protocols/mqtt/ota.js';
import { isTerminalId } from '../../../protocols/mqtt/topics.js';
import { LogThrottle, type Logger } from '../../observe/logger.js';
import type { OtaChannel, OtaOffer, OtaReport } from './channel.js';

/** `maxPendingOffers` offers already await the broker's PUBACK. */
export class OtaOffersBusy extends ProtocolError {
  readonly code = 'OTA_OFFERS_BUSY';
}

export interface MqttOtaChannelOptions {
  /** The station's broker (src/broker `StationBroker.connection`). */
  readonly connection: MqttConnection;
  /** Its own id, e.g. `roleClientId(mqtt.clientId, 'ota', nodeId)`, so it never takes another station client's session over. */
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly logger: Logger;
  /** One line per problem code per interval. Default: a minute. */
  readonly throttle?: LogThrottle;
  /** Longest wait for the broker's PUBACK of an offer. Default 10 s. */
  readonly publishTimeoutMs?: number;
  /** Offers handed to the client and not yet acknowledged by the broker, at most. Default 1000. */
  readonly maxPendingOffers?: number;
}

export interface MqttOtaChannelStats {
  /** Offers the broker acknowledged. */
  readonly offered: number;
  /** Reports passed to the listeners. */
  readonly reports: number;
  /** The same reports, by state. */
  readonly reportsByState: Readonly<Record<OtaReport['state'], number>>;
  /** Messages refused for their topic or payload. */
  readonly malformed: number;
  /** Listener calls that threw. */
  readonly listenerErrors: number;
}

export const DEFAULT_OTA_PUBLISH_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PENDING_OFFERS = 1_000;

type ReportListener = (terminalId: string, report: OtaReport) => void;

export class MqttOtaChannel implements OtaChannel {
  readonly #listeners = new Set<ReportListener>();
  readonly #throttle: LogThrottle;
  readonly #log: Logger;
  readonly #client: SubscribedClient;
  #pending = 0;
  #closed = false;
  #stats = { offered: 0, reports: 0, malformed: 0, listenerErrors: 0 };
  readonly #byState: Record<OtaReport['state'], number> = { downloading: 0, downloaded: 0, verified: 0, failed: 0, activated: 0 };

  constructor(private readonly o: MqttOtaChannelOptions) {
    this.#throttle = o.throttle ?? new LogThrottle(60_000);
    this.#log = o.logger.child({ component: 'ota' });
    this.#client = new SubscribedClient({
      connection: o.connection, clientId: o.clientId, filter: otaReportFilter(o.topicPrefix),
      onMessage: (topic, payload) => { this.#receive(topic, payload); },
      onError: (err) => { this.#problem('BROKER_ERROR', undefined, err.message); },
    });
  }

  /** Connects and subscribes to the reports; resolves once the broker granted the subscription. Offers and listeners start it too. */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** Publishes the offer (QoS 1, not retained); resolves once the broker acknowledged it. */
  async offer(terminalId: string, offer: OtaOffer): Promise<void> {
    if (this.#closed) throw new AdapterStateError('OTA channel closed', terminalId);
    if (!isTerminalId(terminalId)) throw new TopicError('INVALID_TERMINAL_ID', otaOfferTopic(this.o.topicPrefix, terminalId), 'not a terminal id the convention allows');
    const payload = encodeOtaOffer(terminalId, offer);
    const max = this.o.maxPendingOffers ?? DEFAULT_MAX_PENDING_OFFERS;
    if (this.#pending >= max) throw new OtaOffersBusy(`${max} offers already await the broker`, terminalId);
    this.#pending += 1;
    const timeoutMs = this.o.publishTimeoutMs ?? DEFAULT_OTA_PUBLISH_TIMEOUT_MS;
    // Counted until mqtt.js settles it, not until we stop waiting: a publish queued while the broker is away stays queued.
    const published = this.#connect()
      .then((client) => client.publishAsync(otaOfferTopic(this.o.topicPrefix, terminalId), payload, { qos: 1, retain: false }))
      .catch((err: unknown) => {
        throw new ConnectionError(`could not publish OTA offer ${offer.offerId}: ${err instanceof Error ? err.message : String(err)}`, terminalId, { cause: err });
      })
      .finally(() => { this.#pending -= 1; });
    const outcome = await withDeadline(published, timeoutMs);
    if (outcome === 'late') {
      published.catch(() => undefined);
      throw new TimeoutError(terminalId, timeoutMs, `OTA offer ${offer.offerId}`);
    }
    this.#stats.offered += 1;
  }

  onReport(listener: ReportListener): () => void {
    this.#listeners.add(listener);
    if (!this.#closed) {
      this.#connect().catch((err: unknown) => { this.#problem('OTA_SUBSCRIBE', undefined, err instanceof Error ? err.message : String(err)); });
    }
    return () => { this.#listeners.delete(listener); };
  }

  stats(): MqttOtaChannelStats {
    return { ...this.#stats, reportsByState: { ...this.#byState } };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#client.close();
  }

  #connect(): Promise<MqttClient> {
    if (this.#closed) return Promise.reject(new AdapterStateError('OTA channel closed', undefined));
    return this.#client.client();
  }

  #receive(topic: string, payload: Buffer): void {
    const where = parseOtaTopic(this.o.topicPrefix, topic);
    if (!where.ok || where.kind !== 'report') {
      this.#stats.malformed += 1;
      this.#problem(where.ok ? 'UNKNOWN_KIND' : where.error.code, undefined, where.ok ? `not a report topic: ${topic}` : where.error.message);
      return;
    }
    const parsed = parseOtaReport(where.terminalId, payload);
    if (!parsed.ok) {
      this.#stats.malformed += 1;
      this.#problem(parsed.error.code, where.terminalId, parsed.error.message);
      return;
    }
    this.#stats.reports += 1;
    this.#byState[parsed.report.state] += 1;
    for (const listener of [...this.#listeners]) {
      try {
        listener(where.terminalId, { ...parsed.report });
      } catch (err) {
        this.#stats.listenerErrors += 1;
        this.#problem('LISTENER', where.terminalId, err instanceof Error ? err.message : String(err));
      }
    }
  }

  #problem(code: string, terminalId: string | undefined, reason: string): void {
    const suppressed = this.#throttle.pass(`ota:${code}`);
    if (suppressed < 0) return;
    this.#log.warn({ code, terminalId, reason, suppressed }, 'OTA report refused or failed');
  }
}
