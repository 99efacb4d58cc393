/**
 * The wire shape of an on-demand read's answer. The dashboard derives its type from it
 * (src/web/types.ts). Types only from here on the browser side: this module must not import
 * Node code.
 */
import Type from 'typebox';

export const MeterReadOut = Type.Object({
  meterId: Type.String(),
  values: Type.Array(Type.Object({ quantity: Type.String(), value: Type.Number(), unit: Type.String(), ts: Type.String({ description: 'Device timestamp' }), quality: Type.String() })),
  failures: Type.Array(Type.Object({ quantity: Type.String(), code: Type.String(), message: Type.String() })),
  durationMs: Type.Number(),
});
