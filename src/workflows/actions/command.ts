/**
 * `disconnect`, `reconnect`, `set-limit`: a command through the control port, as a load-control
 * program sends one (a workflow acts on the station's behalf, so the protected-meter guard rail
 * applies to it as to a program), awaited until the device's state is read back. The step's key
 * is the idempotency key: the step run again after a restart or a failover awaits the command
 * it made the first time instead of sending a second one. The outcome is the process's to route
 * on (`commandStatus`: verified, failed or refused); only an unknown meter fails the step.
 */
import type { ControlCommand, ControlPort } from '../../control/port.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type CommandPort = Pick<ControlPort, 'execute'>;

type WorkflowCommand = Extract<ControlCommand, 'disconnect' | 'reconnect' | 'set-limit'>;

const DESCRIPTIONS: Readonly<Record<WorkflowCommand, string>> = {
  disconnect: 'Opens the meter\'s relay through the command service, waited on until verified, failed or refused (a protected meter).',
  reconnect: 'Closes the meter\'s relay through the command service, waited on until verified or failed.',
  'set-limit': 'Sets the meter\'s active power limit through the command service, waited on until verified, failed or refused (a protected meter).',
};

export function commandAction(port: CommandPort, command: WorkflowCommand): WorkflowAction {
  return {
    name: command,
    description: DESCRIPTIONS[command],
    params: [
      { name: 'meterId', required: true, description: 'The meter to act on.' },
      ...(command === 'set-limit' ? [{ name: 'limitKw', required: true, description: 'The active power limit, kW (≥ 0).' }] : []),
      { name: 'reason', required: false, description: 'Why, in words the command log shows (default: the process and step).' },
    ],
    async run(context) {
      const p = new Params(command, context);
      const meterId = p.text('meterId', 64);
      const limitKw = command === 'set-limit' ? p.number('limitKw', { min: 0 }) : undefined;
      const reason = p.optionalText('reason') ?? `workflow ${context.processKey}, step ${context.elementId}`;
      checkNotAborted(command, context.signal);
      const result = await port.execute({
        meterId, command, ...(limitKw === undefined ? {} : { limitKw }), reason,
        origin: { kind: 'program', id: context.actor, round: 0 }, idempotencyKey: context.stepKey,
      }, context.signal);
      if (result.error?.code === 'UNKNOWN_METER') throw new ActionParamError(command, 'meterId', `names no meter: ${JSON.stringify(meterId)}`);
      return {
        commandId: result.commandId ?? null,
        commandStatus: result.status,
        ...(result.error === undefined ? {} : { commandError: result.error.code }),
      };
    },
  };
}

