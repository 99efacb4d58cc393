/**
 * Watches the MQTT broker for messages it drops after acknowledging them: its own client
 * subscribes to the broker's $SYS statistics (Mosquitto: `$SYS/broker/publish/messages/dropped`,
 * `$SYS/broker/store/messages/count`, and `$SYS/broker/uptime` as the heartbeat of each
 * `sys_interval` pass), feeds them to the pure BrokerDropWatch and hands its alarm signals
 * to the alarm service. The counter as last seen is kept in the store, so the drops of a
 * time the station was down are counted when it comes back.
 *
 * `DropCounterStore` is the storage port: `SqliteDropCounterStore` here,
 * `PostgresDropCounterStore` in postgresDropCounter.ts. The counter arrives in MQTT message
 * handlers, which do not wait: the watch's mark is authoritative in memory and written behind
 * (writeBehind.ts), retried, failures logged throttled, drained at close. Each write stores the
 * newest mark when it runs, so one write in flight and one waiting are all the queue ever needs.
 * A crash loses the mark of the last `sys_interval` pass at most: the next start then counts
 * the drops since the mark before it, which is what the mark is for.
 *
 * A broker that publishes no such counter (aedes publishes only `$SYS/<id>/heartbeat`,
 * `birth`, `new/clients` and `disconnect/clients`; Mosquitto with `sys_interval 0` nothing)
 * is fine: after `counterWaitMs` that is logged once and shown in /health.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnection } from '../../protocols/mqtt/connection.js';
import { disconnect } from '../../protocols/mqtt/disconnect.js';
import type { Alarm, AlarmSignal, AlarmSubject } from '../domain/index.js';
import type { ComponentStatus } from '../observe/health.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import { settled, type Db } from '../storage/db.js';
import { WriteBehindQueue } from '../storage/writeBehind.js';
import { BROKER_DROPS_RULE_ID, BROKER_SUBJECT, BrokerDropWatch, type DropCounterMark } from './dropWatch.js';

export const SYS_DROPPED = '$SYS/broker/publish/messages/dropped';
export const SYS_STORED = '$SYS/broker/store/messages/count';
export const SYS_HEARTBEAT = '$SYS/broker/uptime';

export interface BrokerDropMonitorOptions extends MqttConnection {
  readonly clientId: string;
  /** The alarm clears once the counter has not grown for this long (`mqtt.brokerDrops.clearAfterMs`). */
  readonly clearAfterMs: number;
  /** No counter this long after subscribing: the broker publishes none (`mqtt.brokerDrops.counterWaitMs`). */
  readonly counterWaitMs: number;
  readonly store: DropCounterStore;
  readonly alarms: {
    onSignal(signal: AlarmSignal): unknown;
    openFor(ruleId: string, subject: AlarmSubject): Alarm | undefined;
  };
  readonly logger: Logger;
  /** How often the quiet period is checked. Default 1000 ms. */
  readonly tickMs?: number;
  readonly now?: () => number;
}

export interface BrokerDropStats {
  /** The broker's counter as last published; undefined until seen. */
  readonly counter: number | undefined;
  readonly storedMessages: number | undefined;
  /** Dropped messages this station run has seen the counter grow by. */
  readonly droppedSeen: number;
  readonly resets: number;
  readonly alarmOpen: boolean;
  /** true once `counterWaitMs` passed after a subscription without a counter. */
  readonly counterAbsent: boolean;
  readonly malformed: number;
}

/** Where the counter as last seen is kept, on any driver. */
export interface DropCounterStore {
  get(): Promise<DropCounterMark | undefined>;
  put(mark: DropCounterMark): Promise<void>;
}

/** How long `close` keeps retrying the last mark before it gives up (the next start counts from the mark before). */
export const DROP_MARK_FLUSH_MS = 5_000;

export class BrokerDropMonitor {
  private readonly watch: BrokerDropWatch;
  /** Each item asks for the newest mark to be written; at most one in flight and one waiting. */
  private readonly writes: WriteBehindQueue<null>;
  private written: DropCounterMark | undefined;
  private readonly now: () => number;
  private readonly throttle: LogThrottle;
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private storedMessages: number | undefined;
  private counterSeen = false;
  private counterAbsent = false;
  private malformed = 0;

