/**
 * Firmware images and campaigns for people, through the API: upload and list images; define a
 * campaign (its devices resolved once, at creation), and move it through its states:
 *
 *   draft ──start──▶ running ──pause──▶ paused ──resume──▶ running ──(every device ended)──▶ completed
 *     └──────────────────┴──────cancel────┴──▶ cancelled
 *
 * The runner (src/firmware/runner.ts, on the leader) pauses a campaign itself when its failure
 * budget is spent (pauseReason 'failure-budget') and completes it. Any other step is a 409.
 * Every step is audited with the actor and the image's SHA-256.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FirmwareConfig } from '../config/firmware.js';
import type { AuditLog } from '../control/audit.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { CampaignGroupEmpty, CampaignGroupTooLarge, CampaignSpecInvalid, CampaignStateConflict, FirmwareImageInvalid } from './errors.js';
import { resolveGroup, type FleetView } from './group.js';
import type { Campaign, CampaignSpec, CampaignState, DeviceCounts, FirmwareImageRecord, PauseReason } from './model.js';
import type { DeviceFirmwareRegister } from './ports.js';
import type { CampaignPatch, DevicePage, DeviceQuery, FirmwareStore } from './store.js';
import type { CampaignDevice, DeviceState } from './model.js';
import { minutesOf } from './window.js';

/** Who asks, for the audit trail: `user:<name>` / `token:<name>` and the request's address. */
export interface Actor {
  readonly subject: string;
  readonly source: string | null;
}

export interface ImageUpload {
  readonly bytes: Uint8Array;
  readonly identifier: string;
  readonly name?: string;
  readonly version?: string;
  readonly signature?: string;
}

export type CampaignInput = Pick<CampaignSpec, 'name' | 'imageId' | 'group'> & Partial<Omit<CampaignSpec, 'name' | 'imageId' | 'group'>>;

export interface CampaignWithCounts {
  readonly campaign: Campaign;
  readonly image: FirmwareImageRecord;
  readonly counts: DeviceCounts;
}

export interface FirmwareServiceOptions {
  readonly store: FirmwareStore;
  readonly audit: AuditLog;
  readonly fleet: FleetView;
  readonly limits: FirmwareConfig;
  readonly register?: DeviceFirmwareRegister | undefined;
  readonly now?: () => number;
}

export type CampaignStep = 'start' | 'pause' | 'resume' | 'cancel';

const DEFAULT_RATE = { perTerminal: 1, total: 16 };
const DEFAULT_BUDGET = { percent: 10, minFailed: 3 };

export class FirmwareService {
  readonly #o: FirmwareServiceOptions;
  readonly #now: () => number;

