import type { Role } from './types.js';

/** Roles allowed to send commands and acknowledge alarms (src/auth/roles.ts: `operator` access). */
export function canAct(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}
