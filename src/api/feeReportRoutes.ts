/**
 * Fee recovery reports (电费回收) under /fees/reports, as JSON or CSV (RFC 4180, with
 * `format=csv` or `Accept: text/csv`): arrears by area with age buckets, the recovery rate
 * per area and month, disconnections for fees, payment-to-reconnection times, and the
 * accounts fee control is watching. Access `fees`, as the accounts they summarise: billing
 * staff read what is owed and paid, operators who is disconnected and for how long.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { csvLine } from '../billing/csv.js';
import { MAX_RECONNECTION_SAMPLES, type DisconnectionPeriod, type FeeReports, type Reconnection } from '../fees/reports/service.js';
import type { ArrearsRow } from '../fees/reports/store.js';
import { once, sendCsv, wantsCsv } from './csvReply.js';
import { ArrearsOut, DisconnectedOut, ReconnectionTimesOut, RecoveryOut, WatchedOut } from './feeReportSchemas.js';
import { problemResponses } from './problem.js';

export interface FeeReportRoutesOptions {
  readonly reports: FeeReports;
}

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'CSV also with `Accept: text/csv`.' }));
const Month = (description: string) => Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description });
const Limit = (fallback: number, what: string) => Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: `${what} (default ${fallback}).` }));
const CSV_NOTE = ' CSV (RFC 4180, header row, CRLF) with `format=csv` or `Accept: text/csv`.';

export const feeReportRoutes: FastifyPluginAsyncTypebox<FeeReportRoutesOptions> = async (app, { reports }) => {
  app.get('/fees/reports/arrears', {
    config: { access: 'fees' },
    schema: {
      tags: ['fees'],
      description: 'Accounts with a negative balance by area (their first meter\'s transformer area), then account id, the debt aged first-in-first-out over the debit rows (payments settle the oldest charges first): 0–30, 31–60, 61–90 and over 90 days since booked. The first page also sums them per area.' + CSV_NOTE + ' CSV without `limit`: every account from `cursor`, streamed.',
      querystring: Type.Object({
        area: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only accounts of this area.' })),
        cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The `next` value of the previous page.' })),
        limit: Limit(100, 'Accounts per page'),
        format: Format,
      }, { additionalProperties: false }),
      response: { 200: ArrearsOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const { area, cursor, limit } = req.query;
    const q = { ...(area === undefined ? {} : { areaId: area }), ...(cursor === undefined ? {} : { cursor }) };
    if (wantsCsv(req)) {
      const header = csvLine(['account_id', 'name', 'customer_ref', 'area', 'currency', 'debt_minor', 'd0_30_minor', 'd31_60_minor', 'd61_90_minor', 'over_90_minor']);
      const line = (r: ArrearsRow) => csvLine([r.accountId, r.name, r.customerRef, r.areaId, r.currency, r.debtMinor, r.d0to30Minor, r.d31to60Minor, r.d61to90Minor, r.over90Minor]);
      const chunks = limit === undefined ? reports.arrearsChunks(q) : once(reports.arrears({ ...q, limit }).then((p) => ({ rows: p.items, next: p.next })));
      return sendCsv(req, reply, header, chunks, line);
    }
    const page = await reports.arrears({ ...q, limit: limit ?? 100 });
    return { ...page, asOf: iso(page.asOf) };
  });

  app.get('/fees/reports/recovery', {
    config: { access: 'fees' },
    schema: {
      tags: ['fees'],
      description: 'The recovery rate (回收率) per area and station-local month: payments booked in the month, less the reversals of those payments (counted against the month of the payment they undo), over the charges, provisional charges and true-ups booked in the month. Adjustments are neither. Only area-months with a payment or a charge.' + CSV_NOTE,
      querystring: Type.Object({ from: Month('First month, YYYY-MM.'), to: Month('Last month, YYYY-MM (included; at most 36 months).'), format: Format }, { additionalProperties: false }),
      response: { 200: RecoveryOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const { from, to } = req.query;
    const items = await reports.recovery(from, to);
    if (wantsCsv(req)) {
      const lines = items.map((r) => csvLine([r.areaId, r.month, r.currency, r.paidMinor, r.billedMinor, r.rate]));
      return reply.type('text/csv; charset=utf-8').send(csvLine(['area', 'month', 'currency', 'paid_minor', 'billed_minor', 'rate']) + lines.join(''));
    }
    return { from, to, items };
  });

  app.get('/fees/reports/disconnected', {
    config: { access: 'fees' },
    schema: {
      tags: ['fees'],
      description: 'Accounts disconnected for fees: those disconnected now (fee-control stage `disconnected` or `reconnecting`), since when and for how long, and past disconnections from the decisions (from the first `disconnect` to the verified reconnection) reconnected within [from, to), by default the last 30 days.' + CSV_NOTE + ' CSV: one table, `state` open or closed.',
      querystring: Type.Object({
        from: Type.Optional(Type.String({ format: 'date-time' })),
        to: Type.Optional(Type.String({ format: 'date-time' })),
        limit: Limit(500, 'Rows of each list'),
        format: Format,
      }, { additionalProperties: false }),
      response: { 200: DisconnectedOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const { from, to, limit } = req.query;
    const r = await reports.disconnections({ ...(from === undefined ? {} : { from: Date.parse(from) }), ...(to === undefined ? {} : { to: Date.parse(to) }), limit: limit ?? 500 });
    if (wantsCsv(req)) {
      const line = (state: string) => (d: DisconnectionPeriod) => csvLine([state, d.accountId, d.name, d.areaId, iso(d.disconnectedAt), isoOrNull(d.reconnectedAt), d.durationMs, d.stage, d.balanceMinor, d.currency]);
      const header = csvLine(['state', 'account_id', 'name', 'area', 'disconnected_at', 'reconnected_at', 'duration_ms', 'stage', 'balance_minor', 'currency']);
      return reply.type('text/csv; charset=utf-8').send(header + r.open.map(line('open')).join('') + r.closed.map(line('closed')).join(''));
    }
    return { asOf: iso(r.asOf), open: r.open.map(disconnectionOut), closed: r.closed.map(disconnectionOut) };
  });

  app.get('/fees/reports/reconnection-times', {
    config: { access: 'fees' },
    schema: {
      tags: ['fees'],
      description: 'Payment-to-reconnection time of the verified reconnections within [from, to): from the ledger payment that brought the disconnected account back to at least its reconnection threshold to the decision recording the verified reconnection (action `reconnect`, reason `reconnected`). Median (the mean of the two middle values for an even count) and nearest-rank p95, in milliseconds.' + CSV_NOTE + ` CSV: every reconnection (up to ${MAX_RECONNECTION_SAMPLES}), the figures in the headers x-count, x-median-ms and x-p95-ms.`,
      querystring: Type.Object({
        from: Type.String({ format: 'date-time' }),
        to: Type.String({ format: 'date-time' }),
        limit: Limit(100, 'Reconnections listed'),
        format: Format,
      }, { additionalProperties: false }),
      response: { 200: ReconnectionTimesOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const csv = wantsCsv(req);
    const r = await reports.reconnectionTimes(Date.parse(req.query.from), Date.parse(req.query.to), csv ? MAX_RECONNECTION_SAMPLES : req.query.limit ?? 100);
    if (csv) {
      const header = csvLine(['account_id', 'area', 'disconnected_at', 'paid_at', 'payment_id', 'reconnected_at', 'duration_ms']);
      const lines = r.items.map((x) => csvLine([x.accountId, x.areaId, iso(x.disconnectedAt), iso(x.paidAt), x.paymentId, iso(x.reconnectedAt), x.durationMs]));
      return reply.type('text/csv; charset=utf-8')
        .header('x-count', String(r.count)).header('x-median-ms', String(r.medianMs ?? '')).header('x-p95-ms', String(r.p95Ms ?? ''))
        .send(header + lines.join(''));
    }
    return { ...r, from: iso(r.from), to: iso(r.to), items: r.items.map(reconnectionOut) };
  });

  app.get('/fees/reports/watched', {
    config: { access: 'fees' },
    schema: {
      tags: ['fees'],
      description: 'The accounts of the fee-control overview: every stage past normal (warned, waiting for a disconnection window, disconnected, reconnecting) and normal accounts near their first warning (balance below the first warning threshold plus the step between the two thresholds); lowest balance first, at most `limit` per stage.',
      querystring: Type.Object({ limit: Limit(200, 'Accounts per stage') }, { additionalProperties: false }),
      response: { 200: WatchedOut, ...problemResponses },
    },
  }, async (req) => {
    const items = await reports.watched(req.query.limit ?? 200);
    return {
      asOf: iso(Date.now()),
      items: items.map((w) => ({ ...w, nextWindowAt: isoOrNull(w.nextWindowAt), disconnectedAt: isoOrNull(w.disconnectedAt), updatedAt: iso(w.updatedAt) })),
    };
  });
  await Promise.resolve();
};

function disconnectionOut(d: DisconnectionPeriod) {
  return { ...d, disconnectedAt: iso(d.disconnectedAt), reconnectedAt: isoOrNull(d.reconnectedAt) };
}

function reconnectionOut(r: Reconnection) {
  return { ...r, disconnectedAt: iso(r.disconnectedAt), paidAt: iso(r.paidAt), reconnectedAt: iso(r.reconnectedAt) };
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

function isoOrNull(ts: number | null): string | null {
  return ts === null ? null : iso(ts);
}
