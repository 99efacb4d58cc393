/**
 * Fee-control notices (warnings, disconnection, reconnection) to each account's own target: a
 * webhook (the utility's SMS gateway, typically), an MQTT topic, or nothing. Delivery is the
 * alarms' (src/alarms/notify): signed, retried, bounded webhook queues and a QoS 1 MQTT client
 * of its own; `notify` only enqueues, so a dead gateway never holds the run up.
 */
import type { MqttConnection } from '../../../protocols/mqtt/connection.js';
import { MqttAlarmNotifier } from '../../alarms/notify/mqtt.js';
import { WebhookNotifier } from '../../alarms/notify/webhook.js';
import { LogThrottle, type Logger } from '../../observe/logger.js';
import type { FeeAccount, FeeDecision } from '../model.js';
import type { FeeRunConfig } from '../../config/feeRun.js';

/** What a receiver gets: the decision in words and numbers, with who it is about. */
export interface FeeNotice {
  readonly type: 'fee-control';
  readonly accountId: string;
  readonly customerRef: string;
  readonly name: string;
  readonly action: FeeDecision['action'];
  readonly reason: string;
  readonly message: string;
  readonly balanceMinor: number;
  readonly currency: string;
  readonly at: number;
  readonly nextWindowAt?: number;
  readonly commandId?: string;
}

export interface FeeNotifierStats {
  /** Notices handed to a delivery queue. */
  readonly queued: number;
  /** Notices refused: a webhook target without `fees.run.notify.webhookSecret`, or beyond `maxWebhookTargets`. */
  readonly refused: number;
}

export class FeeNotifier {
  private readonly webhooks = new Map<string, WebhookNotifier>();
  private readonly mqtt: MqttAlarmNotifier | undefined;
  private readonly throttle = new LogThrottle(60_000);
  private started = false;
  private counts = { queued: 0, refused: 0 };

  constructor(private readonly config: FeeRunConfig['notify'], broker: (MqttConnection & { readonly clientId: string }) | undefined, private readonly logger: Logger) {
    this.mqtt = broker === undefined ? undefined : new MqttAlarmNotifier({
      ...broker, topicPrefix: '',
      onProblem: (p) => { this.warn(`mqtt:${p.code}`, { code: p.code, reason: p.message }, 'fee notice MQTT problem'); },
    });
  }

  /** Queues the notice of a decision for the account's target; a decision that neither warns nor acts sends nothing. */
  notify(account: FeeAccount, decision: FeeDecision): void {
    if (decision.action === 'none' || decision.action === 'wait') return;
    const target = account.notify;
    if (target.kind === 'none') return;
    const notice = noticeOf(account, decision);
    if (target.kind === 'mqtt') {
      if (this.mqtt === undefined) {
        this.refuse('mqtt', 'no MQTT broker for fee notices');
        return;
      }
      this.mqtt.publish(target.topic, notice);
    } else {
      const hook = this.webhookFor(target.url);
      if (hook === undefined) return;
      hook.post(notice);
    }
    this.counts.queued += 1;
  }

  /** Begins delivering (the leader's duty roster calls it); a start while started does nothing. */
  start(): void {
    this.started = true;
    this.mqtt?.start();
    for (const w of this.webhooks.values()) w.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.allSettled([this.mqtt?.close(), ...[...this.webhooks.values()].map((w) => w.close())]);
  }

  stats(): FeeNotifierStats {
    return { ...this.counts };
  }

  private webhookFor(url: string): WebhookNotifier | undefined {
    const known = this.webhooks.get(url);
    if (known !== undefined) return known;
    const secret = this.config.webhookSecret;
    if (secret === undefined) {
      this.refuse('secret', 'a webhook target needs fees.run.notify.webhookSecret');
      return undefined;
    }
    if (this.webhooks.size >= this.config.maxWebhookTargets) {
      this.refuse('targets', `more than fees.run.notify.maxWebhookTargets (${this.config.maxWebhookTargets}) webhook URLs`);
      return undefined;
    }
    const hook = new WebhookNotifier(
      { url, secret, minSeverity: 'info', timeoutMs: this.config.timeoutMs, maxAttempts: this.config.maxAttempts, queueCapacity: this.config.queueCapacity },
      { onProblem: (p) => { this.warn(`webhook:${p.code}`, { code: p.code, reason: p.message }, 'fee notice webhook problem'); } },
    );
    this.webhooks.set(url, hook);
    if (this.started) hook.start();
    return hook;
  }

  private refuse(kind: string, reason: string): void {
    this.counts.refused += 1;
    this.warn(`refused:${kind}`, { reason }, 'fee notice refused');
  }

  private warn(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.throttle.pass(key);
    if (suppressed >= 0) this.logger.warn({ ...fields, suppressed }, message);
  }
}

function noticeOf(account: FeeAccount, d: FeeDecision): FeeNotice {
  return {
    type: 'fee-control', accountId: account.id, customerRef: account.customerRef, name: account.name,
    action: d.action, reason: d.reason, message: d.message, balanceMinor: d.balanceMinor, currency: account.currency, at: d.at,
    ...(d.nextWindowAt === undefined ? {} : { nextWindowAt: d.nextWindowAt }),
    ...(d.commandId === undefined ? {} : { commandId: d.commandId }),
  };
}
