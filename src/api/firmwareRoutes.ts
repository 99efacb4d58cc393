/**
 * Firmware images and campaigns under /firmware: upload an image (the body is the image,
 * application/octet-stream, at most `firmware.maxImageBytes`: 413 past it), define a campaign
 * from an image and a group of devices (422 CAMPAIGN_GROUP_EMPTY when the group matches
 * none), move it through its states (409 on a step its state does not allow), and follow its
 * devices (keyset pages by meter id, or CSV).
 *
 * Access: reads `viewer`; uploads, creating, starting and resuming `admin`; pausing and
 * cancelling `operator` too, so a dispatcher can stop a campaign that goes wrong.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { UnauthenticatedError } from '../auth/errors.js';
import { csvLine } from '../billing/csv.js';
import type { CampaignDevice, FirmwareImageRecord } from '../firmware/model.js';
import type { Actor, CampaignInput, CampaignStep, CampaignWithCounts, FirmwareService } from '../firmware/service.js';
import { sendCsv, wantsCsv } from './csvReply.js';
import {
  CampaignBody, CampaignDevicePageOut, CampaignDevicesQuery, CampaignListOut, CampaignOut, FirmwareImageListOut, FirmwareImageOut, ImageUploadQuery,
  type CampaignDeviceView, type CampaignView, type FirmwareImageView,
} from './firmwareSchemas.js';
import { problemResponses } from './problem.js';
import { IdParam } from './schemas.js';

export interface FirmwareRoutesOptions {
  readonly service: FirmwareService;
  /** `firmware.maxImageBytes`: the upload route's body limit. */
  readonly maxImageBytes: number;
}

const tags = ['firmware'];
const errors = { ...problemResponses, 403: Type.Ref('Problem') };
const STEP_ACCESS: Readonly<Record<CampaignStep, 'admin' | 'operator'>> = { start: 'admin', pause: 'operator', resume: 'admin', cancel: 'operator' };

export const firmwareRoutes: FastifyPluginAsyncTypebox<FirmwareRoutesOptions> = async (app, { service, maxImageBytes }) => {
  // Scoped to this plugin: nowhere else does the API take raw bytes.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxImageBytes }, (_req, body, done) => { done(null, body); });

  app.post('/firmware/images', {
    config: { access: 'admin' },
    bodyLimit: maxImageBytes,
    schema: {
      tags, description: 'Uploads a firmware image: the body is the image (application/octet-stream), at most firmware.maxImageBytes (413 past it).',
      consumes: ['application/octet-stream'], querystring: ImageUploadQuery, response: { 201: FirmwareImageOut, 413: Type.Ref('Problem'), ...errors },
    },
  }, async (req, reply) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const image = await service.uploadImage(actorOf(req), { bytes, ...req.query });
    return reply.code(201).header('location', `/api/v1/firmware/images/${image.id}`).send(imageView(image));
  });

  app.get('/firmware/images', {
    config: { access: 'viewer' },
    schema: { tags, description: 'Uploaded images, newest first.', response: { 200: FirmwareImageListOut, ...errors } },
  }, async () => ({ items: (await service.images()).map(imageView) }));

  app.get('/firmware/images/:id', {
    config: { access: 'viewer' },
    schema: { tags, description: 'One image (without its bytes).', params: IdParam, response: { 200: FirmwareImageOut, ...errors } },
  }, async (req) => imageView(await service.image(req.params.id)));

  app.post('/firmware/campaigns', {
    config: { access: 'admin' },
    schema: {
      tags, description: 'Defines a campaign (state draft); its devices are the group\'s, resolved now. 422 CAMPAIGN_GROUP_EMPTY when the group matches none.',
      body: CampaignBody, response: { 201: CampaignOut, 422: Type.Ref('Problem'), ...errors },
    },
  }, async (req, reply) => {
    const { window, activation, rate, failureBudget, ...rest } = req.body;
    const input: CampaignInput = {
      ...rest,
      ...(window === undefined ? {} : {
        window: {
          ...(window.notBefore === undefined ? {} : { notBefore: Date.parse(window.notBefore) }),
          ...(window.notAfter === undefined ? {} : { notAfter: Date.parse(window.notAfter) }),
          ...(window.daily === undefined ? {} : { daily: window.daily }),
        },
      }),
      ...(activation === undefined ? {} : { activation: activation.at === 'now' ? { at: 'now' } : { at: 'scheduled', time: Date.parse(activation.time) } }),
      ...(rate === undefined ? {} : { rate: { perTerminal: rate.perTerminal ?? 1, total: rate.total ?? 16 } }),
      ...(failureBudget === undefined ? {} : { failureBudget: { percent: failureBudget.percent ?? 10, minFailed: failureBudget.minFailed ?? 3 } }),
    };
    const created = await service.createCampaign(actorOf(req), input);
    return reply.code(201).header('location', `/api/v1/firmware/campaigns/${created.campaign.id}`).send(campaignView(created));
  });

  app.get('/firmware/campaigns', {
    config: { access: 'viewer' },
    schema: { tags, description: 'Campaigns, newest first, with their devices counted by state.', response: { 200: CampaignListOut, ...errors } },
  }, async () => ({ items: (await service.campaigns()).map(campaignView) }));

  app.get('/firmware/campaigns/:id', {
    config: { access: 'viewer' },
    schema: { tags, description: 'One campaign with its devices counted by state.', params: IdParam, response: { 200: CampaignOut, ...errors } },
  }, async (req) => campaignView(await service.campaign(req.params.id)));

  for (const step of ['start', 'pause', 'resume', 'cancel'] as const) {
    app.post(`/firmware/campaigns/:id/${step}`, {
      config: { access: STEP_ACCESS[step] },
      schema: { tags, description: `The campaign's ${step} step; 409 when its state does not allow it.`, params: IdParam, response: { 200: CampaignOut, ...errors } },
    }, async (req) => campaignView(await service.step(actorOf(req), req.params.id, step)));
  }

  app.get('/firmware/campaigns/:id/devices', {
    config: { access: 'viewer' },
    schema: {
      tags, description: 'The campaign\'s devices by meter id, one page (`after` = the previous page\'s `next`), or every one as CSV (`format=csv`).',
      params: IdParam, querystring: CampaignDevicesQuery, produces: ['application/json', 'text/csv'], response: { 200: CampaignDevicePageOut, ...errors },
    },
  }, async (req, reply) => {
    const { state, after, limit } = req.query;
    if (wantsCsv(req)) {
      const header = csvLine(['meter_id', 'terminal_id', 'state', 'blocks_held', 'blocks_total', 'attempts', 'code', 'reason', 'from_version', 'to_version', 'updated_at']);
      const line = (d: CampaignDevice) => csvLine([d.meterId, d.terminalId, d.state, d.blocksHeld, d.blocksTotal, d.attempts, d.code, d.reason, d.fromVersion, d.toVersion, iso(d.updatedAt)]);
      return sendCsv(req, reply, header, service.exportDevices(req.params.id, state), line);
    }
    const page = await service.devices(req.params.id, { limit, ...(state === undefined ? {} : { state }), ...(after === undefined ? {} : { after }) });
    return { items: page.items.map(deviceView), ...(page.next === null ? {} : { next: page.next }) };
  });
  await Promise.resolve();
};

