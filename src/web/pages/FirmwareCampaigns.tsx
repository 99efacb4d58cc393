/**
 * Firmware campaigns: the campaigns with their state and progress by device state, the
 * firmware images, and for an administrator the image upload and the new-campaign form (in
 * the order of the work: an image first, then a campaign of it).
 * Loaded on its own when opened (src/web/main.tsx), like every firmware page.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { ImageList, ImageUpload } from '../firmware/Images.js';
import { NewCampaign } from '../firmware/NewCampaign.js';
import { StateBar } from '../firmware/StateBar.js';
import { fmtSubject, fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import { administers } from '../roles.js';
import type { Area, CampaignList, FirmwareImageList, Page, Role } from '../types.js';

/** Campaigns move by themselves while they run: the list follows them. */
const POLL_MS = 5_000;

export function FirmwareCampaigns({ role }: { role: Role }) {
  const admin = administers(role);
  const [campaigns] = useLoad(() => api<CampaignList>('/firmware/campaigns'), [], POLL_MS);
  const [images, reloadImages] = useLoad(() => api<FirmwareImageList>('/firmware/images'), []);
  const [areas] = useLoad(() => api<Page<Area>>('/areas?limit=1000'), []);
  const [uploaded, setUploaded] = useState<string | undefined>();
  return (
    <div class="grid">
      <section class="card wide" data-testid="fw-campaigns">
        <h2>{t('fw.title')}</h2>
        {campaigns.status !== 'ok' ? <p>{campaigns.status === 'error' ? errorText(campaigns.error) : t('common.loading')}</p>
          : campaigns.value.items.length === 0 ? <p class="muted">{t('fw.noCampaigns')}</p> : (
            <table data-table="fw-campaigns">
              <thead><tr>
                <th>{t('fw.name')}</th><th>{t('fw.state')}</th><th>{t('fw.image')}</th><th>{t('fw.target')}</th>
                <th class="fw-progress-cell">{t('fw.progress')}</th><th>{t('fw.created')}</th><th>{t('fw.createdBy')}</th>
              </tr></thead>
              <tbody>{campaigns.value.items.map((c) => (
                <tr key={c.id} data-campaign={c.id} data-state={c.state}>
                  <td><a href={`#/firmware/${encodeURIComponent(c.id)}`}>{c.name}</a></td>
                  <td><span class={`fw-state fw-state-${c.state}`}>{label('fwState', c.state)}</span></td>
                  <td>{c.image.name}</td>
                  <td>{c.image.version}</td>
                  <td class="fw-progress-cell"><StateBar counts={c.counts} /></td>
                  <td class="time">{fmtTime(c.createdAt)}</td>
                  <td>{fmtSubject(c.createdBy)}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        {!admin && <p class="muted">{t('fw.adminOnly')}</p>}
      </section>
      {admin && <ImageUpload onUploaded={(image) => { setUploaded(image.id); reloadImages(); }} />}
      <ImageList images={images} />
      {admin && images.status === 'ok' && (
        <NewCampaign images={images.value.items} areas={areas.status === 'ok' ? areas.value.items : []} initialImage={uploaded} />
      )}
    </div>
  );
}
