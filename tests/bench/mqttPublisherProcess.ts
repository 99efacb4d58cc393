/**
 * The publishing side of the MQTT ingest benchmark, in a process of its own (the benchmark
 * forks it) so the simulated terminals' CPU lands on the other core, not in the head-end's
 * figure.
 *
 * IPC: parent → `start`; child → `ready` once every terminal is connected and its first
 * message (published on connect) acknowledged; parent → `go`, then `progress` (readings the
 * head-end accepted so far) every few ms, and `stop` when time is up; child → `done` once
 * no publish is left in flight and the terminals announced themselves offline. The child
 * ends when the parent disconnects.
 *
 * Flow control: the terminals publish bursts at QoS 1 as fast as the broker acknowledges
 * them, but stay at most `windowReadings` ahead of what the head-end accepted. The broker's
 * backlog stays bounded (under its queue limit, so it never drops), the head-end is the
 * bottleneck whenever the window is full, and the drain after `stop` is short.
 */
import { MqttTerminalSimulator } from '../../simulators/mqtt/terminal.js';

export interface PublishersStart {
  readonly type: 'start';
  readonly url: string;
  readonly terminals: number;
  readonly metersPerTerminal: number;
  readonly seed: number;
  /** Device time of every terminal's first message, ms epoch; later messages step forward. */
  readonly deviceStartTs: number;
  /** Device-time step between one terminal's consecutive messages, so no two readings share (meter, quantity, ts). */
  readonly stepMs: number;
  /** Messages per publishBurst call. */
  readonly burstMessages: number;
  /** Messages awaiting PUBACK at once, per terminal. */
  readonly maxInflight: number;
  readonly windowReadings: number;
  /** Readings to publish at most, the ones published on connect included. */
  readonly maxReadings: number;
}

export type PublishersCommand =
  | PublishersStart
  | { readonly type: 'go' }
  | { readonly type: 'progress'; readonly accepted: number }
  | { readonly type: 'stop' };

export type PublishersReply =
  | { readonly type: 'ready'; readonly readings: number }
  | {
      readonly type: 'done';
      /** Messages and readings the broker acknowledged (PUBACK), the first ones included. */
      readonly messages: number;
      readonly readings: number;
      readonly errors: number;
      /** Whole-process CPU from `go` to `done`, µs. */
      readonly cpuUs: number;
      /** Mean of (published − accepted) at each progress message, readings. */
      readonly meanBacklog: number;
    }
  | { readonly type: 'failed'; readonly message: string };

export function benchTerminalId(i: number): string {
  return `bench-${String(i).padStart(4, '0')}`;
}

/** Meter addresses on every bench terminal: "1".."n", as the simulator numbers them. */
export function benchMeterAddresses(metersPerTerminal: number): string[] {
  return Array.from({ length: metersPerTerminal }, (_, i) => String(i + 1));
}

export function isPublishersReply(m: unknown): m is PublishersReply {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'done' || type === 'failed';
}

class Publishers {
  private readonly sims: MqttTerminalSimulator[] = [];
  private readonly clocks: number[] = [];
  private accepted = 0;
  private reserved = 0;
  private stopped = false;
  private wake: (() => void)[] = [];
  private backlogSum = 0;
  private backlogSamples = 0;
  private failures = 0;

  constructor(private readonly plan: PublishersStart) {}

  async connect(): Promise<number> {
    const p = this.plan;
    for (let i = 0; i < p.terminals; i++) {
      this.clocks.push(p.deviceStartTs);
      const sim = new MqttTerminalSimulator({
        url: p.url,
        terminalId: benchTerminalId(i),
        meters: benchMeterAddresses(p.metersPerTerminal),
        seed: p.seed + i,
        // Only bursts publish; the periodic publish would reuse the device time of the last burst.
        publishIntervalMs: 3_600_000,
        clock: () => this.clocks[i] ?? p.deviceStartTs,
      });
      this.sims.push(sim);
      await sim.start();
    }
    // Each simulator publishes one message on connect; wait for the broker to take them all.
    while (this.sims.some((s) => s.stats().published === 0)) await new Promise((r) => setTimeout(r, 10));
    this.reserved = this.totals().readings;
    return this.reserved;
  }

