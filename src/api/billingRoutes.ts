/**
 * Billing reads for billing systems (role `billing`; admin too): daily and monthly frozen
 * reads per meter, and one meter's 15-minute intervals, as JSON pages or CSV. A CSV export
 * without `limit` streams the whole fleet page by page, so memory stays bounded whatever
 * the fleet size, and the socket's backpressure paces the database reads.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { csvLine } from '../billing/csv.js';
import { INTERVAL_MS, type BillingService, type DailyRow, type IntervalRow, type MonthlyRow } from '../billing/service.js';
import { ValidationError } from '../domain/errors.js';
import { once, sendCsv, wantsCsv } from './csvReply.js';
import { problemResponses } from './problem.js';

export interface BillingRoutesOptions {
  readonly billing: BillingService;
  /** Longest range of one intervals request. */
  readonly maxIntervalDays?: number;
}

const Status = Type.Union([Type.Literal('valid'), Type.Literal('estimated'), Type.Literal('suspect'), Type.Literal('missing')], { description: 'VEE status of the value.' });
const Source = Type.Union([Type.Literal('profile'), Type.Literal('register'), Type.Literal('interpolated'), Type.Null()], {
  description: '`profile`: the meter\'s stored profile entry; `register`: a register read at the boundary (±tolerance); `interpolated`: between the nearest reads on both sides.',
});
const Num = Type.Union([Type.Number(), Type.Null()]);
const Str = Type.Union([Type.String(), Type.Null()]);
const Refs = { meter: Type.String(), customerRef: Str, accountRef: Str, area: Str };
const Flags = Type.Array(Type.String(), { description: 'VEE findings: gap, spike, negative, rollover, replacement, glitch.' });
const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'CSV also with `Accept: text/csv`.' }));
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Meters per page (JSON default 100). CSV without limit: the whole fleet from `cursor`, streamed.' }));
const Cursor = Type.Optional(Type.String({ maxLength: 64, description: 'The `next` value of the previous page.' }));
const Area = Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only meters in this area and the areas below it.' }));
const Quantity = Type.Optional(Type.String({ pattern: '^energy\\.(active|reactive)\\.(import|export)(\\.t[1-4])?$', description: 'Register billed; default from config (energy.active.import).' }));

const DailyOut = Type.Object({
  ...Refs, date: Type.String(), quantity: Type.String(), value: Num, unit: Type.String(), status: Status, source: Source,
  raw: Type.Union([Type.Number(), Type.Null()], { description: 'The measured value when the reported one is estimated.' }),
});
const MonthlyOut = Type.Object({
  ...Refs, month: Type.String(), quantity: Type.String(), startValue: Num, endValue: Num, consumption: Num, unit: Type.String(),
  status: Status, source: Source, raw: Num, flags: Flags,
  tou: Type.Record(Type.String(), Type.Number(), { description: 'Consumption per TOU bucket from the month\'s valid and estimated 15-minute intervals.' }),
  intervalsMissing: Type.Integer({ description: 'Intervals without a usable value; the buckets then sum to less than `consumption`.' }),
});
const IntervalOut = Type.Object({
  meter: Type.String(), start: Type.String(), end: Type.String(), quantity: Type.String(), value: Num, unit: Type.String(),
  status: Status, source: Source, raw: Num, flags: Flags,
});
const Paged = <T extends Type.TSchema>(item: T) => Type.Object({ items: Type.Array(item), next: Type.Union([Type.String(), Type.Null()]) });

const CSV_NOTE = ' CSV (RFC 4180, header row, CRLF) with `format=csv` or `Accept: text/csv`.';

