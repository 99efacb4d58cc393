/**
 * The wire shapes of the reading routes: a meter's latest values and one quantity's history.
 * The dashboard derives its types from these (src/web/types.ts).
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type from 'typebox';

export const LatestValuesOut = Type.Object({
  meterId: Type.String(),
  values: Type.Array(Type.Object({ quantity: Type.String(), value: Type.Number(), unit: Type.String(), ts: Type.String(), quality: Type.String() })),
});

export const SeriesOut = Type.Object({
  meterId: Type.String(), quantity: Type.String(), unit: Type.String(), step: Type.Union([Type.Integer(), Type.Null()]), agg: Type.String(),
  points: Type.Array(Type.Object({ ts: Type.String(), value: Type.Number() })),
});
