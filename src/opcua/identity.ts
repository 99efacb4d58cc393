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
  getUser(name: string): Promise<UserView>;
}

export type SessionRefusal = 'unknown-user' | 'bad-password' | 'disabled' | 'throttled' | 'error' | 'no-opcua-role';

const OPCUA_ROLES: Readonly<Record<Role, readonly WellKnownRoles[]>> = {
  viewer: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Observer],
  billing: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Observer],
  operator: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator],
  admin: [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator, WellKnownRoles.ConfigureAdmin],
  // No OPC UA role: such a user's session is refused (userManager).
  field: [],
};

/**
 * The roles of users who opened a session, as last read from the AuthService. node-opcua asks
 * for a user's roles synchronously (getUserRoles), and the store may be a network hop away, so
 * it answers from here; the method handler reads the current role from the store on every
 * call (`roleOf`) and refreshes it. Bounded by the users that exist: a name enters only once
 * the store knew it, and leaves when the store no longer does.
 */
export class SessionRoles {
  private readonly roles = new Map<string, Role>();

  constructor(private readonly auth: IdentitySource) {}

  /** The user's current role from the store; undefined when the user no longer exists, is disabled, or cannot be read (fail closed). */
  async roleOf(user: string): Promise<Role | undefined> {
    let role: Role | undefined;
    try {
      const u = await this.auth.getUser(user);
      role = u.disabled ? undefined : u.role;
    } catch {
      // NotFoundError: deleted since the session opened; a store error refuses too.
      role = undefined;
    }
    this.note(user, role);
    return role;
  }

  /** The role last read for `user`, without asking the store. */
  known(user: string): Role | undefined {
    return this.roles.get(user);
  }

  note(user: string, role: Role | undefined): void {
    if (role === undefined) this.roles.delete(user);
    else this.roles.set(user, role);
  }
}

/** node-opcua's user manager over the AuthService; `onRefusal` counts and logs refused sessions. */
export function userManager(auth: IdentitySource, roles: SessionRoles, onRefusal: (user: string, reason: SessionRefusal, err?: unknown) => void): UserManagerOptions {
  return {
    isValidUserAsync(this: ServerSession, username: string, password: string, callback: (err: Error | null, isAuthorized?: boolean) => void): void {
      const source = `opcua:${this.channel?.remoteAddress ?? 'unknown'}`;
      auth.verifyPassword(username, password, source).then(
        (r) => {
          // A field crew works its orders in the dashboard; the SCADA link is not for it.
          if (r.ok && OPCUA_ROLES[r.user.role].length === 0) {
            onRefusal(username, 'no-opcua-role');
            callback(null, false);
            return;
          }
          if (r.ok) roles.note(username, r.user.disabled ? undefined : r.user.role);
          else onRefusal(username, r.reason);
          callback(null, r.ok);
        },
        (err: unknown) => {
          onRefusal(username, err instanceof LoginThrottledError ? 'throttled' : 'error', err);
          callback(null, false);
        },
      );
    },
    getUserRoles(user: string): NodeId[] {
      const role = roles.known(user);
      return role === undefined ? [] : makeRoles([...OPCUA_ROLES[role]]);
    },
  };
}
