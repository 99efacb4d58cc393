/**
 * Builds the OPC UA server for SCADA when `opcua.enabled`: it serves the topology, live
 * values, alarms and the control methods, and hears readings, terminal transitions and
 * control read-backs through the hooks of the modules that produce them.
 *
 * The server is one of the leader's duties unless `opcua.everyNode`: it listens while this
 * node leads and closes when it steps down (schema.ts says why). Each start builds a new
 * server from the live values and topology as they are then, so a node taking over serves
 * the same address space the old leader did.
 */
import { areaLoadSettings } from '../config/areaLoad.js';
import { join } from 'node:path';
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { GridheadConfig } from '../config/schema.js';
import { listening } from '../config/ports.js';
import type { MeterId, Reading } from '../domain/index.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { ComponentStatus } from '../observe/health.js';
import type { Logger } from '../observe/logger.js';
import { startOpcUaServer, type OpcUaServer, type OpcUaServerOptions } from './server.js';

export interface OpcUaHooks {
  readonly readings: { onReadings(listener: (batch: readonly Reading[]) => void): () => void };
  readonly terminals: { onTerminalChange(listener: (c: { readonly terminalId: string; readonly online: boolean; readonly ts: number }) => void): () => void };
  readonly control: { onState(listener: (meterId: MeterId, state: DeviceControlState, at: number) => void): () => void };
}

export type OpcUaAssembly = Omit<OpcUaServerOptions, 'config' | 'pkiDir' | 'logger'> & OpcUaHooks & {
  readonly config: GridheadConfig;
  readonly logger: Logger;
  readonly closers: Closers;
  /** The leader's roster, where the server registers unless `opcua.everyNode`. */
  readonly duties: Duties;
};

/** The OPC UA side of this node. */
export interface OpcUa {
  /** opc.tcp://host:port/path while the server listens on this node; undefined otherwise. */
  endpointUrl(): string | undefined;
  /** The server's, while it serves on this node (`starting` while its address space is built). */
  health(): ComponentStatus;
}

export async function createOpcua({ config, logger, closers, duties, readings, terminals, control, ...server }: OpcUaAssembly): Promise<OpcUa | undefined> {
  if (!config.opcua.enabled) return undefined;
  let opcua: OpcUaServer | undefined;
  const start = async (): Promise<void> => {
    opcua ??= await listening('opcua', config.opcua.host, config.opcua.port, () => startOpcUaServer({
      ...server,
      config: config.opcua,
      areaLoad: areaLoadSettings(config),
      pkiDir: config.opcua.pkiDir ?? join(config.dataDir, 'opcua-pki'),
      logger: logger.child({ component: 'opcua' }),
    }));
  };
  const stop = async (): Promise<void> => {
    const running = opcua;
    opcua = undefined;
    await running?.close();
  };
  const unhook = [
    readings.onReadings((batch) => { opcua?.write(batch); }),
    terminals.onTerminalChange((c) => { opcua?.terminalChanged(c.terminalId, c.online, c.ts); }),
    control.onState((meterId, state, at) => { opcua?.controlState(meterId, state, at); }),
  ];
  closers.add('opcua', async () => {
    for (const off of unhook) off();
    await stop();
  });
  if (config.opcua.everyNode) await start();
  else duties.add('opcua server', { start, stop });
  return {
    endpointUrl: () => opcua?.endpointUrl,
    health: () => opcua?.health() ?? { status: 'ok', detail: 'not serving on this node: the leader serves OPC UA' },
  };
}