  /** Reads the counter as last seen, then builds the monitor; `start` it. */
  static async open(options: BrokerDropMonitorOptions): Promise<BrokerDropMonitor> {
    return new BrokerDropMonitor(options, await options.store.get());
  }

  private constructor(private readonly options: BrokerDropMonitorOptions, mark: DropCounterMark | undefined) {
    this.now = options.now ?? Date.now;
    this.throttle = new LogThrottle(60_000, this.now);
    this.written = mark;
    this.writes = new WriteBehindQueue<null>({
      write: () => this.writeMark(),
      max: 2,
      what: 'broker drop counter',
      onFailure: (err) => {
        this.warn('store', { err }, 'broker drop monitor: could not keep the counter yet (retried); drops while the station is down may go unseen');
      },
    });
    const open = options.alarms.openFor(BROKER_DROPS_RULE_ID, BROKER_SUBJECT);
    this.watch = new BrokerDropWatch({
      clearAfterMs: options.clearAfterMs,
      now: this.now(),
      ...(mark === undefined ? {} : { mark }),
      ...(open === undefined ? {} : { open: { since: open.since, dropped: open.value } }),
    });
  }

  /** Connects in the background and keeps reconnecting; never throws for an unreachable broker. */
  start(): void {
    if (this.client !== undefined) return;
    const o = this.options;
    // Nothing to keep between connections: the counter is retained, the heartbeat periodic.
    const client = connectMqtt(o, { clientId: o.clientId, persistentSession: false });
    client.on('connect', () => { this.subscribe(client); });
    client.on('close', () => { this.watch.disconnected(); });
    client.on('error', (err) => { this.warn('broker-error', { err: err.message }, 'broker drop monitor: MQTT error'); });
    client.on('message', (topic, payload, packet) => { this.message(topic, payload.toString('utf8'), packet.retain); });
    this.client = client;
    this.timer = setInterval(() => { this.tick(); }, o.tickMs ?? 1000);
    this.timer.unref();
  }

  stats(): BrokerDropStats {
    const s = this.watch.state();
    return {
      counter: s.counter, storedMessages: this.storedMessages, droppedSeen: s.droppedSeen, resets: s.resets,
      alarmOpen: s.alarmOpen, counterAbsent: this.counterAbsent, malformed: this.malformed,
    };
  }

  health(): ComponentStatus {
    const s = this.watch.state();
    if (s.alarmOpen) return { status: 'degraded', detail: `the broker dropped acknowledged messages (${s.droppedSeen} seen by this run); see the ${BROKER_DROPS_RULE_ID} alarm` };
    if (this.counterAbsent) return { status: 'ok', detail: `the broker publishes no ${SYS_DROPPED}: messages it drops cannot be seen` };
    if (s.counter === undefined) return { status: 'ok', detail: 'waiting for the broker\'s dropped-message counter' };
    return { status: 'ok', detail: `broker dropped-message counter ${s.counter}, not growing` };
  }

  metricSources(): MetricSource[] {
    return [
      {
        name: 'gridhead_mqtt_broker_dropped_messages', type: 'counter',
        help: `Messages the MQTT broker dropped after acknowledging them, as it publishes them (${SYS_DROPPED}; cumulative since the broker started)`,
        read: () => { const v = this.watch.state().counter; return v === undefined ? [] : [{ value: v }]; },
      },
      {
        name: 'gridhead_mqtt_broker_stored_messages', type: 'gauge',
        help: `Messages held in the MQTT broker's store (${SYS_STORED})`,
        read: () => (this.storedMessages === undefined ? [] : [{ value: this.storedMessages }]),
      },
    ];
  }

