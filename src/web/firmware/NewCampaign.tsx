/**
 * The new-campaign form (an administrator's): an image, the devices (meter type, area, meter
 * ids, current version, protocol), the window, the rate, the activation and the failure
 * budget. The station answers with the campaign in `draft`; the page then opens it.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { t } from '../i18n.js';
import type { Area, Campaign, FirmwareImage } from '../types.js';
import { EMPTY_FORM, FIRMWARE_PROTOCOLS, campaignSpec, type CampaignForm } from './spec.js';

export function NewCampaign({ images, areas, initialImage }: { images: readonly FirmwareImage[]; areas: readonly Area[]; initialImage: string | undefined }) {
  const [form, setForm] = useState<CampaignForm>(EMPTY_FORM);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // Until the operator picks one, the image just uploaded is the one offered.
  const imageId = form.imageId === '' ? initialImage ?? '' : form.imageId;
  const set = (name: keyof CampaignForm) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [name]: value }));
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const outcome = campaignSpec({ ...form, imageId });
    if (!outcome.ok) { setError(t(outcome.problem)); return; }
    setBusy(true);
    setError(undefined);
    api<Campaign>('/firmware/campaigns', { method: 'POST', body: outcome.spec }).then(
      (campaign) => { location.hash = `#/firmware/${encodeURIComponent(campaign.id)}`; },
      (err: unknown) => { setBusy(false); setError(errorText(err)); },
    );
  };
  return (
    <section class="card wide" data-testid="fw-new">
      <h3>{t('fw.create')}</h3>
      <form class="fw-form fw-columns" onSubmit={submit}>
        <fieldset>
          <label>{t('fw.campaignName')} * <input name="name" required value={form.name} onInput={set('name')} /></label>
          <label>{t('fw.image')} *
            <select name="imageId" required value={imageId} onChange={set('imageId')}>
              <option value="">{t('fw.chooseImage')}</option>
              {images.map((i) => <option key={i.id} value={i.id}>{i.name} ({i.version})</option>)}
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>{t('fw.group')}</legend>
          <label>{t('fw.meterType')} <input name="meterType" value={form.meterType} onInput={set('meterType')} /></label>
          <label>{t('fw.area')}
            <select name="areaId" value={form.areaId} onChange={set('areaId')}>
              <option value="">{t('fw.anyArea')}</option>
              {areas.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
            </select>
          </label>
          <label>{t('fw.meterIds')} <textarea name="meterIds" rows={3} value={form.meterIds} onInput={set('meterIds')} /></label>
          <label>{t('fw.currentVersion')} <input name="currentVersion" value={form.currentVersion} onInput={set('currentVersion')} /></label>
          <label>{t('fw.protocol')}
            <select name="protocol" value={form.protocol} onChange={set('protocol')}>
              <option value="">{t('fw.any')}</option>
              {FIRMWARE_PROTOCOLS.map((p) => <option key={p} value={p}>{p.toUpperCase()}</option>)}
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>{t('fw.window')}</legend>
          <label>{t('fw.notBefore')} <input type="datetime-local" name="notBefore" value={form.notBefore} onInput={set('notBefore')} /></label>
          <label>{t('fw.notAfter')} <input type="datetime-local" name="notAfter" value={form.notAfter} onInput={set('notAfter')} /></label>
          <span class="inline">
            <label>{t('fw.daily')} <input type="time" name="dailyFrom" value={form.dailyFrom} onInput={set('dailyFrom')} /></label>
            <label>{t('fw.dailyTo')} <input type="time" name="dailyTo" value={form.dailyTo} onInput={set('dailyTo')} /></label>
          </span>
        </fieldset>
        <fieldset>
          <legend>{t('fw.rate')} · {t('fw.budget')}</legend>
          <label>{t('fw.perTerminal')} <input type="number" min={1} max={64} name="perTerminal" value={form.perTerminal} onInput={set('perTerminal')} /></label>
          <label>{t('fw.total')} <input type="number" min={1} max={10000} name="total" value={form.total} onInput={set('total')} /></label>
          <label>{t('fw.budgetPercent')} <input type="number" min={0} max={100} name="budgetPercent" value={form.budgetPercent} onInput={set('budgetPercent')} /></label>
          <label>{t('fw.minFailed')} <input type="number" min={1} name="minFailed" value={form.minFailed} onInput={set('minFailed')} /></label>
        </fieldset>
        <fieldset>
          <legend>{t('fw.activation')}</legend>
          <label class="fw-choice"><input type="radio" name="activation" value="now" checked={form.activation === 'now'} onChange={() => { setForm((f) => ({ ...f, activation: 'now' })); }} /> {t('fw.activateNow')}</label>
          <label class="fw-choice"><input type="radio" name="activation" value="scheduled" checked={form.activation === 'scheduled'} onChange={() => { setForm((f) => ({ ...f, activation: 'scheduled' })); }} /> {t('fw.activateAt')}</label>
          {form.activation === 'scheduled' && <input type="datetime-local" name="activationTime" required value={form.activationTime} onInput={set('activationTime')} />}
        </fieldset>
        <div class="buttons wide">
          <button type="submit" data-testid="fw-create" disabled={busy}>{t('fw.submitCreate')}</button>
          {error !== undefined && <p class="error" data-testid="fw-create-error">{error}</p>}
        </div>
      </form>
    </section>
  );
}
