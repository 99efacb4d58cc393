/**
 * The production security setting: Basic256Sha256 with SignAndEncrypt only. An unknown client
 * certificate is rejected and filed under <pki>/rejected; once moved to <pki>/trusted the same
 * client gets an encrypted session; a client asking for no security gets none.
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, StatusCodes, UserTokenType, type ClientSession,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const PASSWORD = 'correct horse battery staple';
let he: TestHeadEnd;
let clientPki: OPCUACertificateManager;
const clients: OPCUAClient[] = [];
const sessions: ClientSession[] = [];

beforeAll(async () => {
  he = await startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    registry: {
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }],
      terminals: [{ id: 't1', name: 'pushing terminal', protocol: 'mqtt' }],
      meters: [{ id: 'm1', name: 'meter one', terminalId: 't1', address: '1', areaId: 'r1' }],
    },
    opcua: { enabled: true, port: 0, securityPolicies: ['Basic256Sha256'], securityModes: ['SignAndEncrypt'], acceptUnknownCertificates: false },
  }, { env: { GRIDHEAD_MASTER_KEY: '0f'.repeat(32) } });
  const res = await he.send('POST', '/api/v1/users', { name: 'dispatch', role: 'operator', password: PASSWORD });
  expect(res.status).toBe(201);
  clientPki = new OPCUACertificateManager({ rootFolder: join(he.dataDir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.close().catch(() => undefined);
  for (const c of clients) await c.disconnect().catch(() => undefined);
  await (clientPki as OPCUACertificateManager | undefined)?.dispose();
  await (he as TestHeadEnd | undefined)?.stop();
});

async function sessionWith(securityMode: MessageSecurityMode, securityPolicy: SecurityPolicy): Promise<ClientSession> {
  const client = OPCUAClient.create({
    endpointMustExist: false, securityMode, securityPolicy, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 }, clientCertificateManager: clientPki,
  });
  clients.push(client);
  await client.connect(he.opcuaEndpoint ?? '');
  const session = await client.createSession({ type: UserTokenType.UserName, userName: 'dispatch', password: PASSWORD });
  sessions.push(session);
  return session;
}

describe('signed and encrypted endpoint', () => {
  it('rejects an unknown client certificate, files it under rejected, and accepts it once moved to trusted', async () => {
    await expect(sessionWith(MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256)).rejects.toThrow();
    const pki = join(he.dataDir, 'opcua-pki');
    const rejected = readdirSync(join(pki, 'rejected')).filter((f) => f.endsWith('.pem') || f.endsWith('.der'));
    expect(rejected.length).toBe(1);
    mkdirSync(join(pki, 'trusted', 'certs'), { recursive: true });
    const name = rejected[0] ?? '';
    renameSync(join(pki, 'rejected', name), join(pki, 'trusted', 'certs', name));
    const session = await eventually(async () => sessionWith(MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256).catch(() => undefined), 15_000, 'a trusted session');
    const dv = await session.read({ nodeId: 'ns=1;s=meter:m1.ActivePower', attributeId: AttributeIds.Value });
    expect(dv.statusCode).toBe(StatusCodes.BadWaitingForInitialData);
  });

  it('gives a client asking for no security no session', async () => {
    await expect(sessionWith(MessageSecurityMode.None, SecurityPolicy.None)).rejects.toThrow();
  });
});
