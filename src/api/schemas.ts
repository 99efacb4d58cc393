/**
 * Shared API schemas, referenced by `$id` from the route plugins. Like every `*Schemas.ts`
 * module here, it must not import Node code: the dashboard derives its types from it.
 */
import Type from 'typebox';

/** `t` or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** One page of a cursor-paged list: `next` is the cursor of the following page, null on the last. */
export interface Page<T> { items: T[]; next: string | null }

export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

/** A request that changes state once however often it is retried: the same key with the same body answers what the first did. */
export const IdempotencyHeader = Type.Object({ 'idempotency-key': Type.String({ minLength: 1, maxLength: 200, description: 'Any unique string; a retry with the same key and body returns what the first request made.' }) });

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page.' }),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'The `next` value of the previous page.' })),
};

export const AreaOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    kind: Type.String(),
    parentId: Type.Union([Type.String(), Type.Null()]),
    transformerKva: Type.Union([Type.Number(), Type.Null()]),
  },
  { $id: 'Area' },
);

export const TerminalOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    protocol: Type.String(),
    enabled: Type.Boolean(),
    profiles: Type.Array(Type.String()),
    modbus: Type.Optional(Type.Object({ host: Type.String(), port: Type.Integer(), framing: Type.String(), registerMap: Type.String() })),
    dlms: Type.Optional(Type.Object({
      host: Type.String(), port: Type.Integer(), framing: Type.String(), clientSap: Type.Integer(), auth: Type.String(),
      security: Type.Optional(Type.String()),
      dedicatedKey: Type.Optional(Type.Boolean()),
      ciphering: Type.Optional(Type.String()),
      serverLower: Type.Optional(Type.Integer()),
      meterType: Type.Optional(Type.String()),
      systemTitle: Type.Optional(Type.String()),
      logicalDeviceName: Type.Optional(Type.String()),
      keyGroup: Type.Optional(Type.String()),
    })),
    state: Type.Optional(Type.Object({
      online: Type.Boolean(),
      lastSuccessTs: Type.Union([Type.Integer(), Type.Null()]),
      lastError: Type.Union([Type.Object({ code: Type.String(), message: Type.String(), ts: Type.Integer() }), Type.Null()]),
    })),
  },
  { $id: 'Terminal' },
);

export const MeterOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    terminalId: Type.String(),
    address: Type.String(),
    ctRatio: Type.Number(),
    ptRatio: Type.Number(),
    nominalVoltage: Type.Optional(Type.Number({ description: 'Un at the meter\'s terminals, V; absent: the configured default.' })),
    maxCurrent: Type.Optional(Type.Number({ description: 'Imax at the meter\'s terminals, A; absent: the configured default.' })),
    areaId: Type.Union([Type.String(), Type.Null()]),
    protected: Type.Boolean(),
    customerRef: Type.Union([Type.String(), Type.Null()]),
    accountRef: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Meter' },
);

/** Sorted by id, paged by the last id seen: stable under inserts, cheap to resume. */
export function page<T extends { readonly id: string }>(items: readonly T[], limit: number, cursor: string | undefined): Page<T> {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const start = cursor === undefined ? 0 : sorted.findIndex((x) => x.id > cursor);
  const slice = start < 0 ? [] : sorted.slice(start, start + limit);
  const last = slice[slice.length - 1];
  return { items: slice, next: slice.length === limit && last !== undefined && start + limit < sorted.length ? last.id : null };
}
