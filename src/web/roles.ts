import type { Role } from './types.js';

/** Roles allowed to send commands and acknowledge alarms (src/auth/roles.ts: `operator` access). */
export function canAct(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}

/** Roles allowed to record payments (src/auth/roles.ts: `billing` access). */
export function canBill(role: Role): boolean {
  return role === 'billing' || role === 'admin';
}

/** Roles that use the operators' pages; the billing role reads fee accounts and reports only, a field crew its work orders only. */
export function operates(role: Role): boolean {
  return role !== 'billing' && role !== 'field';
}
