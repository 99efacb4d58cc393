/**
 * `record-replacement`: a meter exchange recorded for billing through the billing service, as
 * POST /billing/replacements records one: under the meter id billing keeps, consumption across
 * it is the old meter up to its final read plus the new one from its initial read. A step run
 * again records nothing new: at the time it names the row is the same row (the store keys it by
 * meter and time), and without a time it finds the exchange with the same reads it recorded.
 */
import { NotFoundError } from '../../domain/errors.js';
import type { BillingService } from '../../billing/service.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type ReplacementPort = Pick<BillingService, 'recordReplacement' | 'replacementsOf'>;

export function recordReplacementAction(billing: ReplacementPort, now: () => number): WorkflowAction {
  const name = 'record-replacement';
  return {
    name,
    description: 'Records a meter exchange for billing (final read of the old meter, initial read of the new one).',
    params: [
      { name: 'meterId', required: false, description: 'The meter id billing keeps (or oldMeterId).' },
      { name: 'oldMeterId', required: false, description: 'The same, as a replacement form names it.' },
      { name: 'newMeterId', required: false, description: 'The installed device, kept in the output for the record.' },
      { name: 'finalRead', required: true, description: 'Last register value of the removed meter, kWh.' },
      { name: 'initialRead', required: true, description: 'First register value of the installed meter, kWh.' },
      { name: 'replacedAt', required: false, description: 'When it was exchanged, ISO 8601 (default: now).' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const meterId = p.optionalText('meterId', 64) ?? p.optionalText('oldMeterId', 64);
      if (meterId === undefined) throw new ActionParamError(name, 'meterId', 'or oldMeterId is required');
      const oldFinal = p.number('finalRead', { min: 0 });
      const newInitial = p.number('initialRead', { min: 0 });
      const newMeterId = p.optionalText('newMeterId', 64) ?? null;
      const replacedAt = p.optionalTime('replacedAt');
      checkNotAborted(name, context.signal);
      const done = replacedAt === undefined
        ? billing.replacementsOf(meterId).find((r) => r.oldFinal === oldFinal && r.newInitial === newInitial)
        : undefined;
      const at = done?.at ?? replacedAt ?? now();
      if (done === undefined) {
        try {
          await billing.recordReplacement({ meterId, at, oldFinal, newInitial });
        } catch (err) {
          if (err instanceof NotFoundError) throw new ActionParamError(name, 'meterId', `names no meter: ${JSON.stringify(meterId)}`);
          throw err;
        }
      }
      return { replacementId: `${meterId}@${new Date(at).toISOString()}`, newMeterId };
    },
  };
}
