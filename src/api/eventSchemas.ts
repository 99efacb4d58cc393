/**
 * The wire shapes of the device event route. The dashboard derives its types from these
 * (src/web/types.ts). Types only from here on the browser side: this module must not import
 * Node code.
 */
import Type from 'typebox';
import { Nullable } from './schemas.js';

export const DeviceEventOut = Type.Object({
  id: Type.String(),
  meterId: Type.Union([Type.String(), Type.Null()], { description: 'Null when the registry did not know the sender.' }),
  terminalId: Type.String(),
  code: Type.String(),
  ts: Type.String({ description: 'Device time, or the receive time when the device gave none.' }),
  receivedAt: Type.String(),
  source: Type.String(),
  detail: Nullable(Type.String()),
});

export const DeviceEventPageOut = Type.Object({ items: Type.Array(DeviceEventOut), next: Nullable(Type.String()) });
