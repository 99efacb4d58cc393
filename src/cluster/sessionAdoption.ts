/**
 * A crashed sharded node's telemetry session, drained by the leader. Mosquitto 2 and EMQX go
 * on dealing an offline persistent member of a shared subscription group its share of the
 * stream (MQTT 5.0 §4.8.2 leaves the choice to the server), and what it held unacknowledged
 * stays in its session (§4.4): without this, that share would be stored only when the node,
 * with the same id, comes back, and never if it does not.
 *
 * So the leader, for every sharded member that is no longer live, connects with that
 * member's client id (`<mqtt.clientId>-<nodeId>`, mqttClients.ts), takes what the session
 * holds into its own pipeline (stored, then acknowledged, as every message is), and once the
 * session has gone quiet leaves the group in its name and disconnects: the broker deals the
 * stream to the live members from then on. The adopting client never reconnects: if the node
 * comes back meanwhile, its connection takes the session over (§3.1.4) and gets whatever the
 * adopter had not acknowledged, and the adopter, disconnected, leaves nothing in its name.
 * A node that comes back subscribes again on its first connection. The idempotent store
 * keeps a message handled twice across a takeover from being stored twice.
 */
import type { PushSink } from '../../protocols/adapter.js';
import type { Logger } from '../observe/logger.js';

/** What adoption needs of a telemetry adapter (protocols/mqtt/adapter.ts). */
export interface AdoptedSession {
  subscribe(sink: PushSink): () => Promise<void>;
  whenSubscribed(signal?: AbortSignal): Promise<void>;
  stats(): { readonly messages: number; readonly inflight: number };
  isConnected(): boolean;
  close(): Promise<void>;
}

export interface SessionAdoptionOptions {
  readonly self: string;
  /** The member list (membership.ts). */
  members(): Promise<readonly { readonly id: string; readonly mode: string; readonly live: boolean }[]>;
  isLeader(): boolean;
  /** An adapter on `nodeId`'s session that does not reconnect once disconnected. */
  sessionOf(nodeId: string): AdoptedSession;
  /** Where the drained messages go: this node's push sink. */
  readonly sink: PushSink;
  /** How often the leader looks for dead members. */
  readonly intervalMs: number;
  /** A session is drained once no message came for this long and none awaits its commit. */
  readonly quietMs: number;
  /** Longest drain of one session; what is left waits for the next round. */
  readonly maxDrainMs: number;
  readonly log: Logger;
}

export class SessionAdoption {
  readonly #drained = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();
  #closed = false;
  #adopted = 0;

  constructor(private readonly o: SessionAdoptionOptions) {}

  /** Sessions drained so far. */
  get adopted(): number {
    return this.#adopted;
  }

  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => { this.#round = this.#round.then(() => this.#look()); }, this.o.intervalMs);
  }

  /** Stops looking; a drain under way ends first. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  async #look(): Promise<void> {
    if (this.#closed || !this.o.isLeader()) return;
    let members;
    try {
      members = await this.o.members();
    } catch (err) {
      this.o.log.warn({ err }, 'member list not read; dead members\' sessions are looked at again at the next round');
      return;
    }
    for (const m of members) {
      // Live again: a later crash is drained again.
      if (m.live) this.#drained.delete(m.id);
    }
    for (const m of members) {
      if (this.#isClosed() || !this.o.isLeader()) return;
      if (m.live || m.id === this.o.self || m.mode !== 'sharded' || this.#drained.has(m.id)) continue;
      if (await this.#drain(m.id)) this.#drained.add(m.id);
    }
  }

  /** A method, so the compiler does not assume the flag unchanged across an await. */
  #isClosed(): boolean {
    return this.#closed;
  }

  /** True once the session went quiet and was left; false to try again at the next round. */
  async #drain(nodeId: string): Promise<boolean> {
    const session = this.o.sessionOf(nodeId);
    try {
      session.subscribe(this.o.sink);
      await session.whenSubscribed(AbortSignal.timeout(this.o.quietMs + 5_000));
      const started = performance.now();
      let seen = session.stats().messages;
      let quietSince = performance.now();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, this.o.quietMs)));
        const { messages, inflight } = session.stats();
        if (messages !== seen) {
          seen = messages;
          quietSince = performance.now();
        }
        // Taken over by the node itself, back: its session is its own again.
        if (!session.isConnected()) return true;
        if (inflight === 0 && performance.now() - quietSince >= this.o.quietMs) break;
        if (performance.now() - started >= this.o.maxDrainMs || this.#closed) return false;
      }
      this.#adopted += 1;
      this.o.log.info({ node: nodeId, messages: seen }, 'drained a dead member\'s telemetry session and left the shared group in its name');
      return true;
    } catch (err) {
      this.o.log.warn({ err, node: nodeId }, 'dead member\'s telemetry session not drained; tried again at the next round');
      return false;
    } finally {
      await session.close();
    }
  }
}
