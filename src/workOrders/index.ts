/**
 * Builds the work order service from the `workOrders` section and the station's stores: the one
 * place configuration meets src/workOrders. The workflow runtime and actions take it as a
 * WorkOrderPort; the API takes it whole.
 */
import type { WorkOrdersConfig } from '../config/workOrders.js';
import type { AuditLog } from '../control/audit.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import { WorkOrderService } from './service.js';
import type { WorkOrderStore } from './store.js';

export { WorkOrderService } from './service.js';
export type { WorkOrderPort, WorkOrderOpenRequest } from './port.js';

export interface WorkOrdersAssembly {
  readonly config: { readonly workOrders: WorkOrdersConfig };
  readonly store: WorkOrderStore;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly now?: () => number;
}

export function createWorkOrders(a: WorkOrdersAssembly): WorkOrderService {
  const log = a.logger.child({ component: 'work-orders' });
  return new WorkOrderService({
    store: a.store, audit: a.audit, limits: a.config.workOrders, ...(a.now === undefined ? {} : { now: a.now }),
    onListenerError: (err) => {
      const suppressed = a.throttle.pass('work-orders:listener');
      if (suppressed >= 0) log.warn({ err, suppressed }, 'a work order change listener failed; the change stands');
    },
  });
}
