/**
 * The `workOrders` section (read by src/workOrders): how much text an order takes and how much a
 * list or an export reads at a time. Whatever a person or a process writes is bounded here.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';

export const WorkOrdersConfig = Type.Object(
  {
    /** Longest title, in characters. */
    maxTitleChars: Type.Integer({ minimum: 20, maximum: 2_000, default: 200 }),
    /** Longest comment, result text, text field of a result, or reason, in characters. */
    maxTextChars: Type.Integer({ minimum: 100, maximum: 100_000, default: 4_000 }),
    /** Comments an order keeps, at most; one more is refused (409). */
    maxComments: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
    /** Orders read per batch of a CSV export (keyset pages, streamed). */
    exportBatch: Type.Integer({ minimum: 1, maximum: 1_000, default: 500 }),
  },
  { ...strict, default: {} },
);

export type WorkOrdersConfig = Static<typeof WorkOrdersConfig>;
