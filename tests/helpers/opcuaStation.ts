/**
 * A head-end with its OPC UA server on (anonymous, no security) and a node-opcua client
 * session to it: what the OPC UA integration tests that read the address space share.
 */
import { join } from 'node:path';
import {
  AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, type ClientSession, type DataValue,
} from 'node-opcua';
import { startTestHeadEnd, type TestHeadEnd } from './headend.js';

export interface OpcuaStation {
  readonly he: TestHeadEnd;
  readonly session: ClientSession;
  read(nodeId: string): Promise<DataValue>;
  browseNames(nodeId: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts the head-end with `overrides` (its `opcua` section included) and opens a client session to it. */
export async function startOpcuaStation(overrides: Record<string, unknown>): Promise<OpcuaStation> {
  const he = await startTestHeadEnd(overrides, { env: { GRIDHEAD_MASTER_KEY: '0f'.repeat(32) } });
  let clientPki: OPCUACertificateManager | undefined;
  let client: OPCUAClient | undefined;
  let session: ClientSession | undefined;
  const stop = async (): Promise<void> => {
    await session?.close().catch(() => undefined);
    await client?.disconnect();
    await clientPki?.dispose();
    await he.stop();
  };
  try {
    if (he.opcuaEndpoint === undefined) throw new Error('the OPC UA server did not start');
    clientPki = new OPCUACertificateManager({ rootFolder: join(he.dataDir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
    client = OPCUAClient.create({
      endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
      connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 500 }, clientCertificateManager: clientPki,
    });
    await client.connect(he.opcuaEndpoint);
    session = await client.createSession();
  } catch (err) {
    await stop();
    throw err;
  }
  const open = session;
  return {
    he,
    session: open,
    read: (nodeId) => open.read({ nodeId, attributeId: AttributeIds.Value }),
    browseNames: async (nodeId) => ((await open.browse(nodeId)).references ?? []).map((r) => r.browseName.name ?? ''),
    stop,
  };
}
