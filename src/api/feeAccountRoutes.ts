/**
 * Fee accounts: GET/POST /fees/accounts, GET/PATCH/DELETE /fees/accounts/:id (each account with
 * its balance and fee-control state), its ledger and decisions page by page, and adjustments
 * (Idempotency-Key required). Writes are for the billing role (or admin), reads for every role (access `fees`).
 * The service (src/fees/accounts/service.ts) owns the rules.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ValidationError } from '../domain/errors.js';
import type { FeeAccountService } from '../fees/accounts/service.js';
import type { Balance, FeeDecision, LedgerEntry } from '../fees/model.js';
import type { FeeAccountRecord } from '../fees/store.js';
import { actorOf } from './actor.js';
import {
  AdjustmentBody, BookedOut, DecisionOut, FeeAccountBody, FeeAccountDetailOut, FeeAccountOut, FeeAccountPatch, LedgerEntryOut,
  type BookedView, type DecisionView, type FeeAccountView, type LedgerEntryView, type MeterCreditView,
} from './feeAccountSchemas.js';
import { problemResponses } from './problem.js';
import { IdParam, IdempotencyHeader, Nullable, PageQuery } from './schemas.js';
import type { Booked } from '../fees/accounts/service.js';
import type { MeterCreditReading } from '../fees/run/meterCredit.js';

export interface FeeAccountRoutesOptions {
  readonly accounts: FeeAccountService;
  /** The account's meters that keep their own account, as fee control last read them; absent while fee control is off. */
  readonly meterCredit?: (accountId: string) => readonly MeterCreditReading[] | undefined;
}

const tags = ['fees'];
const errors = { ...problemResponses, 403: Type.Ref('Problem') };
const page = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ items: Type.Array(item), next: Nullable(Type.String()) });

export const feeAccountRoutes: FastifyPluginAsyncTypebox<FeeAccountRoutesOptions> = async (app, { accounts, meterCredit }) => {
  app.get('/fees/accounts', {
    config: { access: 'fees' },
    schema: {
      tags, description: 'Accounts by id, each with its balance and fee-control state. Page with `cursor` = the previous page\'s `next`.',
      querystring: Type.Object({
        ...PageQuery,
        mode: Type.Optional(Type.Union([Type.Literal('prepaid'), Type.Literal('postpaid')])),
        stage: Type.Optional(FeeAccountOut.properties.control.properties.stage),
      }, { additionalProperties: false }),
      response: { 200: page(FeeAccountOut), ...errors },
    },
  }, async (req) => {
    const q = req.query;
    const result = await accounts.list({
      limit: q.limit, ...(q.cursor === undefined ? {} : { after: q.cursor }), ...(q.mode === undefined ? {} : { mode: q.mode }),
      ...(q.stage === undefined ? {} : { stage: q.stage }),
    });
    return { items: result.items.map(accountView), next: result.next };
  });

  app.post('/fees/accounts', {
    config: { access: 'billing' },
    schema: { tags, description: 'Creates an account.', body: FeeAccountBody, response: { 201: FeeAccountOut, ...errors } },
  }, async (req, reply) => {
    const created = await accounts.create(req.body, { actor: actorOf(req), source: req.ip });
    return reply.code(201).header('location', `/api/v1/fees/accounts/${created.account.id}`).send(accountView(created));
  });

  app.get('/fees/accounts/:id', {
    config: { access: 'fees' },
    schema: {
      tags, description: 'One account with its balance and fee-control state, and its meters that keep their own account as last read and compared with the balance.',
      params: IdParam, response: { 200: FeeAccountDetailOut, ...errors },
    },
  }, async (req) => ({ ...accountView(await accounts.get(req.params.id)), meterCredit: (meterCredit?.(req.params.id) ?? []).map(meterCreditView) }));

  app.patch('/fees/accounts/:id', {
    config: { access: 'billing' },
    schema: { tags, description: 'Changes the fields given; `cycle: null` removes the billing cycle.', params: IdParam, body: FeeAccountPatch, response: { 200: FeeAccountOut, ...errors } },
  }, async (req) => accountView(await accounts.update(req.params.id, req.body, { actor: actorOf(req), source: req.ip })));

  app.delete('/fees/accounts/:id', {
    config: { access: 'billing' },
    schema: { tags, description: 'Deletes an account that has no ledger rows (409 otherwise: its history stays).', params: IdParam, response: { 204: Type.Null(), ...errors } },
  }, async (req, reply) => {
    await accounts.delete(req.params.id, { actor: actorOf(req), source: req.ip });
    return reply.code(204).send(null);
  });

  app.get('/fees/accounts/:id/ledger', {
    config: { access: 'fees' },
    schema: { tags, description: 'The account\'s ledger, newest row first.', params: IdParam, querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: page(LedgerEntryOut), ...errors } },
  }, async (req) => {
    const result = await accounts.ledger(req.params.id, seqPageOf(req.query));
    return { items: result.items.map(entryView), next: result.next === null ? null : String(result.next) };
  });

  app.get('/fees/accounts/:id/decisions', {
    config: { access: 'fees' },
    schema: { tags, description: 'Why fee control acted or waited on the account, newest first.', params: IdParam, querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: page(DecisionOut), ...errors } },
  }, async (req) => {
    const result = await accounts.decisions(req.params.id, seqPageOf(req.query));
    return { items: result.items.map(decisionView), next: result.next === null ? null : String(result.next) };
  });

  app.post('/fees/accounts/:id/adjustments', {
    config: { access: 'billing' },
    schema: {
      tags, description: 'Books an adjustment (signed) on the account: 201, or 200 with the same row for a retry with the same Idempotency-Key and body.',
      params: IdParam, headers: IdempotencyHeader, body: AdjustmentBody, response: { 200: BookedOut, 201: BookedOut, ...errors },
    },
  }, async (req, reply) => {
    const booked = await accounts.adjust(req.params.id, req.body, req.headers['idempotency-key'], { actor: actorOf(req), source: req.ip });
    return reply.code(booked.replayed ? 200 : 201).send(bookedView(booked));
  });
  await Promise.resolve();
};

