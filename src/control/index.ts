/**
 * Builds control: the one durable command service for operators, OPC UA and load-control
 * programs, with its route to the terminals, and the action log of the programs. Every
 * device state a command reads back is handed to the `onState` listeners (the OPC UA relay
 * value follows it, whoever sent the command).
 *
 * A command accepted here is sent by the node its terminal is placed on (`placement`): this
 * node sends what is placed on it while it is active (a duty: after the collector's lanes are
 * up), and takes up what a previous executor left open at every start of the duty and every
 * change of placement (a takeover, an area taken). A standby never marks the active's sends
 * in flight as interrupted: none of their terminals is placed on it. The control requests of
 * the programs a previous run left unanswered are closed once per process.
 */
import type { DeviceControlState, ProtocolName, TransportAdapter } from '../../protocols/adapter.js';
import type { Placement } from '../cluster/placement.js';
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
  /** Whether the terminal's adapter offers payment metering (its meters may keep their own account). */
  readonly paymentMetering: (terminalId: string) => boolean;
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
  /** Which node sends to which terminal (src/cluster/placement.ts), each `sent` fenced by that placement's token. */
  readonly placement: Placement;
  /** Where sending what is placed on this node registers as an active-only part. */
  readonly duties: Duties;
}

export function createControl({ config, stores, registry, audit, lanes, adapters, logger, closers, placement, duties }: ControlAssembly): Control {
  const { actions } = stores;
  const storeErrors = new LogThrottle(60_000);
  const paymentMetering = (id: string): boolean => {
    const protocol = registry.findTerminal(id)?.protocol;
    return protocol !== undefined && adapters[protocol]?.capabilities.paymentMetering === true;
  };
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
    paymentMetering,
    onStoreError: (err) => {
      const suppressed = storeErrors.pass('store');
      if (suppressed >= 0) logger.error({ err, suppressed }, 'command store or audit write failed; store writes are retried');
    },
    placement,
    onNotPlaced: (t, refusal) => {
      const suppressed = storeErrors.pass(refusal === undefined ? 'not-placed' : 'stale');
      if (suppressed >= 0) {
        logger.warn({ command: t.commandId, meter: t.meterId, suppressed, ...(refusal === undefined ? {} : { token: refusal.token, current: refusal.current }) },
          refusal === undefined ? 'terminal no longer placed on this node: command left pending for the node it is placed on' : 'fencing token stale, another node acts on the terminal: command left pending for it, not sent');
      }
    },
    onRefused: (t, refusal) => {
      const suppressed = storeErrors.pass('refused');
      if (suppressed >= 0) logger.warn({ command: t.commandId, meter: t.meterId, code: refusal.code, suppressed }, 'a send in flight lost its terminal: its outcome is left for the new executor to verify by reading back');
    },
    onPickupError: (err) => {
      const suppressed = storeErrors.pass('pickup');
      if (suppressed >= 0) logger.error({ err, suppressed }, 'looking for queued commands failed; looked again at the next poll');
    },
  });
  // Once per process: the programs' requests a previous run of this node left unanswered.
  let closedRequests = false;
  duties.add('command execution', {
    start: async () => {
      if (!closedRequests) {
        closedRequests = true;
        const interrupted = await actions.closeInterrupted(Date.now());
        if (interrupted > 0) logger.warn({ interrupted }, 'control requests the previous run left unanswered are marked failed (INTERRUPTED)');
      }
      const found = await commands.start();
      if (found.resumed + found.interrupted > 0) logger.warn(found, 'commands left open: pending ones queued, in-flight ones marked INTERRUPTED and re-verified');
    },
    stop: () => { commands.stop(); },
  });
  placement.on('changed', () => { commands.placementChanged(); });
  closers.add('commands', () => commands.close());
  return {
    commands, actions, paymentMetering,
    onState: (listener) => {
      stateListeners.add(listener);
      return () => { stateListeners.delete(listener); };
    },
  };
}
