/**
 * The wire shape of the collection statistics route. The dashboard derives its type from it
 * (src/web/types.ts). Types only from here on the browser side: this module must not import
 * Node code.
 */
import Type from 'typebox';
import { Nullable } from './schemas.js';

export const CollectionStatsOut = Type.Object({
  date: Type.String(),
  area: Nullable(Type.String()),
  expected: Type.Integer(),
  collected: Type.Integer(),
  successRate: Nullable(Type.Number()),
  terminals: Type.Array(Type.Object({
    terminalId: Type.String(), expected: Type.Integer(), collected: Type.Integer(), successRate: Nullable(Type.Number()),
  })),
});

const AreaFigure = {
  expected: Type.Integer({ description: 'Meters expected to be read that day, in the area and every area below it.' }),
  collected: Type.Integer({ description: 'Of them, meters read completely at least once that day.' }),
  successRate: Nullable(Type.Number({ description: 'collected ÷ expected; null when no meter was expected.' })),
};

export const AreaCollectionOut = Type.Object({
  date: Type.String(),
  area: Nullable(Type.String()),
  ...AreaFigure,
  areas: Type.Array(Type.Object({
    areaId: Type.String(), name: Type.String(), kind: Type.String(), parentId: Nullable(Type.String()), ...AreaFigure,
  })),
  next: Nullable(Type.String()),
});

export const AreaCollectionDaysOut = Type.Object({
  area: Type.String(),
  from: Type.String(),
  to: Type.String(),
  ...AreaFigure,
  days: Type.Array(Type.Object({ date: Type.String(), ...AreaFigure })),
});
