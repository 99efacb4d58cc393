/**
 * A meter's record in the device register (设备档案): its nameplate, installation, firmware
 * history (newest first) and billing's replacements under its id, from GET /devices/meter/:id.
 * A meter the register has not recorded yet (404) says so rather than failing.
 */
import { ApiError, api, errorText } from '../api.js';
import { fmtQuantity, fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import type { DeviceDetail } from '../types.js';

export function DevicePanel({ meterId }: { meterId: string }) {
  const [detail] = useLoad(() => api<DeviceDetail>(`/devices/meter/${encodeURIComponent(meterId)}`)
    .catch((err: unknown) => { if (err instanceof ApiError && err.status === 404) return null; throw err; }), [meterId], 60_000);
  if (detail.status === 'loading') return <h3>{t('device.title')}</h3>;
  if (detail.status === 'error') return <><h3>{t('device.title')}</h3><p class="error">{errorText(detail.error)}</p></>;
  const d = detail.value;
  if (d === null) return <><h3>{t('device.title')}</h3><p class="muted" data-device="unknown">{t('device.unknown')}</p></>;
  const v = d.device;
  return (
    <div data-device={v.id}>
      <h3>{t('device.title')}</h3>
      <dl class="pairs">
        <dt>{t('device.manufacturer')}</dt><dd data-field="manufacturer">{v.manufacturer ?? '—'}</dd>
        <dt>{t('device.model')}</dt><dd data-field="model">{v.model ?? '—'}</dd>
        <dt>{t('device.serial')}</dt><dd data-field="serial">{v.serial ?? '—'}</dd>
        <dt>{t('device.firmware')}</dt><dd data-field="firmwareVersion">{v.firmwareVersion ?? '—'}</dd>
        <dt>{t('device.signature')}</dt><dd data-field="firmwareSignature" class="mono">{v.firmwareSignature ?? '—'}</dd>
        <dt>{t('device.hardware')}</dt><dd data-field="hardwareVersion">{v.hardwareVersion ?? '—'}</dd>
        <dt>{t('device.readAt')}</dt><dd>{fmtTime(v.nameplateReadAt)}</dd>
        <dt>{t('device.installed')}</dt><dd>{fmtTime(v.installedAt)}</dd>
        {v.removedAt !== null && <><dt>{t('device.removed')}</dt><dd>{fmtTime(v.removedAt)}</dd></>}
      </dl>
      <h3>{t('device.history')}</h3>
      {d.firmwareHistory.length === 0 ? <p class="muted">{t('device.noHistory')}</p> : (
        <table data-firmware-history={d.firmwareHistory.length}>
          <thead><tr><th /><th>{t('device.from')}</th><th>{t('device.to')}</th><th>{t('device.source')}</th></tr></thead>
          <tbody>{d.firmwareHistory.map((h) => (
            <tr key={`${h.at}-${h.to}`}><td class="time">{fmtTime(h.at)}</td><td>{h.from ?? '—'}</td><td>{h.to}</td><td>{label('deviceSource', h.source)}{h.campaignId === null ? '' : ` ${h.campaignId}`}</td></tr>
          ))}</tbody>
        </table>
      )}
      <h3>{t('device.replacements')}</h3>
      {d.replacements.length === 0 ? <p class="muted">{t('device.noReplacements')}</p> : (
        <table data-replacements={d.replacements.length}>
          <thead><tr><th /><th>{t('device.oldFinal')}</th><th>{t('device.newInitial')}</th></tr></thead>
          <tbody>{d.replacements.map((r) => <tr key={r.at}><td class="time">{fmtTime(r.at)}</td><td>{fmtQuantity(r.oldFinal, 'kWh', 2)}</td><td>{fmtQuantity(r.newInitial, 'kWh', 2)}</td></tr>)}</tbody>
        </table>
      )}
    </div>
  );
}