  /** One loop per terminal; resolves when the budget is spent or `stop` came. */
  async run(): Promise<Extract<PublishersReply, { type: 'done' }>> {
    const cpu0 = process.cpuUsage();
    await Promise.all(this.sims.map((sim, i) => this.publishLoop(sim, i)));
    const cpu = process.cpuUsage(cpu0);
    const t = this.totals();
    return {
      type: 'done',
      messages: t.messages,
      readings: t.readings,
      errors: t.errors + this.failures,
      cpuUs: cpu.user + cpu.system,
      meanBacklog: this.backlogSamples === 0 ? 0 : this.backlogSum / this.backlogSamples,
    };
  }

  progress(accepted: number): void {
    this.accepted = accepted;
    this.backlogSum += Math.max(0, this.totals().readings - accepted);
    this.backlogSamples += 1;
    this.wakeAll();
  }

  stop(): void {
    this.stopped = true;
    this.wakeAll();
  }

  async close(): Promise<void> {
    await Promise.all(this.sims.map((s) => s.stop()));
  }

  private async publishLoop(sim: MqttTerminalSimulator, i: number): Promise<void> {
    const p = this.plan;
    const burstReadings = p.burstMessages * readingsPerMessage(sim);
    while (!this.stopped && this.reserved + burstReadings <= p.maxReadings) {
      if (this.reserved - this.accepted + burstReadings > p.windowReadings) {
        await new Promise<void>((resolve) => this.wake.push(resolve));
        continue;
      }
      this.reserved += burstReadings;
      // publishBurst stamps its messages up to the device clock's now: advancing the clock
      // by the burst's span keeps every burst's timestamps after the previous one's.
      this.clocks[i] = (this.clocks[i] ?? p.deviceStartTs) + p.burstMessages * p.stepMs;
      try {
        await sim.publishBurst(p.burstMessages, { stepMs: p.stepMs, maxInflight: p.maxInflight });
      } catch (err) {
        // The simulator counts what the broker acknowledged; this terminal stops here.
        this.failures += 1;
        console.error(`publisher ${sim.terminalId} failed:`, err instanceof Error ? err.message : err);
        return;
      }
    }
  }

  private totals(): { messages: number; readings: number; errors: number } {
    let messages = 0;
    let readings = 0;
    let errors = 0;
    for (const s of this.sims) {
      const st = s.stats();
      messages += st.published;
      readings += st.readings;
      errors += st.errors;
    }
    return { messages, readings, errors };
  }

  private wakeAll(): void {
    for (const w of this.wake.splice(0)) w();
  }
}

/** Readings in one of the terminal's messages, learned from its first one (published on connect). */
function readingsPerMessage(sim: MqttTerminalSimulator): number {
  const s = sim.stats();
  return Math.ceil(s.readings / Math.max(1, s.published));
}

function runAsChild(send: (m: PublishersReply) => void): void {
  let publishers: Publishers | undefined;
  const fail = (err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  };
  const finish = async () => {
    await publishers?.close();
    publishers = undefined;
  };
  process.on('message', (raw: unknown) => {
    const msg = raw as PublishersCommand;
    switch (msg.type) {
      case 'start': {
        const started = new Publishers(msg);
        publishers = started;
        started.connect().then((readings) => { send({ type: 'ready', readings }); }, fail);
        break;
      }
      case 'go':
        publishers?.run().then(async (done) => {
          await finish();
          send(done);
        }).catch(fail);
        break;
      case 'progress':
        publishers?.progress(msg.accepted);
        break;
      case 'stop':
        publishers?.stop();
        break;
    }
  });
  // The parent disconnects when it is done with us (or dies): stop, say goodbye, exit.
  process.on('disconnect', () => {
    publishers?.stop();
    void finish();
  });
}

if (typeof process.send === 'function' && process.argv.includes('--mqtt-publishers')) {
  const send = process.send.bind(process);
  runAsChild((m) => { send(m); });
}
