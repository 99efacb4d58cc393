/** Branded identifiers: a MeterId cannot be passed where a TerminalId is expected. */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type TerminalId = Brand<string, 'TerminalId'>;
export type MeterId = Brand<string, 'MeterId'>;
export type AreaId = Brand<string, 'AreaId'>;

export const terminalId = (s: string): TerminalId => s as TerminalId;
export const meterId = (s: string): MeterId => s as MeterId;
export const areaId = (s: string): AreaId => s as AreaId;
