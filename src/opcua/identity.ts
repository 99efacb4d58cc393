/**
 * Who may open an OPC UA session: user name and password checked by the AuthService (same
 * users, same throttling as the dashboard login; OPC UA Part 4 §7.41.3 UserNameIdentityToken).
 * Our roles map onto the well-known OPC UA roles (Part 18 §4.2) so a client can see what it may do;
 * the method handler checks our role itself on every call.
 */
import { WellKnownRoles, makeRoles, type NodeId, type ServerSession, type UserManagerOptions } from 'node-opcua';
import { LoginThrottledError } from '../auth/errors.js';
import type { PasswordCheck, UserView } from '../auth/service.js';
import type { Role } from '../auth/roles.js';

export interface IdentitySource {
  verifyPassword(username: string, password: string, source: string): Promise<PasswordCheck>;
  getUser(name: string): UserView;
}

export type SessionRefusal = 'unknown-user' | 'bad-password' | 'disabled' | 'throttled' | 'error';

const OPCUA_ROLES: Readonly<Record<Role, readonly WellKnownRoles[]>> = {
  viewer: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Observer],
  billing: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Observer],
  operator: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator],
  admin: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator, WellKnownRoles.ConfigureAdmin],
};

/** The user's current role; undefined when the user no longer exists or is disabled. */
export function roleOf(auth: IdentitySource, user: string): Role | undefined {
  try {
    const u = auth.getUser(user);
    return u.disabled ? undefined : u.role;
  } catch {
    // NotFoundError: deleted since the session opened.
    return undefined;
  }
}

/** node-opcua's user manager over the AuthService; `onRefusal` counts and logs refused sessions. */
export function userManager(auth: IdentitySource, onRefusal: (user: string, reason: SessionRefusal, err?: unknown) => void): UserManagerOptions {
  return {
    isValidUserAsync(this: ServerSession, username: string, password: string, callback: (err: Error | null, isAuthorized?: boolean) => void): void {
      const source = `opcua:${this.channel?.remoteAddress ?? 'unknown'}`;
      auth.verifyPassword(username, password, source).then(
        (r) => {
          if (!r.ok) onRefusal(username, r.reason);
          callback(null, r.ok);
        },
        (err: unknown) => {
          onRefusal(username, err instanceof LoginThrottledError ? 'throttled' : 'error', err);
          callback(null, false);
        },
      );
    },
    getUserRoles(user: string): NodeId[] {
      const role = roleOf(auth, user);
      return role === undefined ? [] : makeRoles([...OPCUA_ROLES[role]]);
    },
  };
}
