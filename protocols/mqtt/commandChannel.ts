/**
 * Sends commands to MQTT terminals and waits for their responses (README.md, "Commands"):
 * its own mqtt.js client, separate from the telemetry session so a slow pipeline holding
 * telemetry messages never delays a response. Responses are matched by correlation id in a
 * bounded map; an unanswered command times out (whether the terminal acted is then unknown).
 */
import { randomUUID } from 'node:crypto';
import { ConnectionError, ProtocolError, TimeoutError, type DeviceCommand, type DeviceControlState } from '../adapter.js';
import { commandResponseFilter, commandTopic, encodeJson, parseCommandResponse, toCommandMessage } from './commands.js';
import { SubscribedClient, type MqttConnection } from './connection.js';

/** The terminal answered the command with `status: "error"`. */
export class CommandRejectedError extends ProtocolError {
  readonly code = 'COMMAND_REJECTED';
}

/** `maxPending` commands already await their responses. */
export class CommandBusyError extends ProtocolError {
  readonly code = 'COMMAND_BUSY';
}

export interface MqttCommandChannelOptions {
  /** The station's broker; the channel has its own client on it, with a clean session. */
  readonly connection: MqttConnection;
  /** Its own, so it never takes over the telemetry session. */
  readonly clientId: string;
  readonly topicPrefix: string;
  /** Longest wait for a response (connection included). */
  readonly timeoutMs: number;
  /** Commands awaiting a response at once, at most. Default 1000. */
  readonly maxPending?: number;
  /** Responses that matched no pending command or were malformed. */
  readonly onStray?: (reason: string) => void;
}

interface Pending {
  readonly terminalId: string;
  readonly resolve: (s: DeviceControlState) => void;
  readonly reject: (e: Error) => void;
}

export class MqttCommandChannel {
  readonly #pending = new Map<string, Pending>();
  readonly #client: SubscribedClient;
  #closed = false;

  constructor(private readonly o: MqttCommandChannelOptions) {
    // Nothing to keep between connections: a response to a command of a lost connection times out anyway.
    this.#client = new SubscribedClient({
      connection: o.connection, clientId: o.clientId, filter: commandResponseFilter(o.topicPrefix),
      onMessage: (_topic, payload) => { this.#receive(payload); },
      onError: (err) => { this.o.onStray?.(`command channel: ${err.message}`); },
    });
  }

  /** Publishes the command (QoS 1) and resolves with the state the terminal reports. */
  async execute(terminalId: string, command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState> {
    if (this.#closed) throw new ConnectionError('command channel closed', terminalId);
    const max = this.o.maxPending ?? 1000;
    if (this.#pending.size >= max) throw new CommandBusyError(`${max} commands already await a response`, terminalId);
    const id = randomUUID();
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]);
    return new Promise<DeviceControlState>((resolve, reject) => {
      const done = (): void => {
        this.#pending.delete(id);
        deadline.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(signal.aborted
          ? new ConnectionError('command abandoned by the caller', terminalId, { cause: signal.reason })
          : new TimeoutError(terminalId, this.o.timeoutMs, `${command.type} of the meter at ${command.address}`));
      };
      if (deadline.aborted) {
        onAbort();
        return;
      }
      deadline.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        terminalId,
        resolve: (s) => { done(); resolve(s); },
        reject: (e) => { done(); reject(e); },
      });
      this.#client.client().then(async (client) => {
        if (!this.#pending.has(id)) return;
        await client.publishAsync(commandTopic(this.o.topicPrefix, terminalId), encodeJson(toCommandMessage(id, command)), { qos: 1, retain: false });
      }).catch((err: unknown) => {
        this.#pending.get(id)?.reject(new ConnectionError(`could not publish the command: ${err instanceof Error ? err.message : String(err)}`, terminalId, { cause: err }));
      });
    });
  }

  get pending(): number {
    return this.#pending.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of [...this.#pending.values()]) p.reject(new ConnectionError('command channel closed', p.terminalId));
    await this.#client.close();
  }

  #receive(payload: Buffer): void {
    const r = parseCommandResponse(payload);
    if (r === undefined) {
      this.o.onStray?.('malformed command response');
      return;
    }
    const p = this.#pending.get(r.id);
    if (p === undefined) {
      this.o.onStray?.(`response ${r.id} matches no pending command (late or foreign)`);
      return;
    }
    if (r.status === 'ok') p.resolve(r.state);
    else p.reject(new CommandRejectedError(`the terminal refused the command: ${r.error}`, p.terminalId));
  }
}
