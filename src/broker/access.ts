/**
 * What a connection of the embedded broker may do, from who it proved to be
 * (credentials.ts). Pure: the broker hooks in embedded.ts ask, log and refuse.
 *
 * - The station may publish and subscribe anywhere (commands, alarms, dead letters).
 * - A terminal may publish and subscribe only under `<prefix>/<its terminal id>/`: its
 *   telemetry, status, events, DLMS pushes, and its command topics. Alarm and dead-letter
 *   topics are outside every terminal's subtree (terminal ids start with a letter or digit,
 *   `_alarms` and `_deadletter` do not), so only the station publishes there.
 * - Client ids that begin with the station's own client id are the station's: nobody else
 *   may take them (a CONNECT with a connected client's id would otherwise end that session).
 * - A client id in use by one identity cannot be taken over by another.
 */
import type { BrokerIdentity } from './credentials.js';

export interface AccessPolicy {
  /** `mqtt.topicPrefix`. */
  readonly topicPrefix: string;
  /** `mqtt.clientId`: the station's clients use it and ids derived from it. */
  readonly stationClientId: string;
}

/** Why a request is refused; undefined when allowed. */
export type Refusal = string | undefined;

export function connectRefusal(policy: AccessPolicy, identity: BrokerIdentity, clientId: string, heldBy: BrokerIdentity | undefined): Refusal {
  if (identity.kind !== 'station' && clientId.startsWith(stationClientIdStem(policy))) {
    return `client id ${JSON.stringify(clientId)} is reserved for the station`;
  }
  if (heldBy !== undefined && !sameIdentity(heldBy, identity)) return `client id ${JSON.stringify(clientId)} is in use by ${describeIdentity(heldBy)}`;
  return undefined;
}

export function publishRefusal(policy: AccessPolicy, identity: BrokerIdentity, topic: string): Refusal {
  if (identity.kind === 'station') return undefined;
  return topic.startsWith(terminalRoot(policy, identity.terminalId)) ? undefined : `terminal ${identity.terminalId} may publish only under ${terminalRoot(policy, identity.terminalId)}`;
}

export function subscribeRefusal(policy: AccessPolicy, identity: BrokerIdentity, filter: string): Refusal {
  if (identity.kind === 'station') return undefined;
  return filter.startsWith(terminalRoot(policy, identity.terminalId)) ? undefined : `terminal ${identity.terminalId} may subscribe only under ${terminalRoot(policy, identity.terminalId)}`;
}

export function describeIdentity(identity: BrokerIdentity): string {
  return identity.kind === 'station' ? 'the station' : `terminal ${identity.terminalId}`;
}

function sameIdentity(a: BrokerIdentity, b: BrokerIdentity): boolean {
  return a.kind === 'station' ? b.kind === 'station' : b.kind === 'terminal' && a.terminalId === b.terminalId;
}

function terminalRoot(policy: AccessPolicy, terminalId: string): string {
  return `${policy.topicPrefix}/${terminalId}/`;
}

/**
 * The MQTT adapter names its command client `<first 19 characters of the client id>-cmd`
 * (23-character ids, MQTT 3.1.1 §3.1.3.1), or `<…>-<node>-cmd` in a cluster, so the reserved
 * stem is the id cut to 19.
 */
function stationClientIdStem(policy: AccessPolicy): string {
  return policy.stationClientId.slice(0, 19);
}
