/**
 * The new-campaign form as the operator fills it (every field text, as inputs give it) and the
 * request body it becomes: empty fields are left out so the station's defaults apply, meter ids
 * are split on commas, spaces and line breaks, local date-times become instants. A form that
 * cannot make a campaign names what is missing instead.
 */
import type { Key } from '../i18n.js';
import type { CampaignSpec } from '../types.js';

export interface CampaignForm {
  name: string;
  imageId: string;
  meterType: string;
  areaId: string;
  meterIds: string;
  currentVersion: string;
  protocol: string;
  /** `<input type="datetime-local">` values, in the browser's time zone. */
  notBefore: string;
  notAfter: string;
  /** `<input type="time">` values, HH:MM. */
  dailyFrom: string;
  dailyTo: string;
  perTerminal: string;
  total: string;
  activation: 'now' | 'scheduled';
  activationTime: string;
  budgetPercent: string;
  minFailed: string;
}

/** The form as it opens: the contract's defaults shown, so the operator sees what applies. */
export const EMPTY_FORM: CampaignForm = {
  name: '', imageId: '', meterType: '', areaId: '', meterIds: '', currentVersion: '', protocol: '',
  notBefore: '', notAfter: '', dailyFrom: '', dailyTo: '',
  perTerminal: '1', total: '16', activation: 'now', activationTime: '', budgetPercent: '10', minFailed: '3',
};

/** The protocols a campaign reaches devices by: DLMS sessions (IC 18 image transfer) and MQTT offers. */
export const FIRMWARE_PROTOCOLS = ['dlms', 'mqtt'] as const;

export type SpecOutcome = { ok: true; spec: CampaignSpec } | { ok: false; problem: Key };

export function campaignSpec(form: CampaignForm): SpecOutcome {
  if (form.imageId === '') return { ok: false, problem: 'fw.chooseImageFirst' };
  const meterIds = form.meterIds.split(/[\s,;]+/).filter((id) => id !== '');
  const protocol = FIRMWARE_PROTOCOLS.find((p) => p === form.protocol);
  const group = {
    ...text('meterType', form.meterType), ...text('areaId', form.areaId), ...text('currentVersion', form.currentVersion),
    ...(protocol === undefined ? {} : { protocol }), ...(meterIds.length === 0 ? {} : { meterIds }),
  };
  // An empty group would be every device of the station: the operator names whom the campaign is for.
  if (Object.keys(group).length === 0) return { ok: false, problem: 'fw.groupNeeded' };
  const activationAt = instant(form.activationTime);
  if (form.activation === 'scheduled' && activationAt === undefined) return { ok: false, problem: 'fw.activationTimeNeeded' };
  const window: NonNullable<CampaignSpec['window']> = {
    ...optional('notBefore', instant(form.notBefore)), ...optional('notAfter', instant(form.notAfter)),
    ...(form.dailyFrom !== '' && form.dailyTo !== '' ? { daily: { from: form.dailyFrom, to: form.dailyTo } } : {}),
  };
  const rate = { ...optional('perTerminal', count(form.perTerminal)), ...optional('total', count(form.total)) };
  const percent = count(form.budgetPercent);
  const minFailed = count(form.minFailed);
  return {
    ok: true,
    spec: {
      name: form.name.trim(), imageId: form.imageId, group,
      ...(Object.keys(window).length === 0 ? {} : { window }),
      ...(Object.keys(rate).length === 0 ? {} : { rate }),
      activation: form.activation === 'scheduled' && activationAt !== undefined ? { at: 'scheduled', time: activationAt } : { at: 'now' },
      ...(percent === undefined ? {} : { failureBudget: { percent, ...optional('minFailed', minFailed) } }),
    },
  };
}

function text<K extends string>(key: K, value: string): Partial<Record<K, string>> {
  const v = value.trim();
  return v === '' ? {} : ({ [key]: v } as Record<K, string>);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** A local `datetime-local` value as an ISO instant; undefined when empty or not a date. */
function instant(local: string): string | undefined {
  if (local.trim() === '') return undefined;
  const ms = new Date(local).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A non-negative number typed in a field; undefined when empty (the station's default applies). */
function count(value: string): number | undefined {
  if (value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
