/**
 * The campaign runner, a leader duty: at every tick it takes up the due devices of the running
 * campaigns inside their windows, within the campaign's rate (devices in transfer per terminal
 * and in total) and the station's `firmware.maxConcurrentTransfers`, and drives each through
 * sessionUpgrade.ts (DLMS sessions) or otaUpgrade.ts (MQTT offers). Every step is written
 * before the next starts, so a new leader, or this one restarted, continues where the rows say.
 *
 * A failure is written with its code. Transient ones (TIMEOUT, CONNECTION, …) are tried again
 * after a doubling backoff until `firmware.maxAttempts`; a full terminal queue (COLLECT_BUSY)
 * waits without spending a try; anything else (IMAGE_REFUSED, IMAGE_VERIFICATION_FAILED, …)
 * fails the device at once. When a failure takes failed / finished devices past the campaign's
 * budget the campaign pauses itself ('failure-budget'), with an audit and a log line. Pausing or
 * cancelling stops new slices; the slice on the wire finishes.
 */
import { SYSTEM_ACTOR, type AuditLog } from '../control/audit.js';
import type { FirmwareConfig } from '../config/firmware.js';
import { errorCode } from '../domain/errors.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import { BUSY_CODE, NoFirmwarePath, TRANSIENT_CODES } from './errors.js';
import type { FirmwareImageCache, LoadedImage } from './imageCache.js';
import { DEVICE_OPEN_STATES, type Campaign, type CampaignDevice, type DeviceCounts, type DevicePatch, type FirmwareImageRecord } from './model.js';
import { offerOverOta, reportPatch } from './otaUpgrade.js';
import type { OtaReport } from './ota/channel.js';
import type { DeviceFirmwareRegister, OtaLink } from './ports.js';
import { stepPatch } from './service.js';
import { upgradeOverSession, type SessionLanes } from './sessionUpgrade.js';
import type { FirmwareStore } from './store.js';
import { insideWindow } from './window.js';

/** How a terminal takes firmware: over a session, through the OTA channel, or not at all (with why). */
export type FirmwarePath = { readonly via: 'session' | 'ota' } | { readonly via: 'none'; readonly why: string };

export interface CampaignRunnerOptions {
  readonly store: FirmwareStore;
  /** The images, shared with the OTA download route. */
  readonly images: FirmwareImageCache;
  readonly lanes: SessionLanes;
  readonly audit: AuditLog;
  readonly limits: FirmwareConfig;
  readonly utcOffsetMinutes: number;
  /** The meter's address on its terminal; undefined once the meter left the registry. */
  readonly addressOf: (meterId: string) => string | undefined;
  readonly pathOf: (terminalId: string) => FirmwarePath;
  readonly register?: DeviceFirmwareRegister | undefined;
  readonly ota?: OtaLink | undefined;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly now?: () => number;
}

