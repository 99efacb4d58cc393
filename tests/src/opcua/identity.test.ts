/**
 * Who may open an OPC UA session: the users of the access service with a role the SCADA link
 * knows. A field crew's password is right, yet it gets no session: it works its orders in the
 * dashboard, and nothing else grants it anything.
 */
import type { ServerSession } from 'node-opcua';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { SessionRoles, userManager, type SessionRefusal } from '../../../src/opcua/identity.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const PASSWORD = 'crew-Pw-8812';
let db: Db;
let auth: AuthService;

beforeAll(async () => {
  db = openDatabase(':memory:');
  auth = new AuthService(new SqliteAuthStore(db), { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 } });
  await auth.createUser({ name: 'zhang', role: 'field', password: PASSWORD });
  await auth.createUser({ name: 'li', role: 'operator', password: PASSWORD });
});
afterAll(async () => { await auth.close(); db.close(); });

async function sessionFor(user: string): Promise<{ allowed: boolean | undefined; refusals: SessionRefusal[]; roles: number }> {
  const refusals: SessionRefusal[] = [];
  const roles = new SessionRoles(auth);
  // node-opcua's own signature of the two calls a session makes.
  const manager = userManager(auth, roles, (_user, reason) => { refusals.push(reason); }) as unknown as {
    isValidUserAsync(this: ServerSession, user: string, password: string, callback: (err: Error | null, ok?: boolean) => void): void;
    getUserRoles(user: string): unknown[];
  };
  const session = { channel: { remoteAddress: '127.0.0.1' } } as unknown as ServerSession;
  const allowed = await new Promise<boolean | undefined>((resolve, reject) => {
    manager.isValidUserAsync.call(session, user, PASSWORD, (err, ok) => { if (err === null) resolve(ok); else reject(err); });
  });
  return { allowed, refusals, roles: manager.getUserRoles(user).length };
}

it('refuses a field user an OPC UA session although its password is right', async () => {
  expect(await sessionFor('zhang')).toEqual({ allowed: false, refusals: ['no-opcua-role'], roles: 0 });
});

it('opens one for an operator', async () => {
  expect(await sessionFor('li')).toMatchObject({ allowed: true, refusals: [] });
});