  /** Checks the quiet period now (the timer does it every `tickMs`). */
  tick(): void {
    const clear = this.watch.tick(this.now());
    if (clear !== undefined) this.options.alarms.onSignal(clear);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.waitTimer);
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await disconnect(client);
    const abandoned = await this.writes.drain(DROP_MARK_FLUSH_MS);
    if (abandoned > 0) this.options.logger.warn('broker drop monitor: the last counter could not be kept; the next start counts from the one before');
  }

  /** Settles once every mark seen so far is written (or given up at close). */
  async settled(): Promise<void> {
    await this.writes.settled().catch(() => undefined);
  }

  private subscribe(client: MqttClient): void {
    client.subscribe([SYS_DROPPED, SYS_STORED, SYS_HEARTBEAT], { qos: 0 }, (err) => {
      // A refusal (SUBACK 0x80, MQTT 3.1.1 §3.9.3) leaves the counter unseen, as on a broker without one.
      if (err !== null) this.warn('subscribe', { err: err.message }, 'broker drop monitor: the $SYS subscription failed or was refused');
      if (this.counterSeen || this.waitTimer !== undefined) return;
      this.waitTimer = setTimeout(() => {
        if (this.counterSeen) return;
        this.counterAbsent = true;
        this.options.logger.info({ topic: SYS_DROPPED, waitedMs: this.options.counterWaitMs },
          'the MQTT broker publishes no dropped-message counter (aedes, or Mosquitto with sys_interval 0): messages it drops cannot be seen');
      }, this.options.counterWaitMs);
      this.waitTimer.unref();
    });
  }

  private message(topic: string, text: string, retained: boolean): void {
    const at = this.now();
    if (topic === SYS_HEARTBEAT) {
      // Mosquitto retains its uptime too: the copy sent on subscribing is an earlier pass, not one on this connection.
      if (!retained) this.watch.heartbeat(at);
      this.persist();
      return;
    }
    // "$SYS/broker/uptime" reads "12 seconds"; the counters are plain integers.
    const value = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : undefined;
    if (value === undefined) {
      this.malformed += 1;
      this.warn(`malformed:${topic}`, { topic, payload: text.slice(0, 64) }, 'broker drop monitor: $SYS value is not a count; ignored');
      return;
    }
    if (topic === SYS_STORED) {
      this.storedMessages = value;
      return;
    }
    if (topic !== SYS_DROPPED) return;
    if (!this.counterSeen && this.counterAbsent) this.options.logger.info({ topic }, 'the MQTT broker publishes its dropped-message counter after all');
    this.counterSeen = true;
    this.counterAbsent = false;
    const signal = this.watch.dropped(value, at, { retained, ...(this.storedMessages === undefined ? {} : { storedMessages: this.storedMessages }) });
    this.persist();
    if (signal !== undefined) this.options.alarms.onSignal(signal);
  }

  private persist(): void {
    const mark = this.watch.mark();
    if (mark === undefined || sameMark(mark, this.written)) return;
    // Full means a write is waiting that has not begun: it writes this mark, the newest, when it runs.
    if (this.writes.hasRoom()) void this.writes.push(null);
  }

  /** Writes the newest mark; a heartbeat that confirms nothing new costs nothing. */
  private async writeMark(): Promise<void> {
    const mark = this.watch.mark();
    if (mark === undefined || sameMark(mark, this.written)) return;
    await this.options.store.put(mark);
    this.written = mark;
  }

  private warn(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.throttle.pass(key);
    if (suppressed >= 0) this.options.logger.warn({ ...fields, suppressed }, message);
  }
}

function sameMark(a: DropCounterMark, b: DropCounterMark | undefined): boolean {
  return a.value === b?.value && a.confirmedAt === b.confirmedAt;
}

/** The one row of `broker_drop_counter` (migration 13) in the embedded store. */
export class SqliteDropCounterStore implements DropCounterStore {
  private readonly select;
  private readonly upsert;

  constructor(db: Db) {
    this.select = db.prepare<[], { value: number; confirmed_at: number }>('SELECT value, confirmed_at FROM broker_drop_counter WHERE id = 1');
    this.upsert = db.prepare('INSERT INTO broker_drop_counter (id, value, confirmed_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value, confirmed_at = excluded.confirmed_at');
  }

  get(): Promise<DropCounterMark | undefined> {
    return settled(() => {
      const row = this.select.get();
      return row === undefined ? undefined : { value: row.value, confirmedAt: row.confirmed_at };
    });
  }

  put(mark: DropCounterMark): Promise<void> {
    return settled(() => { this.upsert.run(mark.value, mark.confirmedAt); });
  }
}
