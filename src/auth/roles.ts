/**
 * Roles and route access. A role is what a principal is; an
 * access level is what a route asks for. Every route declares one access level and the
 * API refuses to start with a route that does not (src/api/access.ts).
 */

/**
 * viewer reads; operator reads and commands; admin does everything; billing reads billing data
 * only; field (a field crew) sees and completes only the work orders assigned to it.
 */
export const ROLES = ['viewer', 'operator', 'admin', 'billing', 'field'] as const;
export type Role = (typeof ROLES)[number];

/**
 * - `public`: no credentials (only /health, /docs and the login itself);
 * - `authenticated`: any valid principal, whatever its role (who am I, log out);
 * - `viewer`: viewer, operator or admin; `operator`: operator or admin; `admin`: admin;
 * - `billing`: billing or admin;
 * - `billing-or-operator`: billing, operator or admin (what both the billing system and a
 *   dispatcher do, such as loading purchased energy into a purchase-energy program);
 * - `fees`: reading fee accounts, their ledgers and the recovery reports: every role, since
 *   operators watch who is disconnected for fees and billing staff what is owed;
 * - `work-orders`: the work-order routes: viewer, operator, admin and field. What a principal
 *   may see and do there is decided per order by src/workOrders/service.ts (a field crew
 *   only its own orders); no other level grants `field` anything.
 */
export const ACCESS_LEVELS = ['public', 'authenticated', 'viewer', 'operator', 'admin', 'billing', 'billing-or-operator', 'fees', 'work-orders'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** Who made a request: `user:<name>` (dashboard session) or `token:<name>` (API token). */
export interface Principal {
  readonly subject: string;
  readonly role: Role;
  /** How the request proved it: cookie-authenticated requests also need the CSRF header. */
  readonly via: 'token' | 'session';
}

const GRANTS: Readonly<Record<Exclude<Access, 'public' | 'authenticated'>, readonly Role[]>> = {
  viewer: ['viewer', 'operator', 'admin'],
  operator: ['operator', 'admin'],
  admin: ['admin'],
  billing: ['billing', 'admin'],
  'billing-or-operator': ['billing', 'operator', 'admin'],
  fees: ['viewer', 'operator', 'admin', 'billing'],
  'work-orders': ['viewer', 'operator', 'admin', 'field'],
};

/** Whether a principal of `role` may use a route declaring `access`. */
export function permits(access: Access, role: Role): boolean {
  if (access === 'public' || access === 'authenticated') return true;
  return GRANTS[access].includes(role);
}

export function isAccess(value: unknown): value is Access {
  return typeof value === 'string' && (ACCESS_LEVELS as readonly string[]).includes(value);
}
