/**
 * One firmware campaign: its devices by state as a stacked bar, the steps the signed-in role
 * may take (start, pause, resume, cancel), why it paused, and every device's progress (state,
 * block k of n, versions, attempts, why it failed) page by page, filtered by state (the filter
 * lives in the address), exported as CSV. While it runs the page refreshes every few seconds.
 */
import { useState } from 'preact/hooks';
import { API, api, errorText } from '../api.js';
import { DEVICE_STATES } from '../../firmware/model.js';
import { StateBar } from '../firmware/StateBar.js';
import { stepsFor, type CampaignStep } from '../firmware/steps.js';
import { fmtSubject, fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import type { Campaign, CampaignDevice, CampaignDevicePage, Role } from '../types.js';

/** While devices are being updated the counts move by the second; afterwards they rarely do. */
const RUNNING_POLL_MS = 3_000;
const IDLE_POLL_MS = 15_000;
const PAGE = 50;

export function FirmwareCampaignPage({ campaignId, role, query }: { campaignId: string; role: Role; query: URLSearchParams }) {
  const id = encodeURIComponent(campaignId);
  const [pollMs, setPollMs] = useState(RUNNING_POLL_MS);
  const [campaign, reload] = useLoad(async () => {
    const c = await api<Campaign>(`/firmware/campaigns/${id}`);
    setPollMs(c.state === 'running' ? RUNNING_POLL_MS : IDLE_POLL_MS);
    return c;
  }, [id], pollMs);
  if (campaign.status !== 'ok') return <p>{campaign.status === 'error' ? errorText(campaign.error) : t('common.loading')}</p>;
  const c = campaign.value;
  return (
    <div class="grid">
      <section class="card wide" data-testid="fw-campaign" data-campaign={c.id} data-state={c.state}>
        <h2><a href="#/firmware">{t('fw.title')}</a> / {c.name}
          <span class={`fw-state fw-state-${c.state}`} data-testid="fw-state">{label('fwState', c.state)}</span>
          {c.state === 'running' && <small class="fw-refresh">{t('fw.refreshing', { n: RUNNING_POLL_MS / 1000 })}</small>}
        </h2>
        {c.state === 'paused' && c.pauseReason !== undefined && <PauseReason campaign={c} />}
        <StateBar counts={c.counts} legend />
        <Steps campaign={c} role={role} onDone={reload} />
        <Particulars campaign={c} />
      </section>
      <Devices campaign={c} query={query} pollMs={pollMs} />
    </div>
  );
}

function PauseReason({ campaign }: { campaign: Campaign }) {
  const budget = campaign.failureBudget;
  const text = campaign.pauseReason === 'failure-budget'
    ? t('fw.pausedBy.failure-budget', { percent: budget.percent, min: budget.minFailed })
    : t('fw.pausedBy.operator');
  return <p class={campaign.pauseReason === 'failure-budget' ? 'fw-paused negative' : 'fw-paused'} data-testid="fw-pause-reason" data-reason={campaign.pauseReason}>{text}</p>;
}

function Steps({ campaign, role, onDone }: { campaign: Campaign; role: Role; onDone: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const steps = stepsFor(role, campaign.state);
  const take = (step: CampaignStep) => {
    setBusy(true);
    setError(undefined);
    api<Campaign>(`/firmware/campaigns/${encodeURIComponent(campaign.id)}/${step}`, { method: 'POST' }).then(
      () => { setBusy(false); onDone(); },
      (err: unknown) => { setBusy(false); setError(errorText(err)); },
    );
  };
  const finished = campaign.state === 'completed' || campaign.state === 'cancelled';
  return (
    <div class="buttons fw-steps">
      {steps.map((step) => (
        <button key={step} type="button" class={step === 'cancel' ? 'danger' : ''} data-testid={`fw-${step}`} disabled={busy} onClick={() => { take(step); }}>{t(`fw.${step}`)}</button>
      ))}
      {steps.length === 0 && !finished && <p class="muted">{t('fw.readOnly')}</p>}
      {error !== undefined && <p class="error" data-testid="fw-step-error">{error}</p>}
    </div>
  );
}

function Particulars({ campaign: c }: { campaign: Campaign }) {
  const g = c.group;
  const w = c.window;
  const windowParts = [
    w.notBefore === undefined ? '' : `${t('fw.notBefore')} ${fmtTime(w.notBefore)}`,
    w.notAfter === undefined ? '' : `${t('fw.notAfter')} ${fmtTime(w.notAfter)}`,
    w.daily === undefined ? '' : t('fw.dailyText', { from: w.daily.from, to: w.daily.to }),
  ].filter((p) => p !== '');
  const rows: [string, string][] = [
    [t('fw.image'), `${c.image.name} · ${c.image.identifier}`],
    [t('fw.target'), c.image.version],
    [t('fw.sha256'), c.image.sha256],
    ...(g.meterType === undefined ? [] : [[t('fw.meterType'), g.meterType] as [string, string]]),
    ...(g.areaId === undefined ? [] : [[t('fw.area'), g.areaId] as [string, string]]),
    ...(g.meterIds === undefined ? [] : [[t('fw.meterList'), g.meterIds.join(', ')] as [string, string]]),
    ...(g.currentVersion === undefined ? [] : [[t('fw.currentVersion'), g.currentVersion] as [string, string]]),
    ...(g.protocol === undefined ? [] : [[t('fw.protocol'), g.protocol.toUpperCase()] as [string, string]]),
    [t('fw.window'), windowParts.length === 0 ? t('fw.anyTime') : windowParts.join(' · ')],
    [t('fw.rate'), t('fw.rateText', { perTerminal: c.rate.perTerminal, total: c.rate.total })],
    [t('fw.activation'), c.activation.at === 'scheduled' ? t('fw.activationAt', { time: fmtTime(c.activation.time) }) : t('fw.activationNow')],
    [t('fw.budget'), t('fw.budgetText', { percent: c.failureBudget.percent, min: c.failureBudget.minFailed })],
    [t('fw.created'), `${fmtTime(c.createdAt)} · ${fmtSubject(c.createdBy)}`],
    ...(c.startedAt === undefined ? [] : [[t('fw.started'), fmtTime(c.startedAt)] as [string, string]]),
    ...(c.finishedAt === undefined ? [] : [[t('fw.finished'), fmtTime(c.finishedAt)] as [string, string]]),
  ];
  return (
    <dl class="pairs fw-particulars">
      {rows.map(([k, v]) => [<dt key={`${k}:k`}>{k}</dt>, <dd key={`${k}:v`}>{v}</dd>])}
    </dl>
  );
}

function Devices({ campaign, query, pollMs }: { campaign: Campaign; query: URLSearchParams; pollMs: number }) {
  const state = query.get('state') ?? '';
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const id = encodeURIComponent(campaign.id);
  const filter = new URLSearchParams(state === '' ? {} : { state });
  const listQuery = new URLSearchParams({ ...Object.fromEntries(filter), limit: String(PAGE), ...(after === undefined ? {} : { after }) });
  const [page] = useLoad(() => api<CampaignDevicePage>(`/firmware/campaigns/${id}/devices?${listQuery.toString()}`), [listQuery.toString()], pollMs);
  const csv = new URLSearchParams({ ...Object.fromEntries(filter), format: 'csv' });
  const setState = (next: string) => {
    setCursors([]);
    location.hash = `#/firmware/${id}${next === '' ? '' : `?state=${encodeURIComponent(next)}`}`;
  };
  const next = page.status === 'ok' ? page.value.next : undefined;
  return (
    <section class="card wide" data-testid="fw-devices">
      <h3>{t('fw.devices')} <a class="csv" data-testid="fw-csv" href={`${API}/firmware/campaigns/${id}/devices?${csv.toString()}`} download>{t('common.csv')}</a></h3>
      <div class="filters">
        <label>{t('fw.state')}
          <select name="state" data-filter="state" value={state} onChange={(e) => { setState(e.currentTarget.value); }}>
            <option value="">{t('alarms.all')}</option>
            {DEVICE_STATES.map((s) => <option key={s} value={s}>{label('fwDevice', s)}</option>)}
          </select>
        </label>
      </div>
      {page.status !== 'ok' ? <p>{page.status === 'error' ? errorText(page.error) : t('common.loading')}</p> : (
        <>
          {page.value.items.length === 0 ? <p class="muted">{t('fw.noDevices')}</p> : <DeviceTable devices={page.value.items} />}
          <div class="buttons">
            <button type="button" data-action="first" disabled={cursors.length === 0} onClick={() => { setCursors([]); }}>{t('wf.first')}</button>
            <button type="button" data-action="next" disabled={next === undefined} onClick={() => { if (next !== undefined) setCursors((c) => [...c, next]); }}>{t('wf.next')}</button>
          </div>
        </>
      )}
    </section>
  );
}

function DeviceTable({ devices }: { devices: readonly CampaignDevice[] }) {
  return (
    <table data-table="fw-devices">
      <thead><tr>
        <th>{t('fw.meter')}</th><th>{t('fw.terminal')}</th><th>{t('fw.state')}</th><th class="num">{t('fw.blocks')}</th>
        <th>{t('fw.versions')}</th><th class="num">{t('fw.attempts')}</th><th>{t('fw.reason')}</th><th>{t('fw.updated')}</th>
      </tr></thead>
      <tbody>{devices.map((d) => (
        <tr key={d.meterId} data-meter={d.meterId} data-state={d.state} class={d.state === 'failed' ? 'fw-failed' : ''}>
          <td class="word"><a href={`#/meters/${encodeURIComponent(d.meterId)}`}>{d.meterId}</a></td>
          <td class="word">{d.terminalId}</td>
          <td class="word"><span class={`fw-swatch fw-${d.state}`} />{label('fwDevice', d.state)}</td>
          <td class="num" data-blocks={`${d.blocksHeld}/${d.blocksTotal}`}>{d.blocksTotal === 0 ? t('common.none') : <Blocks held={d.blocksHeld} total={d.blocksTotal} />}</td>
          <td>{d.fromVersion === undefined && d.toVersion === undefined ? t('common.none') : `${d.fromVersion ?? t('common.none')} → ${d.toVersion ?? t('common.none')}`}</td>
          <td class="num">{d.attempts}</td>
          <td>{d.code === undefined && d.reason === undefined ? '' : <Reason code={d.code} reason={d.reason} />}</td>
          <td class="time">{fmtTime(d.updatedAt)}</td>
        </tr>
      ))}</tbody>
    </table>
  );
}

function Blocks({ held, total }: { held: number; total: number }) {
  return (
    <span class="fw-blocks">
      {held}/{total}
      <span class="fw-mini"><span style={{ width: `${Math.min(100, (held / total) * 100)}%` }} /></span>
    </span>
  );
}

/** Why a device failed: the station's code worded in the operator's language when the dashboard knows it, and the device's own detail. */
function Reason({ code, reason }: { code: string | undefined; reason: string | undefined }) {
  const worded = code === undefined ? undefined : label('problem', code);
  const known = worded !== undefined && worded !== code;
  return (
    <span class="fw-reason" data-code={code ?? ''}>
      {known ? worded : reason ?? ''}
      {code !== undefined && <code> {code}</code>}
      {known && reason !== undefined && <small class="comment"> {reason}</small>}
    </span>
  );
}
