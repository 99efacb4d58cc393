/**
 * Builds control: the one durable command service for operators, OPC UA and load-control
 * programs, with its route to the terminals, and the action log of the programs. Every
 * device state a command reads back is handed to the `onState` listeners (the OPC UA relay
 * value follows it, whoever sent the command).
 *
 * What the previous run left open (commands, control requests) is taken up by the active node
 * when it first becomes active, after the collector's lanes are up: a standby must not mark
 * the active's commands in flight as interrupted.
 */
import type { DeviceControlState, ProtocolName, TransportAdapter } from '../../protocols/adapter.js';
import type { Leadership } from '../cluster/fencing.js';
import type { GridheadConfig } from '../config/schema.js';
import type { MeterId } from '../domain/index.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { ControlActionStore } from './actions.js';
import type { AuditLog } from './audit.js';
import { CommandService } from './commands.js';
import type { CommandStore } from './commandStore.js';
import { commandRoute, type CommandLanes } from './route.js';

export interface Control {
  readonly commands: CommandService;
  /** The load-control programs' action log. */
  readonly actions: ControlActionStore;
  /** Hears every state a command reads back from a meter, from now on. */
  onState(listener: (meterId: MeterId, state: DeviceControlState, at: number) => void): () => void;
}

export interface ControlAssembly {
  readonly config: GridheadConfig;
  readonly stores: { readonly commands: CommandStore; readonly actions: ControlActionStore };
  readonly registry: Registry;
  readonly audit: AuditLog;
  /** The collector's terminal lanes, which polled terminals take their commands through. */
  readonly lanes: CommandLanes;
  /** Every adapter by protocol: the route asks each whether its terminals take commands over the push channel. */
  readonly adapters: Readonly<Partial<Record<ProtocolName, TransportAdapter>>>;
  readonly logger: Logger;
  readonly closers: Closers;
  /** The leader lease, when the node runs under one: then only the leader sends, each `sent` fenced by its token. */
  readonly leadership?: Leadership | undefined;
  /** Where taking up what the previous run left open registers as an active-only part. */
  readonly duties: Duties;
}

export function createControl({ config, stores, registry, audit, lanes, adapters, logger, closers, leadership, duties }: ControlAssembly): Control {
  const { actions } = stores;
  const storeErrors = new LogThrottle(60_000);
  const stateListeners = new Set<(meterId: MeterId, state: DeviceControlState, at: number) => void>();
  const commands = new CommandService({
    store: stores.commands,
    audit,
    meters: {
      meter: (id) => registry.findMeter(id),
      // An unknown area is the operator's mistake, refused as such.
      metersOfArea: (a) => registry.metersOfArea(a),
    },
    run: commandRoute({
      lanes,
      protocolOf: (id) => registry.findTerminal(id)?.protocol,
      adapters,
      onState: (terminalId, command, state) => {
        const meter = registry.meterAt(terminalId, command.address);
        if (meter === undefined) return;
        const at = Date.now();
        for (const listener of stateListeners) listener(meter.id, state, at);
      },
    }),
    settings: config.control,
    actions,
    onStoreError: (err) => {
      const suppressed = storeErrors.pass('store');
      if (suppressed >= 0) logger.error({ err, suppressed }, 'command store or audit write failed; store writes are retried');
    },
    ...(leadership === undefined ? {} : {
      leadership,
      onNotLeading: (t, refusal) => {
        const suppressed = storeErrors.pass(refusal === undefined ? 'not-leading' : 'stale');
        if (suppressed >= 0) {
          logger.warn({ command: t.commandId, meter: t.meterId, suppressed, ...(refusal === undefined ? {} : { token: refusal.token, current: refusal.current }) },
            refusal === undefined ? 'not the leader: command left pending for the leader' : 'fencing token stale, a newer leader acts: command left pending for it, not sent');
        }
      },
    }),
  });
  // Once per process: a later takeover by this node leaves what the other node had open to it.
  let recovered = false;
  duties.add('command recovery', {
    start: async () => {
      if (recovered) return;
      recovered = true;
      const interrupted = await actions.closeInterrupted(Date.now());
      if (interrupted > 0) logger.warn({ interrupted }, 'control requests the previous run left unanswered are marked failed (INTERRUPTED)');
      const found = await commands.start();
      if (found.resumed + found.interrupted > 0) logger.warn(found, 'commands the previous run left open: pending ones resumed, in-flight ones marked INTERRUPTED and re-verified');
    },
    stop: () => undefined,
  });
  closers.add('commands', () => commands.close());
  return {
    commands, actions,
    onState: (listener) => {
      stateListeners.add(listener);
      return () => { stateListeners.delete(listener); };
    },
  };
}
