/**
 * The way a command travels to its terminal. A polled terminal takes it through the
 * collector's lane, so it queues behind the request in flight on the terminal's one
 * connection instead of opening a second one. A terminal whose adapter declares
 * `commandsOverPush` has no lane: its commands go over the adapter's push channel (a command
 * topic), one short session each. The route asks the adapter, never the protocol's name.
 * Whatever the way, every state read back is handed to `onState` (the OPC UA relay value
 * follows it, whoever sent the command).
 *
 * A command on a meter's own account (read-account, add-credit) goes the same way but to the
 * session's `payment` capability; a session without one refuses it (PaymentMeteringUnsupported).
 */
import type { DeviceCommand, DeviceControlState, ProtocolName, TerminalSession, TransportAdapter } from '../../protocols/adapter.js';
import { PaymentMeteringUnsupported } from '../../protocols/adapter.js';
import type { AccountCommand, StationCommand } from './commandModel.js';
import type { CommandRunner } from './dispatcher.js';

/** The collector's per-terminal lanes (CollectionScheduler.executeNow and sessionNow). */
export interface CommandLanes {
  executeNow(terminalId: string, command: DeviceCommand, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<DeviceControlState>;
  sessionNow<T>(terminalId: string, what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<T>;
}

export interface CommandRouteOptions {
  readonly lanes: CommandLanes;
  /** The protocol a terminal speaks; undefined for a terminal the station does not know (the lane refuses it). */
  readonly protocolOf: (terminalId: string) => ProtocolName | undefined;
  /** The station's adapters by protocol; each declares whether its commands go over the push channel. */
  readonly adapters?: Readonly<Partial<Record<ProtocolName, TransportAdapter>>>;
  readonly onState?: (terminalId: string, command: StationCommand, state: DeviceControlState) => void;
}

/** The station's command runner: what the command service's dispatcher sends every target through. */
export function commandRoute(o: CommandRouteOptions): CommandRunner {
  return async (terminalId, command, { timeoutMs, signal }) => {
    const protocol = o.protocolOf(terminalId);
    const adapter = protocol === undefined ? undefined : o.adapters?.[protocol];
    let state: DeviceControlState;
    if (isAccountCommand(command)) {
      state = adapter?.capabilities.commandsOverPush === true
        ? await overPushSession(adapter, terminalId, signal, (session, s) => onAccount(session, command, terminalId, s))
        : await o.lanes.sessionNow(terminalId, `${command.type} of the meter at ${command.address}`, (session, s) => onAccount(session, command, terminalId, s), { timeoutMs, signal });
    } else {
      state = adapter?.capabilities.commandsOverPush === true
        ? await overPushChannel(adapter, terminalId, command, signal)
        : await o.lanes.executeNow(terminalId, command, { timeoutMs, signal });
    }
    o.onState?.(terminalId, command, state);
    return state;
  };
}

function overPushChannel(adapter: TransportAdapter, terminalId: string, command: DeviceCommand, signal: AbortSignal): Promise<DeviceControlState> {
  return overPushSession(adapter, terminalId, signal, (session, s) => {
    if (session.execute === undefined) throw new Error(`the ${adapter.protocol} adapter cannot send commands`);
    return session.execute(command, s);
  });
}

async function overPushSession<T>(adapter: TransportAdapter, terminalId: string, signal: AbortSignal, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>): Promise<T> {
  const session = await adapter.open({ id: terminalId, endpoint: {} }, signal);
  try {
    return await work(session, signal);
  } finally {
    await session.close();
  }
}

function isAccountCommand(command: StationCommand): command is AccountCommand {
  return command.type === 'read-account' || command.type === 'add-credit';
}

/** The account read, or the credit added with the account read before and after. */
async function onAccount(session: TerminalSession, command: AccountCommand, terminalId: string, signal: AbortSignal): Promise<DeviceControlState> {
  if (session.payment === undefined) throw new PaymentMeteringUnsupported('the terminal\'s protocol has no payment metering', terminalId);
  if (command.type === 'read-account') return { account: await session.payment.readAccount(command.address, signal) };
  const { before, after } = await session.payment.addCredit(command.topUp, signal);
  return { account: after, availableCreditBefore: before.availableCredit };
}
