/**
 * The way a command travels to its terminal. A polled terminal takes it through the
 * collector's lane, so it queues behind the request in flight on the terminal's one
 * connection instead of opening a second one. A terminal whose adapter declares
 * `commandsOverPush` has no lane: its commands go over the adapter's push channel (a command
 * topic), one short session each. The route asks the adapter, never the protocol's name.
 * Whatever the way, every state read back is handed to `onState` (the OPC UA relay value
 * follows it, whoever sent the command).
 */
import type { DeviceCommand, DeviceControlState, ProtocolName, TransportAdapter } from '../../protocols/adapter.js';
import type { CommandRunner } from './dispatcher.js';

/** The collector's per-terminal lanes (CollectionScheduler.executeNow). */
export interface CommandLanes {
  executeNow(terminalId: string, command: DeviceCommand, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<DeviceControlState>;
}

export interface CommandRouteOptions {
  readonly lanes: CommandLanes;
  /** The protocol a terminal speaks; undefined for a terminal the station does not know (the lane refuses it). */
  readonly protocolOf: (terminalId: string) => ProtocolName | undefined;
  /** The station's adapters by protocol; each declares whether its commands go over the push channel. */
  readonly adapters?: Readonly<Partial<Record<ProtocolName, TransportAdapter>>>;
  readonly onState?: (terminalId: string, command: DeviceCommand, state: DeviceControlState) => void;
}

/** The station's command runner: what the command service's dispatcher sends every target through. */
export function commandRoute(o: CommandRouteOptions): CommandRunner {
  return async (terminalId, command, { timeoutMs, signal }) => {
    const protocol = o.protocolOf(terminalId);
    const adapter = protocol === undefined ? undefined : o.adapters?.[protocol];
    const state = adapter?.capabilities.commandsOverPush === true
      ? await overPushChannel(adapter, terminalId, command, signal)
      : await o.lanes.executeNow(terminalId, command, { timeoutMs, signal });
    o.onState?.(terminalId, command, state);
    return state;
  };
}

async function overPushChannel(adapter: TransportAdapter, terminalId: string, command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState> {
  const session = await adapter.open({ id: terminalId, endpoint: {} }, signal);
  try {
    if (session.execute === undefined) throw new Error(`the ${adapter.protocol} adapter cannot send commands`);
    return await session.execute(command, signal);
  } finally {
    await session.close();
  }
}
