import type { Role } from './types.js';

/** Roles allowed to send commands and acknowledge alarms (src/auth/roles.ts: `operator` access). */
export function canAct(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}

/** Roles allowed to record payments (src/auth/roles.ts: `billing` access). */
export function canBill(role: Role): boolean {
  return role === 'billing' || role === 'admin';
}

/** The role allowed to deploy process definitions (src/auth/roles.ts: `admin` access). */
export function administers(role: Role): boolean {
  return role === 'admin';
}

/** Field crews (`field`): they see and complete their own work orders, nothing else. */
export function isField(role: Role): boolean {
  return role === 'field';
}

/** Roles that use the operators' pages; the billing role reads fee accounts and reports only, a field crew its work orders. */
export function operates(role: Role): boolean {
  return role !== 'billing' && !isField(role);
}

/** Roles that read work orders (src/workflows/README.md: access level `work-orders`). */
export function readsWorkOrders(role: Role): boolean {
  return role !== 'billing';
}
