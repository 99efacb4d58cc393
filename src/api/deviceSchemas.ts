/**
 * Schemas of the device register routes. Times are RFC 3339 strings. Like every `*Schemas.ts`
 * module here, no Node code: the dashboard derives its types from it.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../protocols/config.js';
import { DEVICE_KINDS, FIRMWARE_SOURCES } from '../deviceRegister/model.js';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
const Text = (description: string) => Type.String({ minLength: 1, maxLength: 128, description });
const Kind = OneOf(DEVICE_KINDS);

export const DeviceListQuery = Type.Object({
  kind: Type.Optional(Kind),
  firmwareVersion: Type.Optional(Text('Only devices reporting this firmware version.')),
  model: Type.Optional(Text('Only devices of this model.')),
  manufacturer: Type.Optional(Text('Only devices of this manufacturer (the FLAG id for DLMS meters).')),
  areaId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only meters of this area and the areas below it, and their terminals.' })),
  after: Type.Optional(Type.String({ minLength: 3, maxLength: 200, description: 'The `next` value of the previous page.' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Devices per page.' }),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'CSV also with `Accept: text/csv`.' })),
}, { additionalProperties: false });

export const DeviceParams = Type.Object({
  kind: Kind,
  id: Type.String({ minLength: 1, maxLength: 64 }),
}, { additionalProperties: false });

export const DeviceOut = Type.Object({
  kind: Kind,
  id: Type.String(),
  manufacturer: Nullable(Type.String()),
  model: Nullable(Type.String()),
  serial: Nullable(Type.String()),
  firmwareVersion: Nullable(Type.String()),
  firmwareSignature: Nullable(Type.String({ description: 'hex' })),
  hardwareVersion: Nullable(Type.String()),
  nameplateReadAt: Nullable(Time),
  installedAt: Time,
  removedAt: Nullable(Time),
});

export const FirmwareChangeOut = Type.Object({
  at: Time,
  from: Nullable(Type.String()),
  to: Type.String(),
  source: OneOf(FIRMWARE_SOURCES),
  campaignId: Nullable(Type.String()),
  actor: Nullable(Type.String()),
});

export const ReplacementOut = Type.Object({
  at: Time,
  oldFinal: Type.Number({ description: 'Last register value of the device taken out, kWh.' }),
  newInitial: Type.Number({ description: 'First register value of the device put in, kWh.' }),
});

export const DevicePageOut = Type.Object({ items: Type.Array(DeviceOut), next: Nullable(Type.String()) });

export const DeviceDetailOut = Type.Object({
  device: DeviceOut,
  firmwareHistory: Type.Array(FirmwareChangeOut, { description: 'Newest first.' }),
  replacements: Type.Array(ReplacementOut, { description: 'Billing\'s exchanges under this meter id, oldest first.' }),
});

export type DeviceView = Static<typeof DeviceOut>;
export type DeviceDetailView = Static<typeof DeviceDetailOut>;
