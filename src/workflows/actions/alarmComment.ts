/**
 * `alarm-comment`: a comment on an alarm, and its acknowledgement if asked, through the alarm
 * service, as an operator's through the API (the comment under the workflow's actor). A step
 * run again finds its comment (same author, same words) and adds none; a cleared alarm takes
 * the comment and needs no acknowledgement.
 */
import { NotFoundError } from '../../domain/errors.js';
import type { AlarmService } from '../../alarms/service.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type AlarmCommentPort = Pick<AlarmService, 'get' | 'comment' | 'acknowledge'>;

export function alarmCommentAction(alarms: AlarmCommentPort): WorkflowAction {
  const name = 'alarm-comment';
  return {
    name,
    description: 'Comments on an alarm, and acknowledges it when asked (a cleared alarm is only commented).',
    params: [
      { name: 'alarmId', required: true, description: 'The alarm.' },
      { name: 'text', required: true, description: 'The comment.' },
      { name: 'acknowledge', required: false, description: 'true to acknowledge a raised alarm as well (default false).' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const alarmId = p.text('alarmId', 64);
      const text = p.text('text');
      const acknowledge = p.flag('acknowledge', false);
      checkNotAborted(name, context.signal);
      let alarm;
      try {
        alarm = await alarms.get(alarmId);
      } catch (err) {
        if (err instanceof NotFoundError) throw new ActionParamError(name, 'alarmId', `names no alarm: ${JSON.stringify(alarmId)}`);
        throw err;
      }
      const commented = alarm.comments.some((c) => c.by === context.actor && c.text === text);
      if (acknowledge && alarm.state === 'raised') alarm = await alarms.acknowledge(alarmId, context.actor, commented ? undefined : text);
      else if (!commented) alarm = await alarms.comment(alarmId, context.actor, text);
      return { alarmId, alarmState: alarm.state };
    },
  };
}
