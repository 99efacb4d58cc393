/** Work orders as the dashboard's pages read them: who the signed-in user is, and which orders are still open. */
import { fmtSubject } from './format.js';
import type { Me } from './types.js';
import type { WorkOrder } from './workflows/replies.js';

export { WORK_ORDER_STATES } from '../workOrders/model.js';

/** The user name work orders are assigned to: the session's subject without its `user:` prefix. */
export function userName(me: Me): string {
  return fmtSubject(me.subject);
}

/** Not yet done or cancelled: what an inbox shows and what can be overdue. */
export function isOpen(order: WorkOrder): boolean {
  return order.state !== 'done' && order.state !== 'cancelled';
}
