/**
 * `read-meter`: the on-demand read the API does (POST /meters/:id/read), through the same
 * reader, so the read queues on the terminal's lane and its values enter the pipeline like a
 * poll's. A read that the meter does not answer is an outcome the process can route on
 * (`readOk: false`), not a failed step; a meter that does not exist is a bad parameter.
 */
import { MeterReadError, type MeterReader } from '../../live/meterRead.js';
import { QUANTITIES, type Quantity } from '../../domain/quantity.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type MeterReadPort = Pick<MeterReader, 'read'>;

/** What a workflow reads when the step names no quantity: the billing register. */
export const DEFAULT_READ_QUANTITY: Quantity = 'energy.active.import';

/** Read errors that mean "the meter is there but did not give a value now": the process decides what follows. */
const READ_OUTCOMES: ReadonlySet<string> = new Set(['READ_TIMEOUT', 'READ_FAILED', 'READ_BUSY', 'NOT_POLLABLE', 'TERMINAL_NOT_COLLECTED', 'STOPPING']);

export function readMeterAction(reader: MeterReadPort): WorkflowAction {
  const name = 'read-meter';
  return {
    name,
    description: 'Reads one quantity of a meter now, as the API\'s on-demand read does; readOk says whether a value came back.',
    params: [
      { name: 'meterId', required: true, description: 'The meter to read.' },
      { name: 'quantity', required: false, description: `A catalogue quantity (default ${DEFAULT_READ_QUANTITY}).` },
    ],
    async run(context) {
      const p = new Params(name, context);
      const meterId = p.text('meterId', 64);
      const quantity = p.optionalText('quantity', 64) ?? DEFAULT_READ_QUANTITY;
      if (!Object.hasOwn(QUANTITIES, quantity)) throw new ActionParamError(name, 'quantity', `is not a catalogue quantity: ${JSON.stringify(quantity)}`);
      checkNotAborted(name, context.signal);
      try {
        const result = await reader.read(meterId, { kind: 'quantities', quantities: [quantity as Quantity] });
        const value = result.values.find((v) => v.quantity === quantity);
        if (value === undefined) return { readOk: false, readError: result.failures[0]?.code ?? 'NO_VALUE' };
        return { readOk: true, reading: { quantity: value.quantity, value: value.value, unit: value.unit, at: new Date(value.ts).toISOString() } };
      } catch (err) {
        if (err instanceof MeterReadError && err.code === 'UNKNOWN_METER') throw new ActionParamError(name, 'meterId', `names no meter: ${JSON.stringify(meterId)}`);
        if (err instanceof MeterReadError && READ_OUTCOMES.has(err.code)) return { readOk: false, readError: err.code };
        throw err;
      }
    },
  };
}
