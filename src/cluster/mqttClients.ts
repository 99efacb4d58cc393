/**
 * How this node's MQTT clients are named and subscribe, by cluster mode. A persistent
 * session belongs to one client id (MQTT 3.1.1 §3.1.2.4), and a second connection with the
 * same id ends the first (§3.1.4), so the id says whose session it is:
 *
 * - `single` and `active-standby`: the station's one telemetry session, `mqtt.clientId`.
 *   Only the active node connects with it, and the next active takes over what the last one
 *   left unacknowledged. No cluster feed in `single`.
 * - `sharded`: every node its own session, `<mqtt.clientId>-<nodeId>`, joined to the shared
 *   subscription group `cluster.shareGroup`: the broker hands each message to one member.
 *   What a crashed member left unacknowledged waits in its session until it is back, and so
 *   does its share of what is published meanwhile: Mosquitto 2 and EMQX go on dealing an
 *   offline persistent member its turn (MQTT 5.0 §4.8.2 leaves the choice to the server).
 *   The leader drains a dead member's session (sessionAdoption.ts); a node that stops on
 *   purpose leaves the group first (protocols/mqtt/adapter.ts).
 * - The command client, in both multi-node modes: `<first 19 characters of mqtt.clientId>-<nodeId>-cmd`
 *   (roleClientId), since a step-down leaves it connected and the next active would take the
 *   id over; one station keeps `<…19>-cmd`.
 * - The cluster feed (feed/): one client per node, `<mqtt.clientId>-<nodeId>-feed`, persistent,
 *   so a node's connection blip loses none of the other nodes' readings.
 *
 * The node ids make these ids longer than the 23 characters MQTT 3.1.1 §3.1.3.1 obliges a
 * server to accept; Mosquitto and EMQX accept up to 65,535 (as they do the DLMS push
 * subscriber's `-dlms-push` id), and a broker that refuses one answers CONNACK 2, reported
 * as a broker error.
 */
import { roleClientId } from '../../protocols/mqtt/connection.js';
import type { NodeIdentity } from './settings.js';

/** The telemetry client's id and subscription; the DLMS push subscriber follows the same. */
export interface TelemetrySession {
  readonly clientId: string;
  /** The shared subscription group; undefined: plain filters. */
  readonly shareGroup?: string;
  /** The command channel's id when it must not be derived from a cut `clientId`. */
  readonly commandClientId?: string;
}

export interface NodeMqttClients {
  readonly telemetry: TelemetrySession;
  /** The cluster feed's client id; undefined in `single` mode, which has no feed. */
  readonly feedClientId: string | undefined;
}

/** A sharded member's own telemetry session id, `<mqtt.clientId>-<nodeId>`: its own connection's, and the one the leader drains it under (sessionAdoption.ts). */
export function memberClientId(stationClientId: string, nodeId: string): string {
  return `${stationClientId}-${nodeId}`;
}

export function nodeMqttClients(stationClientId: string, identity: Pick<NodeIdentity, 'id' | 'mode'>, shareGroup: string): NodeMqttClients {
  const own = memberClientId(stationClientId, identity.id);
  switch (identity.mode) {
    case 'single':
      return { telemetry: { clientId: stationClientId }, feedClientId: undefined };
    case 'active-standby':
      return { telemetry: { clientId: stationClientId, commandClientId: roleClientId(stationClientId, 'cmd', identity.id) }, feedClientId: `${own}-feed` };
    case 'sharded':
      return { telemetry: { clientId: own, shareGroup, commandClientId: roleClientId(stationClientId, 'cmd', identity.id) }, feedClientId: `${own}-feed` };
  }
}
