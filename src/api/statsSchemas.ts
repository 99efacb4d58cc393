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
