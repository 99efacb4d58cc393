/**
 * The device register (设备档案) under /devices: the list (keyset pages by kind and id, filtered
 * by firmware version, model, manufacturer and area) and its CSV (`format=csv` or
 * `Accept: text/csv`, streamed in batches), and one device with its firmware history and
 * billing's replacements of it. Access `viewer`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { csvLine } from '../billing/csv.js';
import { ValidationError } from '../domain/errors.js';
import { DEVICE_KINDS, type DeviceCursor, type DeviceKind, type DeviceRecord } from '../deviceRegister/model.js';
import type { DeviceRegisterService } from '../deviceRegister/service.js';
import { once, sendCsv, wantsCsv } from './csvReply.js';
import { DeviceDetailOut, DeviceListQuery, DevicePageOut, DeviceParams, type DeviceView } from './deviceSchemas.js';
import { problemResponses } from './problem.js';

export interface DeviceRoutesOptions {
  readonly devices: DeviceRegisterService;
}

const tags = ['devices'];
const CSV_COLUMNS = ['kind', 'id', 'manufacturer', 'model', 'serial', 'firmware_version', 'firmware_signature', 'hardware_version', 'nameplate_read_at', 'installed_at', 'removed_at'];

export const deviceRoutes: FastifyPluginAsyncTypebox<DeviceRoutesOptions> = async (app, { devices }) => {
  app.get('/devices', {
    config: { access: 'viewer' },
    schema: {
      tags,
      description: 'Meters and terminals as they describe themselves (nameplate, firmware) with their installation and removal, by kind then id. '
        + 'Page with `after` = the previous page\'s `next`. CSV (RFC 4180, header row, CRLF) with `format=csv` or `Accept: text/csv`: every match, streamed, unless `limit` is given.',
      querystring: DeviceListQuery, response: { 200: DevicePageOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const { after, limit, format: _format, ...filter } = req.query;
    const cursor = after === undefined ? undefined : cursorOf(after);
    if (wantsCsv(req)) {
      const limited = new URL(req.url, 'http://x').searchParams.has('limit');
      const chunks = limited
        ? once(devices.list(filter, cursor, limit).then((p) => ({ rows: p.items, next: null })))
        : devices.export(filter);
      return sendCsv(req, reply, csvLine(CSV_COLUMNS), chunks, csvRow);
    }
    const page = await devices.list(filter, cursor, limit);
    return { items: page.items.map(deviceView), next: page.next === null ? null : cursorText(page.next) };
  });

  app.get('/devices/:kind/:id', {
    config: { access: 'viewer' },
    schema: {
      tags, description: 'One device: its nameplate, its firmware history (newest first) and, for a meter, billing\'s replacements under its id. 404 when the register has no such device.',
      params: DeviceParams, response: { 200: DeviceDetailOut, ...problemResponses },
    },
  }, async (req) => {
    const d = await devices.detail(req.params.kind, req.params.id);
    return {
      device: deviceView(d.device),
      firmwareHistory: d.firmwareHistory.map((h) => ({ ...h, at: iso(h.at) })),
      replacements: d.replacements.map((r) => ({ at: iso(r.at), oldFinal: r.oldFinal, newInitial: r.newInitial })),
    };
  });
  await Promise.resolve();
};

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

function deviceView(d: DeviceRecord): DeviceView {
  return { ...d, nameplateReadAt: isoOrNull(d.nameplateReadAt), installedAt: iso(d.installedAt), removedAt: isoOrNull(d.removedAt) };
}

function csvRow(d: DeviceRecord): string {
  return csvLine([d.kind, d.id, d.manufacturer, d.model, d.serial, d.firmwareVersion, d.firmwareSignature, d.hardwareVersion,
    isoOrNull(d.nameplateReadAt), iso(d.installedAt), isoOrNull(d.removedAt)]);
}

/** A page's `next`: `<kind>:<id>` (a kind has no colon; an id may). */
function cursorText(c: DeviceCursor): string {
  return `${c.kind}:${c.id}`;
}

function cursorOf(text: string): DeviceCursor {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon) as DeviceKind;
  if (colon <= 0 || colon === text.length - 1 || !DEVICE_KINDS.includes(kind)) throw new ValidationError('after must be the `next` of the previous page', 'after');
  return { kind, id: text.slice(colon + 1) };
}
