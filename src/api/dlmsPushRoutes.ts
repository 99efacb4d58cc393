/**
 * DLMS pushes the head-end kept as dead letters (TCP pushes it could not read: undecipherable,
 * sender or push object list unknown, list not readable from the meter), newest first, with
 * the APDU as received so an operator can see what the meter sent. Admin only: a dead letter
 * may hold a meter's values.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { PushDeadLetters } from '../storage/dlmsPushDeadLetters.js';
import { problemResponses } from './problem.js';

export interface DlmsPushRoutesOptions {
  readonly deadLetters: Pick<PushDeadLetters, 'list'>;
}

const DeadLetterOut = Type.Object({
  id: Type.Integer(),
  receivedAt: Type.String({ format: 'date-time' }),
  origin: Type.String({ description: 'tcp (the push listener); pushes over MQTT go to the MQTT dead-letter topic' }),
  from: Type.String({ description: 'Peer address and port' }),
  sender: Type.String({ description: 'What is known of the sender: terminal id, system title, logical device name or peer' }),
  terminalId: Type.Union([Type.String(), Type.Null()]),
  code: Type.String({ description: 'decode, not-a-push, unknown-sender, sender-mismatch, security, unknown-push-list, list-read-failed, list-wait-full, sink' }),
  reason: Type.String(),
  apduHex: Type.String({ description: 'The APDU as received (a ciphered push stays ciphered)' }),
});

export const dlmsPushRoutes: FastifyPluginAsyncTypebox<DlmsPushRoutesOptions> = async (app, { deadLetters }) => {
  app.get('/dlms/push/dead-letters', {
    config: { access: 'admin' },
    schema: {
      tags: ['operations'],
      description: 'DLMS pushes received over TCP that yielded nothing, newest first, with their bytes.',
      querystring: Type.Object({
        terminal: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(DeadLetterOut) }), ...problemResponses },
    },
  }, async (req) => {
    const items = await deadLetters.list({ limit: req.query.limit, ...(req.query.terminal === undefined ? {} : { terminalId: req.query.terminal }) });
    return {
      items: items.map((d) => ({
        id: d.id, receivedAt: new Date(d.receivedAt).toISOString(), origin: d.origin, from: d.from, sender: d.sender,
        terminalId: d.terminalId ?? null, code: d.code, reason: d.reason, apduHex: Buffer.from(d.apdu).toString('hex'),
      })),
    };
  });
  await Promise.resolve();
};
