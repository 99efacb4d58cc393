/**
 * The wire shapes of the analysis routes: load curves, day and month profiles, comparisons,
 * line loss and the collection ranking. The dashboard derives its types from these
 * (src/web/types.ts). Types only from here on the browser side: this module must not import
 * Node code.
 */
import Type from 'typebox';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time' });
export const PointOut = Type.Object({ ts: Time, value: Type.Number({ description: 'kW' }) });
const At = Nullable(Type.Object({ value: Type.Number(), ts: Time }));
export const SummaryOut = Type.Object({
  energyKwh: Type.Number({ description: 'Integral of the curve: Σ bucket average × bucket hours.' }),
  peak: At, valley: At,
  average: Nullable(Type.Number()),
  loadFactor: Nullable(Type.Number({ description: 'average ÷ peak' })),
  maxDemand: Nullable(Type.Object({ value: Type.Number(), ts: Time }, { description: 'Highest 15-minute (one-bucket) average.' })),
  intervals: Type.Integer(), missingIntervals: Type.Integer({ description: 'Buckets without any reading (never filled in).' }),
});
export const PeriodOut = Type.Object({ period: Type.String(), from: Time, to: Time, points: Type.Array(PointOut), summary: SummaryOut });

export const AreaLoadOut = Type.Object({ areaId: Type.String(), unit: Type.Literal('kW'), stepMs: Type.Integer(), points: Type.Array(PointOut), previous: Type.Optional(Type.Array(PointOut)) });

export const AreaProfileOut = Type.Object({ areaId: Type.String(), date: Type.String(), unit: Type.Literal('kW'), stepMs: Type.Integer(), from: Time, to: Time, points: Type.Array(PointOut), summary: SummaryOut });

export const PeriodComparisonOut = Type.Object({
  areaId: Type.String(), period: Type.String(), unit: Type.Literal('kW'), stepMs: Type.Integer(), a: PeriodOut, b: PeriodOut,
  difference: Type.Object({
    energyKwh: Type.Number({ description: 'b − a' }),
    energyPct: Nullable(Type.Number({ description: '(b − a) ÷ a × 100; null when a is 0' })),
    peakKw: Nullable(Type.Number()), loadFactor: Nullable(Type.Number()), maxDemandKw: Nullable(Type.Number()),
  }),
});

export const AreaComparisonOut = Type.Object({
  from: Time, to: Time, stepMs: Type.Integer(), unit: Type.Literal('kW'),
  areas: Type.Array(Type.Object({ areaId: Type.String(), points: Type.Array(PointOut), summary: SummaryOut })),
});

export const LineLossOut = Type.Object({
  from: Time, to: Time,
  areas: Type.Array(Type.Object({
    areaId: Type.String(), name: Type.String(), supplyMeterId: Nullable(Type.String()),
    supplyKwh: Nullable(Type.Number()), customersKwh: Nullable(Type.Number()), lossKwh: Nullable(Type.Number()), lossPct: Nullable(Type.Number()),
    customers: Type.Integer(), customersWithData: Type.Integer(), complete: Type.Boolean(), reason: Nullable(Type.String()),
    missingMeters: Type.Array(Type.String(), { description: 'Customer meters without a usable advance (first 20).' }),
  })),
});

export const CollectionRankingOut = Type.Object({
  date: Type.String(),
  areas: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), kind: Type.String(), expected: Type.Integer(), collected: Type.Integer(), successRate: Nullable(Type.Number()) })),
});