/** A ledger or decision page's cursor: the sequence number the previous page ended at. */
function seqPageOf(q: { readonly limit: number; readonly cursor?: string }): { limit: number; before?: number } {
  if (q.cursor === undefined) return { limit: q.limit };
  const before = Number(q.cursor);
  if (!Number.isSafeInteger(before) || before < 0) throw new ValidationError('cursor must be the `next` of the previous page', 'cursor');
  return { limit: q.limit, before };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function balanceView(b: Balance): BookedView['balance'] {
  return { accountId: b.accountId, balanceMinor: b.amountMinor, currency: b.currency, throughSeq: b.throughSeq };
}

export function accountView(r: FeeAccountRecord): FeeAccountView {
  const a = r.account;
  const c = r.control;
  return {
    id: a.id, customerRef: a.customerRef, name: a.name, meterIds: [...a.meterIds], mode: a.mode, ...(a.cycle === undefined ? {} : { cycle: a.cycle }),
    tariffId: a.tariffId, currency: a.currency, creditLimitMinor: a.creditLimitMinor, warnFirstMinor: a.warnFirstMinor, warnSecondMinor: a.warnSecondMinor,
    reconnectMinor: a.reconnectMinor, protected: a.protected, notify: a.notify, createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt),
    balance: balanceView(r.balance),
    control: {
      stage: c.stage, warnedFirstAt: isoOrNull(c.warnedFirstAt), warnedSecondAt: isoOrNull(c.warnedSecondAt), disconnectDueAt: isoOrNull(c.disconnectDueAt),
      nextWindowAt: isoOrNull(c.nextWindowAt), disconnectedAt: isoOrNull(c.disconnectedAt), lastCommandId: c.lastCommandId, updatedAt: iso(c.updatedAt), version: c.version,
    },
  };
}

function meterCreditView(r: MeterCreditReading): MeterCreditView {
  const c = r.comparison;
  return {
    meterId: r.meterId, availableMinor: r.availableMinor, currency: r.currency, mode: r.mode, status: r.status, creditStatus: [...r.creditStatus],
    credits: r.credits.map((x) => ({ ...x })), at: iso(r.at),
    comparison: {
      kind: c.kind, stationBalanceMinor: r.stationMinor, differenceMinor: c.kind === 'incomparable' ? null : c.differenceMinor,
      toleranceMinor: r.toleranceMinor, reason: c.kind === 'incomparable' ? c.reason : null,
    },
  };
}

export function entryView(e: LedgerEntry): LedgerEntryView {
  return {
    seq: e.seq, accountId: e.accountId, kind: e.kind, amountMinor: e.amountMinor, currency: e.currency, key: e.key, at: iso(e.at),
    ...(e.periodFrom === undefined ? {} : { periodFrom: iso(e.periodFrom) }),
    ...(e.periodTo === undefined ? {} : { periodTo: iso(e.periodTo) }),
    ...(e.paymentId === undefined ? {} : { paymentId: e.paymentId }),
    ...(e.detail === undefined ? {} : { detail: e.detail }),
    actor: e.actor,
  };
}

function decisionView(d: FeeDecision): DecisionView {
  return {
    seq: d.seq, accountId: d.accountId, at: iso(d.at), action: d.action, reason: d.reason, message: d.message, balanceMinor: d.balanceMinor,
    ...(d.nextWindowAt === undefined ? {} : { nextWindowAt: iso(d.nextWindowAt) }),
    ...(d.commandId === undefined ? {} : { commandId: d.commandId }),
    ...(d.dryRun === true ? { dryRun: true } : {}),
  };
}

export function bookedView(b: Booked): BookedView {
  return { entry: entryView(b.entry), balance: balanceView(b.balance), replayed: b.replayed };
}