  constructor(options: FirmwareServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  // ── images ──

  async uploadImage(actor: Actor, upload: ImageUpload): Promise<FirmwareImageRecord> {
    if (upload.bytes.byteLength === 0) throw new FirmwareImageInvalid('body', 'the image is empty');
    if (upload.bytes.byteLength > this.#o.limits.maxImageBytes) throw new FirmwareImageInvalid('body', `the image is larger than firmware.maxImageBytes (${this.#o.limits.maxImageBytes})`);
    const signature = upload.signature?.toLowerCase();
    if (signature !== undefined && !/^(?:[0-9a-f]{2})+$/.test(signature)) throw new FirmwareImageInvalid('signature', 'signature must be hex digits, two per byte');
    const image: FirmwareImageRecord = {
      id: randomUUID(), name: upload.name ?? upload.identifier, identifier: upload.identifier, version: upload.version ?? upload.identifier,
      size: upload.bytes.byteLength, sha256: createHash('sha256').update(upload.bytes).digest('hex'), signature: signature ?? null,
      uploadedAt: this.#now(), uploadedBy: actor.subject,
    };
    await this.#o.store.insertImage({ ...image, bytes: upload.bytes });
    await this.#audit(actor, 'firmware.image-upload', `firmware-image:${image.id}`, { sha256: image.sha256, size: image.size, identifier: image.identifier, version: image.version });
    return image;
  }

  images(): Promise<FirmwareImageRecord[]> {
    return this.#o.store.images();
  }

  async image(id: string): Promise<FirmwareImageRecord> {
    const image = await this.#o.store.image(id);
    if (image === undefined) throw new NotFoundError('firmware image', id);
    return image;
  }

  // ── campaigns ──

  async createCampaign(actor: Actor, input: CampaignInput): Promise<CampaignWithCounts> {
    const image = await this.#o.store.image(input.imageId);
    if (image === undefined) throw new ValidationError(`firmware image ${JSON.stringify(input.imageId)} does not exist`, 'imageId');
    const spec = this.#checked(input);
    if (spec.group.areaId !== undefined && !this.#o.fleet.hasArea(spec.group.areaId)) throw new ValidationError(`area ${JSON.stringify(spec.group.areaId)} does not exist`, 'group.areaId');
    const max = this.#o.limits.maxCampaignDevices;
    const devices = await resolveGroup(this.#o.fleet, spec.group, this.#o.register, max);
    if (devices.length === 0) throw new CampaignGroupEmpty();
    if (devices.length > max) throw new CampaignGroupTooLarge(devices.length, max);
    const campaign: Campaign = {
      id: randomUUID(), ...spec, state: 'draft', pauseReason: null, createdAt: this.#now(), createdBy: actor.subject, startedAt: null, finishedAt: null,
    };
    await this.#o.store.insertCampaign(campaign, devices);
    await this.#audit(actor, 'firmware.campaign-create', `firmware-campaign:${campaign.id}`, { sha256: image.sha256, imageId: image.id, devices: devices.length });
    return { campaign, image, counts: await this.#o.store.counts(campaign.id) };
  }

  async campaigns(): Promise<CampaignWithCounts[]> {
    return Promise.all((await this.#o.store.campaigns()).map((c) => this.#withCounts(c)));
  }

  async campaign(id: string): Promise<CampaignWithCounts> {
    return this.#withCounts(await this.#found(id));
  }

  /** An operator's or admin's step; 409 when the campaign's state does not allow it. */
  async step(actor: Actor, id: string, step: CampaignStep): Promise<CampaignWithCounts> {
    const at = this.#now();
    const changed = await this.#o.store.changeCampaign(id, (c) => {
      const patch = stepPatch(c.state, step, at);
      if (patch === undefined) throw new CampaignStateConflict(id, c.state, step);
      return patch;
    }, at);
    if (changed === undefined) throw new NotFoundError('firmware campaign', id);
    const view = await this.#withCounts(changed);
    await this.#audit(actor, `firmware.campaign-${step}`, `firmware-campaign:${id}`, { sha256: view.image.sha256, counts: view.counts });
    return view;
  }

  async devices(id: string, query: DeviceQuery): Promise<DevicePage> {
    await this.#found(id);
    return this.#o.store.devices(id, query);
  }

  /** Every device of the campaign (of one state), by meter id, `firmware.exportBatch` at a time. */
  async *exportDevices(id: string, state: DeviceState | undefined): AsyncGenerator<CampaignDevice[]> {
    await this.#found(id);
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.store.devices(id, { limit: this.#o.limits.exportBatch, ...(state === undefined ? {} : { state }), ...(after === undefined ? {} : { after }) });
      yield page.items;
      if (page.next === null) return;
      after = page.next;
    }
  }

  async #found(id: string): Promise<Campaign> {
    const c = await this.#o.store.campaign(id);
    if (c === undefined) throw new NotFoundError('firmware campaign', id);
    return c;
  }

  async #withCounts(campaign: Campaign): Promise<CampaignWithCounts> {
    const [image, counts] = await Promise.all([this.#o.store.image(campaign.imageId), this.#o.store.counts(campaign.id)]);
    if (image === undefined) throw new NotFoundError('firmware image', campaign.imageId);
    return { campaign, image, counts };
  }

  #checked(input: CampaignInput): CampaignSpec {
    const now = this.#now();
    const window = input.window ?? {};
    if (window.notBefore !== undefined && window.notAfter !== undefined && window.notAfter <= window.notBefore) {
      throw new CampaignSpecInvalid('window.notAfter', 'window.notAfter must come after window.notBefore');
    }
    if (window.daily !== undefined) {
      for (const edge of ['from', 'to'] as const) {
        if (minutesOf(window.daily[edge]) === undefined) throw new CampaignSpecInvalid(`window.daily.${edge}`, `window.daily.${edge} must be HH:MM`);
      }
    }
    const activation = input.activation ?? { at: 'now' };
    if (activation.at === 'scheduled' && activation.time <= now) throw new CampaignSpecInvalid('activation.time', 'a scheduled activation must lie in the future');
    const group = input.group;
    if (Object.values(group).every((v) => v === undefined)) throw new CampaignSpecInvalid('group', 'a group names at least one criterion');
    return {
      name: input.name, imageId: input.imageId, group, window, activation,
      rate: { ...DEFAULT_RATE, ...input.rate }, failureBudget: { ...DEFAULT_BUDGET, ...input.failureBudget },
    };
  }

  async #audit(actor: Actor, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
    await this.#o.audit.append({ actor: actor.subject, source: actor.source, action, target, outcome: 'ok', detail });
  }
}

/** What a step does from `state`; undefined: not allowed. */
export function stepPatch(state: CampaignState, step: CampaignStep | 'complete' | 'budget-pause', at: number): CampaignPatch | undefined {
  const paused = (reason: PauseReason): CampaignPatch => ({ state: 'paused', pauseReason: reason });
  switch (step) {
    case 'start': return state === 'draft' ? { state: 'running', startedAt: at } : undefined;
    case 'pause': return state === 'running' ? paused('operator') : undefined;
    case 'budget-pause': return state === 'running' ? paused('failure-budget') : undefined;
    case 'resume': return state === 'paused' ? { state: 'running', pauseReason: null } : undefined;
    case 'cancel': return state === 'draft' || state === 'running' || state === 'paused' ? { state: 'cancelled', pauseReason: null, finishedAt: at } : undefined;
    case 'complete': return state === 'running' ? { state: 'completed', finishedAt: at } : undefined;
  }
}