export class CampaignRunner {
  readonly #o: CampaignRunnerOptions;
  readonly #now: () => number;
  readonly #log: Logger;
  /** `campaign/meter` → the device's work in flight, with its terminal. */
  readonly #active = new Map<string, { readonly campaignId: string; readonly terminalId: string; readonly work: Promise<void> }>();
  #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #running = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: CampaignRunnerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'firmware' });
  }

  /** Duty start: ticks from now on; devices left mid-transfer by a previous leader resume at the first tick. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#unsubscribe = this.#o.ota?.channel.onReport((terminalId, report) => { void this.#onReport(terminalId, report); });
    const loop = (): void => {
      this.#timer = setTimeout(() => { this.#ticking = this.tick().finally(loop); }, this.#o.limits.tickMs);
      this.#timer.unref();
    };
    loop();
  }

  /** Duty stop: no further tick or slice; work in flight is aborted and awaited (its rows say where to resume). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#abort.abort();
    await this.#ticking;
    await this.idle();
  }

  /** Resolves once no device work is in flight (tests drive ticks with it). */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active.values()].map((a) => a.work));
  }

  /** One pass over the running campaigns. */
  async tick(): Promise<void> {
    if (!this.#running) return;
    try {
      for (const campaign of await this.#o.store.campaigns(['running'])) await this.#tickCampaign(campaign);
    } catch (err) {
      this.#problem('tick', err, 'firmware campaign tick failed; tried again at the next tick');
    }
  }

  async #tickCampaign(campaign: Campaign): Promise<void> {
    const counts = await this.#o.store.counts(campaign.id);
    const inFlight = [...this.#active.values()].filter((a) => a.campaignId === campaign.id);
    const open = DEVICE_OPEN_STATES.reduce((n, s) => n + counts[s], 0);
    if (open === 0 && inFlight.length === 0) {
      await this.#campaignStep(campaign, 'complete', (now) => ({ counts: now }));
      return;
    }
    if (!insideWindow(campaign.window, this.#now(), this.#o.utcOffsetMinutes)) return;
    const free = Math.min(campaign.rate.total - inFlight.length, this.#o.limits.maxConcurrentTransfers - this.#active.size);
    if (free <= 0) return;
    // A terminal's transfers of every campaign count against this one's rate: two campaigns on
    // one terminal share its link, which is what the rate per terminal protects.
    const perTerminal = new Map<string, number>();
    for (const a of this.#active.values()) perTerminal.set(a.terminalId, (perTerminal.get(a.terminalId) ?? 0) + 1);
    const due = await this.#o.store.dueDevices(campaign.id, DEVICE_OPEN_STATES, this.#now(), free * 4 + inFlight.length);
    let started = 0;
    for (const device of due) {
      if (started >= free) break;
      const key = `${campaign.id}/${device.meterId}`;
      const onTerminal = perTerminal.get(device.terminalId) ?? 0;
      if (this.#active.has(key) || onTerminal >= campaign.rate.perTerminal) continue;
      perTerminal.set(device.terminalId, onTerminal + 1);
      started++;
      const work = this.#work(campaign, device).finally(() => { this.#active.delete(key); });
      this.#active.set(key, { campaignId: campaign.id, terminalId: device.terminalId, work });
    }
  }

  async #work(campaign: Campaign, taken: CampaignDevice): Promise<void> {
    const signal = this.#abort.signal;
    let device = taken;
    const save = async (patch: DevicePatch): Promise<CampaignDevice> => {
      device = await this.#o.store.updateDevice(campaign.id, device.meterId, patch, this.#now());
      return device;
    };
    let image: LoadedImage | undefined;
    try {
      image = await this.#o.images.load(campaign.imageId);
      device = await save({ attempts: device.attempts + 1 });
      const path = this.#o.pathOf(device.terminalId);
      const address = this.#o.addressOf(device.meterId);
      if (path.via === 'none') throw new NoFirmwarePath(device.terminalId, path.why);
      if (address === undefined) throw new NoFirmwarePath(device.terminalId, `meter ${device.meterId} is no longer in the registry`);
      if (path.via === 'ota') {
        if (this.#o.ota === undefined) throw new NoFirmwarePath(device.terminalId, 'the terminal takes images over the air and the OTA channel is off');
        const patch = await offerOverOta(this.#o.ota, campaign, image.record, device, this.#o.limits.otaReportTimeoutMs, this.#now());
        await save(patch);
        await this.#deviceStep(campaign, image.record, device, 'offered', { offerId: device.offerId });
        return;
      }
      const record = image.record;
      await upgradeOverSession({
        lanes: this.#o.lanes, campaign, image: record, firmware: image.firmware, address, limits: this.#o.limits, signal, now: this.#now, save,
        mayGoOn: async () => this.#running && !signal.aborted && (await this.#o.store.campaign(campaign.id))?.state === 'running'
          && insideWindow(campaign.window, this.#now(), this.#o.utcOffsetMinutes),
        step: async (event, detail) => {
          await this.#deviceStep(campaign, record, device, event, detail);
          if (event === 'done') await this.#recordFirmware(campaign, device, typeof detail?.signature === 'string' ? detail.signature : undefined);
        },
      }, device);
    } catch (err) {
      // A stop (leadership lost, shutdown) is no failure of the device: its row says where to resume.
      if (signal.aborted) return;
      await this.#failedTry(campaign, image?.record, device, err);
    }
  }

  async #failedTry(campaign: Campaign, image: FirmwareImageRecord | undefined, device: CampaignDevice, err: unknown): Promise<void> {
    const code = errorCode(err);
    const reason = err instanceof Error ? err.message : String(err);
    const now = this.#now();
    try {
      if (code === BUSY_CODE) {
        await this.#o.store.updateDevice(campaign.id, device.meterId, { attempts: Math.max(0, device.attempts - 1), notBefore: now + this.#o.limits.busyBackoffMs }, now);
        return;
      }
      const retry = TRANSIENT_CODES.has(code) && device.attempts < this.#o.limits.maxAttempts;
      const backoff = Math.min(this.#o.limits.retryMaxBackoffMs, this.#o.limits.retryBackoffMs * 2 ** Math.max(0, device.attempts - 1));
      // An OTA try that timed out is offered afresh; a session transfer resumes where the meter stands.
      const patch: DevicePatch = retry
        ? { reason, code, notBefore: now + backoff, ...(device.offerId !== null ? { state: 'pending', offerId: null } : {}) }
        : { state: 'failed', reason, code };
      await this.#o.store.updateDevice(campaign.id, device.meterId, patch, now);
      if (image !== undefined) await this.#deviceStep(campaign, image, device, retry ? 'retry' : 'failed', { code, reason }, retry ? 'ok' : 'failed');
      if (!retry) await this.#spendBudget(campaign);
    } catch (writeErr) {
      this.#problem('write', writeErr, 'a firmware device failure could not be written; the device is taken up again');
    }
  }

  async #onReport(terminalId: string, report: OtaReport): Promise<void> {
    try {
      const device = await this.#o.store.deviceByOffer(report.offerId);
      if (device?.terminalId !== terminalId || !DEVICE_OPEN_STATES.includes(device.state)) return;
      const campaign = await this.#o.store.campaign(device.campaignId);
      if (campaign === undefined) return;
      const image = (await this.#o.images.load(campaign.imageId)).record;
      const { patch, failure } = reportPatch(report, device, image, this.#o.limits.otaReportTimeoutMs, this.#now());
      if (failure !== undefined) {
        await this.#failedTry(campaign, image, device, failure);
        return;
      }
      const saved = await this.#o.store.updateDevice(campaign.id, device.meterId, patch, this.#now());
      if (saved.state !== device.state) await this.#deviceStep(campaign, image, saved, `ota-${report.state}`, { offerId: report.offerId });
    } catch (err) {
      this.#problem('ota-report', err, 'an OTA report could not be applied');
    }
  }

  /**
   * A device failed for good: past the budget the campaign pauses itself. Checked at each
   * failure, not at each tick, so an operator's resume of a campaign whose budget is spent goes
   * on until its next failure instead of pausing again before any device is taken up.
   */
  async #spendBudget(campaign: Campaign): Promise<void> {
    const budget = campaign.failureBudget;
    const paused = await this.#campaignStep(campaign, 'budget-pause', (counts) => {
      const finished = counts.done + counts.failed + counts.skipped;
      return counts.failed >= budget.minFailed && counts.failed * 100 > budget.percent * finished ? { failed: counts.failed, finished } : undefined;
    });
    if (paused !== undefined) this.#log.warn({ campaignId: campaign.id, ...paused, percent: budget.percent }, 'firmware campaign paused: its failure budget is spent');
  }

  /**
   * The runner's own step, decided on the campaign and its counts inside the store's write
   * (several devices failing at once pause it once); answers the audit detail when it was taken.
   */
  async #campaignStep(campaign: Campaign, step: 'complete' | 'budget-pause', when: (counts: DeviceCounts) => Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined> {
    const at = this.#now();
    let detail: Record<string, unknown> | undefined;
    await this.#o.store.changeCampaign(campaign.id, (c, counts) => {
      const patch = stepPatch(c.state, step, at);
      detail = patch === undefined ? undefined : when(counts);
      return detail === undefined ? null : patch ?? null;
    }, at);
    if (detail === undefined) return undefined;
    const image = await this.#o.store.image(campaign.imageId);
    await this.#o.audit.append({
      actor: SYSTEM_ACTOR, source: null, action: `firmware.campaign-${step}`, target: `firmware-campaign:${campaign.id}`, outcome: 'ok',
      detail: { ...detail, sha256: image?.sha256 },
    });
    return detail;
  }

  async #deviceStep(campaign: Campaign, image: FirmwareImageRecord, device: CampaignDevice, event: string, detail: Record<string, unknown> = {}, outcome: 'ok' | 'failed' = 'ok'): Promise<void> {
    await this.#o.audit.append({
      actor: SYSTEM_ACTOR, source: null, action: `firmware.device-${event}`, target: `meter:${device.meterId}`, outcome,
      detail: { campaignId: campaign.id, sha256: image.sha256, startedBy: campaign.createdBy, ...detail },
    });
  }

  /** The version the meter reports active after the upgrade, with the signature it reported beside it (where it has one). */
  async #recordFirmware(campaign: Campaign, device: CampaignDevice, signature: string | undefined): Promise<void> {
    if (this.#o.register === undefined || device.toVersion === null) return;
    try {
      await this.#o.register.recordFirmware('meter', device.meterId, {
        version: device.toVersion, ...(signature === undefined ? {} : { signature }), at: this.#now(), source: 'campaign', campaignId: campaign.id, actor: campaign.createdBy,
      });
    } catch (err) {
      this.#problem('register', err, 'the device register could not record a firmware change; the campaign goes on');
    }
  }

  #problem(key: string, err: unknown, message: string): void {
    const suppressed = this.#o.throttle.pass(`firmware:${key}`);
    if (suppressed >= 0) this.#log.warn({ err, suppressed }, message);
  }
}
