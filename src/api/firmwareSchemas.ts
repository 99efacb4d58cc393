/**
 * Schemas of the firmware routes: images, campaigns and their devices. Times are RFC 3339
 * strings. Like every `*Schemas.ts` module here, no Node code: the dashboard derives its types
 * from it.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../protocols/config.js';
import { CAMPAIGN_STATES, DEVICE_STATES, type CampaignState, type DeviceState } from '../firmware/model.js';

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
const Text = (description: string, maxLength = 128) => Type.String({ minLength: 1, maxLength, description });
const DeviceStateOf = OneOf<DeviceState>(DEVICE_STATES);

export const ImageUploadQuery = Type.Object({
  identifier: Text('image_identifier as text: what the meter is told the image is (Blue Book IC 18 image_transfer_initiate).', 255),
  name: Type.Optional(Text('A name for people; default: the identifier.')),
  version: Type.Optional(Text('The firmware version a device reports once the image is active; default: the identifier.', 255)),
  signature: Type.Optional(Type.String({ minLength: 2, maxLength: 2048, pattern: '^([0-9a-fA-F]{2})+$', description: 'The vendor signature, hex.' })),
}, { additionalProperties: false });

export const FirmwareImageOut = Type.Object({
  id: Type.String(), name: Type.String(), identifier: Type.String(), version: Type.String(),
  size: Type.Integer(), sha256: Type.String(), signature: Type.Optional(Type.String()), uploadedAt: Time, uploadedBy: Type.String(),
});

export const FirmwareImageListOut = Type.Object({ items: Type.Array(FirmwareImageOut) });

const Group = Type.Object({
  meterType: Type.Optional(Text('The DLMS endpoint meterType.', 64)),
  areaId: Type.Optional(Text('An area and its sub-areas.', 64)),
  meterIds: Type.Optional(Type.Array(Text('A meter id.', 64), { minItems: 1, maxItems: 100_000 })),
  currentVersion: Type.Optional(Text('The version the device register knows for the meter.', 255)),
  protocol: Type.Optional(OneOf(['dlms', 'modbus', 'mqtt'] as const)),
}, { additionalProperties: false });

const Window = Type.Object({
  notBefore: Type.Optional(Time),
  notAfter: Type.Optional(Time),
  daily: Type.Optional(Type.Object({
    from: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, station local time' }),
    to: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM; before `from`: the window spans midnight' }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const Rate = Type.Object({
  perTerminal: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 1 })),
  total: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 16 })),
}, { additionalProperties: false });

const Activation = Type.Union([
  Type.Object({ at: Type.Literal('now') }, { additionalProperties: false }),
  Type.Object({ at: Type.Literal('scheduled'), time: Time }, { additionalProperties: false }),
]);

const Budget = Type.Object({
  percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 10 })),
  minFailed: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 3 })),
}, { additionalProperties: false });

export const CampaignBody = Type.Object({
  name: Text('A name for people.', 200),
  imageId: Text('An image of GET /firmware/images.', 64),
  group: Group, window: Type.Optional(Window), rate: Type.Optional(Rate), activation: Type.Optional(Activation), failureBudget: Type.Optional(Budget),
}, { additionalProperties: false });

const Counts = Type.Object(Object.fromEntries([...DEVICE_STATES, 'total'].map((s) => [s, Type.Integer()])) as Record<DeviceState | 'total', ReturnType<typeof Type.Integer>>);

export const CampaignOut = Type.Object({
  id: Type.String(), name: Type.String(), imageId: Type.String(), image: FirmwareImageOut,
  group: Group,
  window: Type.Object({ notBefore: Type.Optional(Time), notAfter: Type.Optional(Time), daily: Type.Optional(Type.Object({ from: Type.String(), to: Type.String() })) }),
  rate: Type.Object({ perTerminal: Type.Integer(), total: Type.Integer() }),
  activation: Type.Object({ at: OneOf(['now', 'scheduled'] as const), time: Type.Optional(Time) }),
  failureBudget: Type.Object({ percent: Type.Number(), minFailed: Type.Integer() }),
  state: OneOf<CampaignState>(CAMPAIGN_STATES),
  pauseReason: Type.Optional(OneOf(['operator', 'failure-budget'] as const)),
  counts: Counts,
  createdAt: Time, createdBy: Type.String(), startedAt: Type.Optional(Time), finishedAt: Type.Optional(Time),
});

export const CampaignListOut = Type.Object({ items: Type.Array(CampaignOut) });

export const CampaignDeviceOut = Type.Object({
  meterId: Type.String(), terminalId: Type.String(), state: DeviceStateOf, blocksHeld: Type.Integer(), blocksTotal: Type.Integer(),
  reason: Type.Optional(Type.String()), code: Type.Optional(Type.String()), fromVersion: Type.Optional(Type.String()), toVersion: Type.Optional(Type.String()),
  attempts: Type.Integer(), updatedAt: Time,
});

export const CampaignDevicesQuery = Type.Object({
  state: Type.Optional(DeviceStateOf),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The `next` of the previous page.' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  format: Type.Optional(OneOf(['json', 'csv'] as const)),
}, { additionalProperties: false });

export const CampaignDevicePageOut = Type.Object({ items: Type.Array(CampaignDeviceOut), next: Type.Optional(Type.String()) });

export const CampaignStepParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), step: OneOf(['start', 'pause', 'resume', 'cancel'] as const) });

export type FirmwareImageView = Static<typeof FirmwareImageOut>;
export type CampaignView = Static<typeof CampaignOut>;
export type CampaignDeviceView = Static<typeof CampaignDeviceOut>;
