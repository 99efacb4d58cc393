/**
 * The wire shapes of the live routes: the overview, a meter's operating state and the live
 * stream's meter event. The dashboard derives its types from these (src/web/types.ts).
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type from 'typebox';
import type { Explanation } from '../domain/explanation.js';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time' });

export const OverviewOut = Type.Object({
  ts: Time,
  totalKw: Type.Number({ description: 'Sum of every fresh meter power, kW.' }),
  collectionSuccessTodayPct: Nullable(Type.Number()),
  areas: Type.Array(Type.Object({
    id: Type.String(), name: Type.String(), kind: Type.String(), parentId: Nullable(Type.String()),
    loadKw: Nullable(Type.Number({ description: 'Sum over the subtree of the meters that reported recently; null when none did.' })),
    limitKw: Nullable(Type.Number({ description: 'transformerKva × 0.9 for transformer areas.' })),
    meters: Type.Integer(), metersReporting: Type.Integer(), openAlarms: Type.Integer(),
    state: Type.Union([Type.Literal('normal'), Type.Literal('alarm'), Type.Literal('abnormal')]),
    abnormal: Nullable(Type.Object({ ruleId: Type.String(), explanation: Type.String(), explanationData: Nullable(Type.Unsafe<Explanation>({})) })),
  })),
});

export const MeterStateOut = Type.Object({
  meterId: Type.String(),
  online: Nullable(Type.Boolean()),
  lastSeen: Nullable(Time),
  relay: Nullable(Type.Object({ connected: Type.Boolean(), at: Time, source: Type.Union([Type.Literal('command'), Type.Literal('event'), Type.Literal('read')]) })),
  limitKw: Nullable(Type.Object({ value: Nullable(Type.Number()), at: Time })),
  openAlarms: Type.Integer(),
  customerRef: Nullable(Type.String()),
  protected: Type.Boolean(),
});

/** The data of the live stream's `event: meter`: the meter's newest value per quantity since the last event. */
export const MeterValuesEventOut = Type.Object({
  meterId: Type.String(),
  values: Type.Array(Type.Object({ quantity: Type.String(), value: Type.Number(), unit: Type.String(), ts: Time })),
});