export const billingRoutes: FastifyPluginAsyncTypebox<BillingRoutesOptions> = async (app, { billing, maxIntervalDays = 31 }) => {
  app.get('/billing/daily', {
    config: { access: 'billing' },
    schema: {
      tags: ['billing'],
      description: 'Daily frozen read per meter at local midnight starting `date`: the daily profile entry where the meter keeps one, else the register interpolated from the nearest reads on both sides (within 24 h), `missing` without them.' + CSV_NOTE,
      querystring: Type.Object({ date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), area: Area, quantity: Quantity, cursor: Cursor, limit: Limit, format: Format }, { additionalProperties: false }),
      response: { 200: Paged(DailyOut), ...problemResponses },
    },
  }, async (req, reply) => {
    const { date, area, quantity, cursor, limit } = req.query;
    const q = { ...(area === undefined ? {} : { areaId: area }), ...(quantity === undefined ? {} : { quantity }), ...(cursor === undefined ? {} : { cursor }) };
    const columns = ['meter', 'customer_ref', 'account_ref', 'area', 'date', 'quantity', 'value', 'unit', 'status', 'source', 'raw'];
    const line = (r: DailyRow) => csvLine([r.meter, r.customerRef, r.accountRef, r.area, r.date, r.quantity, r.value, r.unit, r.status, r.source, r.raw]);
    if (wantsCsv(req)) {
      const chunks = limit === undefined ? billing.dailyChunks(date, q) : once(billing.daily(date, { ...q, limit }));
      return sendCsv(req, reply, csvLine(columns), chunks, line);
    }
    const page = await billing.daily(date, { ...q, limit: limit ?? 100 });
    return { items: page.rows, next: page.next };
  });

  app.get('/billing/monthly', {
    config: { access: 'billing' },
    schema: {
      tags: ['billing'],
      description: 'Monthly billing read per meter: the register at the first local midnight of `month` and of the next month (billing profile or interpolated), the consumption between them (rollover and meter replacements accounted), and the consumption per TOU bucket of the tariff calendar from 15-minute interval data.' + CSV_NOTE + ' CSV has one `tou_<bucket>` column per bucket.',
      querystring: Type.Object({ month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }), area: Area, quantity: Quantity, cursor: Cursor, limit: Limit, format: Format }, { additionalProperties: false }),
      response: { 200: Paged(MonthlyOut), ...problemResponses },
    },
  }, async (req, reply) => {
    const { month, area, quantity, cursor, limit } = req.query;
    const q = { ...(area === undefined ? {} : { areaId: area }), ...(quantity === undefined ? {} : { quantity }), ...(cursor === undefined ? {} : { cursor }) };
    const buckets = billing.buckets;
    if (wantsCsv(req)) {
      const columns = ['meter', 'customer_ref', 'account_ref', 'area', 'month', 'quantity', 'start_value', 'end_value', 'consumption', 'unit', 'status', 'source', 'raw', 'flags', 'intervals_missing', ...buckets.map((b) => `tou_${b}`)];
      const line = (r: MonthlyRow) => csvLine([
        r.meter, r.customerRef, r.accountRef, r.area, r.month, r.quantity, r.startValue, r.endValue, r.consumption, r.unit, r.status, r.source, r.raw,
        r.flags.join(' '), r.intervalsMissing, ...buckets.map((b) => r.tou[b] ?? 0),
      ]);
      const chunks = limit === undefined ? billing.monthlyChunks(month, q) : once(billing.monthly(month, { ...q, limit }));
      return sendCsv(req, reply, csvLine(columns), chunks, line);
    }
    const page = await billing.monthly(month, { ...q, limit: limit ?? 100 });
    return { items: page.rows, next: page.next };
  });

  app.get('/billing/intervals', {
    config: { access: 'billing' },
    schema: {
      tags: ['billing'],
      description: `One meter's 15-minute consumption over [from, to) (edges on the local quarter hour; at most ${maxIntervalDays} days): from load-profile entries, else the delta between register values interpolated at the edges; gaps up to the configured length estimated linearly, spikes and drops \`suspect\`.` + CSV_NOTE,
      querystring: Type.Object({
        meter: Type.String({ minLength: 1, maxLength: 64 }),
        from: Type.String({ format: 'date-time' }),
        to: Type.String({ format: 'date-time' }),
        quantity: Quantity,
        cursor: Type.Optional(Type.String({ format: 'date-time', description: 'The `next` value of the previous page: start of its next interval.' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 3000, description: 'Intervals per page (JSON default 1000); CSV without limit: the whole range.' })),
        format: Format,
      }, { additionalProperties: false }),
      response: { 200: Paged(IntervalOut), ...problemResponses },
    },
  }, async (req, reply) => {
    const { meter, quantity, limit } = req.query;
    const from = Date.parse(req.query.cursor ?? req.query.from);
    const to = Date.parse(req.query.to);
    if (!(from < to)) throw new ValidationError('`from` must be before `to`', 'from');
    if (to - Date.parse(req.query.from) > maxIntervalDays * 86_400_000) throw new ValidationError(`at most ${maxIntervalDays} days per request`, 'to');
    const csv = wantsCsv(req);
    const pageSize = limit ?? (csv ? Infinity : 1000);
    const pageTo = Math.min(to, from + pageSize * INTERVAL_MS);
    const rows = await billing.intervals(meter, from, pageTo, quantity);
    const last = rows[rows.length - 1];
    const next = last !== undefined && last.end < to ? new Date(last.end).toISOString() : null;
    if (csv) {
      const columns = ['meter', 'start', 'end', 'quantity', 'value', 'unit', 'status', 'source', 'raw', 'flags'];
      const line = (r: IntervalRow) => csvLine([r.meter, iso(r.start), iso(r.end), r.quantity, r.value, r.unit, r.status, r.source, r.raw, r.flags.join(' ')]);
      if (next !== null) void reply.header('x-next-cursor', next);
      return reply.type('text/csv; charset=utf-8').send(csvLine(columns) + rows.map(line).join(''));
    }
    return { items: rows.map((r) => ({ ...r, start: iso(r.start), end: iso(r.end) })), next };
  });
  const ReplacementBody = Type.Object({
    meterId: Type.String({ minLength: 1, maxLength: 64 }),
    at: Type.String({ format: 'date-time', description: 'When the old meter was removed and the new one installed.' }),
    oldFinal: Type.Number({ minimum: 0, description: 'Last register value of the removed meter.' }),
    newInitial: Type.Number({ minimum: 0, description: 'First register value of the installed meter.' }),
  }, { additionalProperties: false });

  app.post('/billing/replacements', {
    config: { access: 'admin' },
    schema: {
      tags: ['billing'],
      description: 'Records a meter exchange under the same meter id (or corrects one at the same time): consumption across it is the old meter up to `oldFinal` plus the new one from `newInitial`, not a drop.',
      body: ReplacementBody,
      response: { 201: ReplacementBody, ...problemResponses },
    },
  }, async (req, reply) => {
    const at = Date.parse(req.body.at);
    await billing.recordReplacement({ meterId: req.body.meterId, at, oldFinal: req.body.oldFinal, newInitial: req.body.newInitial });
    return reply.code(201).send({ ...req.body, at: iso(at) });
  });

  app.get('/billing/replacements', {
    config: { access: 'billing' },
    schema: {
      tags: ['billing'],
      description: 'A meter\'s exchanges, configured (`billing.replacements`) and recorded, oldest first.',
      querystring: Type.Object({ meter: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ReplacementBody) }), ...problemResponses },
    },
  }, (req) => ({
    items: billing.replacementsOf(req.query.meter).map((r) => ({ meterId: r.meterId, at: iso(r.at), oldFinal: r.oldFinal, newInitial: r.newInitial })),
  }));
  await Promise.resolve();
};

function iso(ts: number): string {
  return new Date(ts).toISOString();
}
