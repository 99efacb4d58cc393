/**
 * The member list (`cluster_nodes`): every node registers at start, writes a heartbeat every
 * `heartbeatMs`, and marks itself left at a clean stop. A member is live while its heartbeat is
 * younger than its own `leaseMs` by the database's clock: every time here is the server's
 * now(), never a node's, so clock skew between nodes cannot make a dead node look live or a
 * live one dead.
 *
 * Bounds: one heartbeat statement in flight; the table holds one row per node id ever used.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { NodeIdentity, NodeRole } from './settings.js';

export interface Member {
  readonly id: string;
  readonly roles: readonly NodeRole[];
  readonly mode: string;
  readonly apiUrl: string | null;
  readonly version: string;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
  /** Heartbeat younger than its leaseMs by the server's clock, and not left. */
  readonly live: boolean;
}

export interface MembershipOptions {
  readonly node: NodeIdentity;
  /** The API URL peers reach this node at; null until `advertise` (the API starts after the node joins). */
  readonly apiUrl: string | null;
  readonly version: string;
  /** A heartbeat failed; the next one tries again. Log it throttled. */
  readonly onError?: (err: unknown) => void;
}

export class Membership {
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #apiUrl: string | null;

  constructor(private readonly db: PostgresDatabase, private readonly o: MembershipOptions) {
    this.#apiUrl = o.apiUrl;
  }

  /** Registers this node (a restart takes its row over) and starts the heartbeat. */
  async join(): Promise<void> {
    await this.#register();
    this.#schedule();
  }

  /** Every node ever registered, live ones first, by id. */
  members(): Promise<Member[]> {
    return this.db.run((sql) => sql<Member[]>`
      SELECT id, roles, mode, api_url AS "apiUrl", version, started_at AS "startedAt", heartbeat_at AS "heartbeatAt",
             (left_at IS NULL AND heartbeat_at > now() - make_interval(secs => lease_ms / 1000.0)) AS live
      FROM cluster_nodes ORDER BY live DESC, id`);
  }

  /** Records the API URL peers reach this node at. */
  async advertise(apiUrl: string): Promise<void> {
    this.#apiUrl = apiUrl;
    await this.db.run((sql) => sql`UPDATE cluster_nodes SET api_url = ${apiUrl} WHERE id = ${this.o.node.id}`);
  }

  /** Stops the heartbeat and records the clean stop, so the others see this node gone at once. */
  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    await this.db.run((sql) => sql`UPDATE cluster_nodes SET left_at = now() WHERE id = ${this.o.node.id}`);
  }

  async #register(): Promise<void> {
    const { node, version } = this.o;
    const apiUrl = this.#apiUrl;
    await this.db.run((sql) => sql`
      INSERT INTO cluster_nodes (id, roles, mode, api_url, version, lease_ms, started_at, heartbeat_at, left_at)
      VALUES (${node.id}, ${[...node.roles]}::text[], ${node.mode}, ${apiUrl}, ${version}, ${node.leaseMs}, now(), now(), NULL)
      ON CONFLICT (id) DO UPDATE SET roles = EXCLUDED.roles, mode = EXCLUDED.mode, api_url = EXCLUDED.api_url, version = EXCLUDED.version,
        lease_ms = EXCLUDED.lease_ms, started_at = now(), heartbeat_at = now(), left_at = NULL`);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#beat().catch((err: unknown) => { this.o.onError?.(err); }).finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
    }, this.o.node.heartbeatMs);
    this.#timer.unref();
  }

  /** One heartbeat; a row removed by an operator is written again. */
  async #beat(): Promise<void> {
    const r = await this.db.run((sql) => sql`UPDATE cluster_nodes SET heartbeat_at = now(), left_at = NULL WHERE id = ${this.o.node.id}`);
    if (r.count === 0) await this.#register();
  }
}
