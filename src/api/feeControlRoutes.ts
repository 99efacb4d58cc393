/**
 * Fee control's own routes: the emergency or extreme-weather flag (GET and PUT
 * /fees/emergency, operators), which holds every disconnection for fees while declared, and
 * the dry run (GET /fees/dry-run, viewers): what tonight's and tomorrow's daily runs, or the
 * runs asked for, would decide for a page of accounts, recorded nowhere.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ValidationError } from '../domain/errors.js';
import type { EmergencyFlag } from '../fees/model.js';
import type { DecisionDraft } from '../fees/policy/decide.js';
import type { FeeControl } from '../fees/run/feeControl.js';
import { actorOf } from './actor.js';
import { DecisionOut } from './feeAccountSchemas.js';
import { problemResponses } from './problem.js';

export interface FeeControlRoutesOptions {
  readonly control: FeeControl;
}

/** Runs one dry run may show. */
const MAX_DRY_RUNS = 7;
const tags = ['fees'];
const errors = { ...problemResponses, 403: Type.Ref('Problem') };
const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

const EmergencyOut = Type.Object({
  active: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()]),
  setBy: Type.Union([Type.String(), Type.Null()]),
  since: Type.Union([Time, Type.Null()]),
});
const EmergencyBody = Type.Object({
  active: Type.Boolean({ description: 'true declares the flag (no disconnection for fees anywhere), false lifts it' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
}, { additionalProperties: false });
const DryRunQuery = Type.Object({
  at: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: MAX_DRY_RUNS, description: 'Run times (RFC 3339); tonight’s and tomorrow’s daily runs when absent' })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The `next` of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
}, { additionalProperties: false });
const DryRunOut = Type.Object({
  runs: Type.Array(Time),
  decisions: Type.Array(Type.Omit(DecisionOut, ['seq'])),
  next: Type.Union([Type.String(), Type.Null()]),
});

export const feeControlRoutes: FastifyPluginAsyncTypebox<FeeControlRoutesOptions> = async (app, { control }) => {
  app.get('/fees/emergency', {
    config: { access: 'operator' },
    schema: { tags, description: 'The emergency or extreme-weather flag: while active, no account is disconnected for fees.', response: { 200: EmergencyOut, ...errors } },
  }, async () => emergencyView(await control.emergency()));

  app.put('/fees/emergency', {
    config: { access: 'operator' },
    schema: { tags, body: EmergencyBody, description: 'Declares or lifts the emergency flag; audited.', response: { 200: EmergencyOut, ...errors } },
  }, async (req) => emergencyView(await control.setEmergency(req.body.active, req.body.reason ?? null, { actor: actorOf(req), source: req.ip })));

  app.get('/fees/dry-run', {
    config: { access: 'viewer' },
    schema: { tags, querystring: DryRunQuery, description: 'What the next daily runs (or the runs at `at`) would decide for a page of accounts, each decision marked dryRun; nothing is recorded or sent.', response: { 200: DryRunOut, ...errors } },
  }, async (req) => {
    const at = req.query.at?.map((t, i) => {
      const ms = Date.parse(t);
      if (Number.isNaN(ms)) throw new ValidationError(`at[${i}]: ${JSON.stringify(t)} is not an RFC 3339 date-time`, `at[${i}]`);
      return ms;
    });
    const page = await control.dryRun({ ...(at === undefined ? {} : { at }), ...(req.query.after === undefined ? {} : { after: req.query.after }), limit: req.query.limit });
    return { runs: page.runs.map(iso), decisions: page.decisions.map(dryDecisionView), next: page.next };
  });
  await Promise.resolve();
};

function emergencyView(f: EmergencyFlag) {
  return { active: f.active, reason: f.reason, setBy: f.setBy, since: f.since === null ? null : iso(f.since) };
}

function dryDecisionView(d: DecisionDraft) {
  return {
    accountId: d.accountId, at: iso(d.at), action: d.action, reason: d.reason, message: d.message, balanceMinor: d.balanceMinor,
    ...(d.nextWindowAt === undefined ? {} : { nextWindowAt: iso(d.nextWindowAt) }),
    dryRun: true,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
