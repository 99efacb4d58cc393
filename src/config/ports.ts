/**
 * Every TCP port the station listens on, with the configuration key and the environment
 * variable that move it: the one table behind the start-up message for a busy port and the
 * README's port table. A port taken by another program stops the start with one line that
 * says which listener wanted it and how to give it another.
 */

export interface ListenerPort {
  /** What listens, in the operator's words. */
  readonly owner: string;
  readonly configKey: string;
  readonly env: string;
}

export const LISTENERS = {
  http: { owner: 'HTTP API and dashboard', configKey: 'http.port', env: 'GRIDHEAD_HTTP_PORT' },
  broker: { owner: 'embedded MQTT broker', configKey: 'mqtt.embeddedBroker.port', env: 'GRIDHEAD_MQTT_BROKER_PORT' },
  dlmsPush: { owner: 'DLMS push listener', configKey: 'dlms.push.listen.port', env: 'GRIDHEAD_DLMS_PUSH_PORT' },
  opcua: { owner: 'OPC UA server', configKey: 'opcua.port', env: 'GRIDHEAD_OPCUA_PORT' },
} as const satisfies Record<string, ListenerPort>;

export type ListenerName = keyof typeof LISTENERS;

/** A listener could not bind its port because something else holds it. */
export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  readonly owner: string;
  readonly configKey: string;
  readonly env: string;

  constructor(readonly listener: ListenerName, readonly host: string, readonly port: number, options?: { cause?: unknown }) {
    const l: ListenerPort = LISTENERS[listener];
    super(`port ${port} on ${host} is already in use (wanted by the ${l.owner}); `
      + `free it, or choose another port with ${l.configKey} in the configuration or ${l.env} in the environment (0 picks any free port)`, options);
    this.name = 'PortInUseError';
    this.owner = l.owner;
    this.configKey = l.configKey;
    this.env = l.env;
  }
}

/**
 * Runs a listener's start and turns an EADDRINUSE anywhere in the error's cause chain (some
 * libraries wrap it) into a PortInUseError naming the listener; other errors pass unchanged.
 */
export async function listening<T>(listener: ListenerName, host: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (addressInUse(err)) throw new PortInUseError(listener, host, port, { cause: err });
    throw err;
  }
}

function addressInUse(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /\bEADDRINUSE\b/.test(e.message)) return true;
  }
  return false;
}
