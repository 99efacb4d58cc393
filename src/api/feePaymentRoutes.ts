/**
 * Payments from the utility's billing or payment system: POST /fees/payments and POST
 * /fees/payments/:paymentId/reversal, both with a required Idempotency-Key. A retry with the
 * same key and body answers 200 with the row the first made and credits nothing more; the
 * same key with another body, or a paymentId booked under another key, is 409. Billing role
 * (or admin).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { FeeAccountService } from '../fees/accounts/service.js';
import { actorOf } from './actor.js';
import { bookedView } from './feeAccountRoutes.js';
import { BookedOut, PaymentBody, ReversalBody } from './feeAccountSchemas.js';
import { problemResponses } from './problem.js';
import { IdempotencyHeader } from './schemas.js';

export interface FeePaymentRoutesOptions {
  readonly accounts: FeeAccountService;
}

const tags = ['fees'];
const errors = { ...problemResponses, 403: Type.Ref('Problem') };

export const feePaymentRoutes: FastifyPluginAsyncTypebox<FeePaymentRoutesOptions> = async (app, { accounts }) => {
  app.post('/fees/payments', {
    config: { access: 'billing' },
    schema: {
      tags, headers: IdempotencyHeader, body: PaymentBody,
      description: 'Credits a payment to its account (201), or answers the row this Idempotency-Key booked already (200). `paymentId` is credited once across the station.',
      response: { 200: BookedOut, 201: BookedOut, ...errors },
    },
  }, async (req, reply) => {
    const b = req.body;
    const booked = await accounts.pay({ ...b, paidAt: Date.parse(b.paidAt) }, req.headers['idempotency-key'], { actor: actorOf(req), source: req.ip });
    return reply.code(booked.replayed ? 200 : 201).send(bookedView(booked));
  });

  app.post('/fees/payments/:paymentId/reversal', {
    config: { access: 'billing' },
    schema: {
      tags, headers: IdempotencyHeader, body: ReversalBody,
      params: Type.Object({ paymentId: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      description: 'Books the reversal of a payment (201), once per payment; a retry with the same Idempotency-Key and body answers 200 with the same row.',
      response: { 200: BookedOut, 201: BookedOut, ...errors },
    },
  }, async (req, reply) => {
    const booked = await accounts.reverse(req.params.paymentId, req.body.reason, req.headers['idempotency-key'], { actor: actorOf(req), source: req.ip });
    return reply.code(booked.replayed ? 200 : 201).send(bookedView(booked));
  });
  await Promise.resolve();
};
