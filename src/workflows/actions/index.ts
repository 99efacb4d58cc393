/**
 * The station actions a service task may call (`gh:action`), built over narrow ports of the
 * services the API uses, so each acts with the API's guard rails and audit under the
 * workflow's actor, and the runtime can be tested over stand-ins. The composition root hands
 * in the real services; `ACTION_NAMES` lets the deploy-time check know the names without them.
 */
import type { WorkflowAction } from '../model.js';
import { alarmCommentAction, type AlarmCommentPort } from './alarmComment.js';
import { commandAction, type CommandPort } from './command.js';
import { feeAccountUpdateAction, feeDisconnectWindowAction, type FeeAccountPort, type FeePolicyPort } from './fees.js';
import { notifyAction, type NoticeChannel } from './notify.js';
import { readMeterAction, type MeterReadPort } from './readMeter.js';
import { recordReplacementAction, type ReplacementPort } from './replacement.js';
import { workOrderCloseAction, workOrderCreateAction, workOrderEscalateAction, type WorkOrderActionsPort } from './workOrders.js';

export { ActionAbortedError, ActionParamError } from './params.js';
export { alarmNotifierChannel, type NoticeChannel, type WorkflowNotice } from './notify.js';

export const ACTION_NAMES = [
  'read-meter', 'disconnect', 'reconnect', 'set-limit', 'notify', 'fee-account-update', 'fee-disconnect-window',
  'work-order-create', 'work-order-close', 'work-order-escalate', 'record-replacement', 'alarm-comment',
] as const;

export type ActionName = (typeof ACTION_NAMES)[number];

export interface ActionDeps {
  readonly meterReader: MeterReadPort;
  readonly control: CommandPort;
  readonly notices: NoticeChannel;
  /** Undefined while fee control is off (`fees.enabled`): the fee actions are then absent. */
  readonly fees?: { readonly accounts: FeeAccountPort; readonly control: FeePolicyPort } | undefined;
  readonly workOrders: WorkOrderActionsPort;
  readonly billing: ReplacementPort;
  readonly alarms: AlarmCommentPort;
  readonly now?: () => number;
}

/** The actions by name; the fee actions only while fee control is on. */
export function createActions(deps: ActionDeps): ReadonlyMap<string, WorkflowAction> {
  const now = deps.now ?? Date.now;
  const actions: WorkflowAction[] = [
    readMeterAction(deps.meterReader),
    commandAction(deps.control, 'disconnect'),
    commandAction(deps.control, 'reconnect'),
    commandAction(deps.control, 'set-limit'),
    notifyAction(deps.notices, now),
    workOrderCreateAction(deps.workOrders),
    workOrderCloseAction(deps.workOrders),
    workOrderEscalateAction(deps.workOrders),
    recordReplacementAction(deps.billing, now),
    alarmCommentAction(deps.alarms),
  ];
  if (deps.fees !== undefined) {
    actions.push(feeAccountUpdateAction(deps.fees.accounts), feeDisconnectWindowAction(deps.fees.accounts, deps.fees.control, now));
  }
  return new Map(actions.map((a) => [a.name, a]));
}
