/**
 * Builds the OPC UA server for SCADA when `opcua.enabled`: it serves the topology, live
 * values, alarms and the control methods, and hears readings, terminal transitions and
 * control read-backs through the hooks of the modules that produce them.
 */
import { areaLoadSettings } from '../config/areaLoad.js';
import { join } from 'node:path';
import type { DeviceControlState } from '../../protocols/adapter.js';
import type { GridheadConfig } from '../config/schema.js';
import { listening } from '../config/ports.js';
import type { MeterId, Reading } from '../domain/index.js';
import type { Closers } from '../observe/closers.js';
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
};

export async function createOpcua({ config, logger, closers, readings, terminals, control, ...server }: OpcUaAssembly): Promise<OpcUaServer | undefined> {
  if (!config.opcua.enabled) return undefined;
  const opcua = await listening('opcua', config.opcua.host, config.opcua.port, () => startOpcUaServer({
    ...server,
    config: config.opcua,
    areaLoad: areaLoadSettings(config),
    pkiDir: config.opcua.pkiDir ?? join(config.dataDir, 'opcua-pki'),
    logger: logger.child({ component: 'opcua' }),
  }));
  const unhook = [
    readings.onReadings((batch) => { opcua.write(batch); }),
    terminals.onTerminalChange((c) => { opcua.terminalChanged(c.terminalId, c.online, c.ts); }),
    control.onState((meterId, state, at) => { opcua.controlState(meterId, state, at); }),
  ];
  closers.add('opcua', async () => {
    for (const off of unhook) off();
    await opcua.close();
  });
  return opcua;
}