function actorOf(req: FastifyRequest): Actor {
  if (req.principal === null) throw new UnauthenticatedError('credentials required: a bearer token or a session');
  return { subject: req.principal.subject, source: req.ip };
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function imageView(i: FirmwareImageRecord): FirmwareImageView {
  return {
    id: i.id, name: i.name, identifier: i.identifier, version: i.version, size: i.size, sha256: i.sha256,
    ...(i.signature === null ? {} : { signature: i.signature }), uploadedAt: iso(i.uploadedAt), uploadedBy: i.uploadedBy,
  };
}

export function campaignView({ campaign: c, image, counts }: CampaignWithCounts): CampaignView {
  const w = c.window;
  return {
    id: c.id, name: c.name, imageId: c.imageId, image: imageView(image), group: groupView(c.group),
    window: { ...(w.notBefore === undefined ? {} : { notBefore: iso(w.notBefore) }), ...(w.notAfter === undefined ? {} : { notAfter: iso(w.notAfter) }), ...(w.daily === undefined ? {} : { daily: { ...w.daily } }) },
    rate: { ...c.rate }, activation: c.activation.at === 'now' ? { at: 'now' } : { at: 'scheduled', time: iso(c.activation.time) }, failureBudget: { ...c.failureBudget },
    state: c.state, ...(c.pauseReason === null ? {} : { pauseReason: c.pauseReason }), counts: { ...counts },
    createdAt: iso(c.createdAt), createdBy: c.createdBy, ...(c.startedAt === null ? {} : { startedAt: iso(c.startedAt) }), ...(c.finishedAt === null ? {} : { finishedAt: iso(c.finishedAt) }),
  };
}

function groupView({ meterIds, ...rest }: CampaignWithCounts['campaign']['group']): CampaignView['group'] {
  return { ...rest, ...(meterIds === undefined ? {} : { meterIds: [...meterIds] }) };
}

function deviceView(d: CampaignDevice): CampaignDeviceView {
  return {
    meterId: d.meterId, terminalId: d.terminalId, state: d.state, blocksHeld: d.blocksHeld, blocksTotal: d.blocksTotal,
    ...(d.reason === null ? {} : { reason: d.reason }), ...(d.code === null ? {} : { code: d.code }),
    ...(d.fromVersion === null ? {} : { fromVersion: d.fromVersion }), ...(d.toVersion === null ? {} : { toVersion: d.toVersion }),
    attempts: d.attempts, updatedAt: iso(d.updatedAt),
  };
}
