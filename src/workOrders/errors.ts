/**
 * Why the work order service refused something: each a class with a stable `code` and the
 * HTTP status the API answers with (problem+json). An order a `field` principal may not see is
 * answered as NotFoundError (src/domain/errors.ts), so its existence does not leak.
 */
import { DomainError } from '../domain/errors.js';
import type { WorkOrderState } from './model.js';

/** The action is not allowed from the order's state (completing an order nobody started, assigning a closed one). */
export class WorkOrderStateConflict extends DomainError {
  readonly code = 'WORK_ORDER_STATE';
  readonly status = 409;
  constructor(readonly id: string, readonly state: WorkOrderState, readonly action: string) {
    super(`work order ${JSON.stringify(id)} is ${state}: it cannot be ${action}`);
  }
}

/** A type that src/workOrders/types.ts does not define. */
export class UnknownWorkOrderType extends DomainError {
  readonly code = 'UNKNOWN_WORK_ORDER_TYPE';
  readonly status = 400;
  readonly field = 'type';
  constructor(readonly type: string, known: readonly string[]) {
    super(`work order type ${JSON.stringify(type)} is unknown (known: ${known.join(', ')})`);
  }
}

/** A result that does not fit its type's form; `field` names the field (under `result`). */
export class WorkOrderResultInvalid extends DomainError {
  readonly code = 'WORK_ORDER_RESULT_INVALID';
  readonly status = 400;
  readonly field: string;
  constructor(readonly type: string, field: string | null, message: string) {
    super(`${type} result: ${message}`);
    this.field = field === null ? 'result' : `result.${field}`;
  }
}

/** An order holds at most `workOrders.maxComments` comments. */
export class WorkOrderCommentsFull extends DomainError {
  readonly code = 'WORK_ORDER_COMMENTS_FULL';
  readonly status = 409;
  constructor(readonly id: string, readonly max: number) {
    super(`work order ${JSON.stringify(id)} has ${max} comments, the most an order keeps (workOrders.maxComments)`);
  }
}

/** An open request's key was used before for an order of another type: a step's key names one order. */
export class WorkOrderKeyConflict extends DomainError {
  readonly code = 'WORK_ORDER_KEY_CONFLICT';
  readonly status = 409;
  constructor(readonly key: string, readonly id: string) {
    super(`work order key ${JSON.stringify(key)} belongs to order ${JSON.stringify(id)} of another type`);
  }
}
