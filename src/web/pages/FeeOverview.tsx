/**
 * Fee control at a glance: the accounts near a warning, waiting for a disconnection window,
 * disconnected and reconnecting; then the recovery reports (arrears by area with age buckets,
 * the recovery rate per area and month, disconnections, payment-to-reconnection times), each
 * with its CSV export.
 */
import { useState } from 'preact/hooks';
import { API, api, errorText } from '../api.js';
import { fmtPercent, fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, locale, t, type Key } from '../i18n.js';
import { fmtMoney } from '../money.js';
import type { Arrears, Disconnected, Disconnection, ReconnectionTimes, Recovery, Watched, WatchedAccount } from '../types.js';

const POLL_MS = 10_000;
const DAY_MS = 86_400_000;
const GROUPS: readonly { readonly id: string; readonly title: Key; readonly stages: readonly string[] }[] = [
  { id: 'near-warning', title: 'fee.group.near', stages: ['normal', 'warned-first', 'warned-second'] },
  { id: 'waiting', title: 'fee.group.waiting', stages: ['disconnect-pending'] },
  { id: 'disconnected', title: 'fee.group.disconnected', stages: ['disconnected'] },
  { id: 'reconnecting', title: 'fee.group.reconnecting', stages: ['reconnecting'] },
];

export function FeeOverview() {
  const [watched] = useLoad(() => api<Watched>('/fees/reports/watched'), [], POLL_MS);
  return (
    <div class="grid">
      <section class="card wide">
        <h2>{t('fee.title')}</h2>
        <AccountSearch />
        {watched.status !== 'ok' ? <p>{watched.status === 'error' ? errorText(watched.error) : t('common.loading')}</p> : (
          <div class="fee-groups">
            {GROUPS.map((g) => <WatchedGroup key={g.id} id={g.id} title={t(g.title)} items={watched.value.items.filter((w) => g.stages.includes(w.stage))} />)}
          </div>
        )}
      </section>
      <ArrearsReport />
      <RecoveryReport />
      <DisconnectedReport />
      <ReconnectionReport />
    </div>
  );
}

function AccountSearch() {
  const [id, setId] = useState('');
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); if (id.trim() !== '') location.hash = `#/fees/${encodeURIComponent(id.trim())}`; }}>
      <input name="account" placeholder={t('fee.searchAccount')} value={id} onInput={(e) => { setId(e.currentTarget.value); }} />
      <button type="submit">{t('fee.open')}</button>
    </form>
  );
}

function WatchedGroup({ id, title, items }: { id: string; title: string; items: WatchedAccount[] }) {
  return (
    <div data-group={id}>
      <h3>{title} <small>({items.length})</small></h3>
      {items.length === 0 ? <p class="muted">{t('common.none')}</p> : (
        <table>
          <thead><tr><th>{t('fee.account')}</th><th>{t('meters.area')}</th><th>{t('fee.stage')}</th><th class="num">{t('fee.balance')}</th><th>{t('common.time')}</th></tr></thead>
          <tbody>{items.map((w) => (
            <tr key={w.accountId} data-account={w.accountId} data-stage={w.stage}>
              <td><a href={`#/fees/${encodeURIComponent(w.accountId)}`}>{w.name}</a> <small>{w.accountId}</small></td>
              <td>{w.areaId ?? '—'}</td>
              <td>{label('feeStage', w.stage)}</td>
              <td class={`num ${w.balanceMinor < 0 ? 'negative' : ''}`}>{fmtMoney(w.balanceMinor, w.currency, locale())}</td>
              <td class="time">{w.stage === 'disconnect-pending' ? `${t('fee.nextWindow')}: ${fmtTime(w.nextWindowAt)}` : w.stage === 'disconnected' ? fmtTime(w.disconnectedAt) : fmtTime(w.updatedAt)}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}

function CsvLink({ path }: { path: string }) {
  return <a class="csv" href={`${API}${path}${path.includes('?') ? '&' : '?'}format=csv`} download>{t('common.csv')}</a>;
}

function ArrearsReport() {
  const [arrears] = useLoad(() => api<Arrears>('/fees/reports/arrears?limit=1'), [], POLL_MS);
  return (
    <section class="card wide" data-report="arrears">
      <h3>{t('fee.arrears')} <CsvLink path="/fees/reports/arrears" /></h3>
      {arrears.status !== 'ok' ? <p>{arrears.status === 'error' ? errorText(arrears.error) : t('common.loading')}</p> : (
        <table>
          <thead><tr><th>{t('meters.area')}</th><th class="num">{t('fee.accounts')}</th><th class="num">{t('fee.debt')}</th><th class="num">0–30 {t('fee.days')}</th><th class="num">31–60 {t('fee.days')}</th><th class="num">61–90 {t('fee.days')}</th><th class="num">&gt;90 {t('fee.days')}</th></tr></thead>
          <tbody>{(arrears.value.areas ?? []).map((a) => {
            const m = (v: number) => fmtMoney(v, a.currency, locale());
            return (
              <tr key={`${a.areaId ?? ''}-${a.currency}`} data-area={a.areaId ?? ''}>
                <td>{a.areaId ?? t('fee.noArea')}</td><td class="num">{a.accounts}</td><td class="num">{m(a.debtMinor)}</td>
                <td class="num">{m(a.d0to30Minor)}</td><td class="num">{m(a.d31to60Minor)}</td><td class="num">{m(a.d61to90Minor)}</td><td class="num">{m(a.over90Minor)}</td>
              </tr>
            );
          })}</tbody>
        </table>
      )}
    </section>
  );
}

function RecoveryReport() {
  const now = new Date();
  const [to, setTo] = useState(monthOf(now.getFullYear(), now.getMonth()));
  const [from, setFrom] = useState(monthOf(now.getFullYear(), now.getMonth() - 5));
  const query = `/fees/reports/recovery?from=${from}&to=${to}`;
  const [recovery] = useLoad(() => api<Recovery>(query), [query]);
  return (
    <section class="card" data-report="recovery">
      <h3>{t('fee.recovery')} <CsvLink path={query} /></h3>
      <p class="inline">
        <label>{t('an.from')} <input type="month" name="from" value={from} onChange={(e) => { setFrom(e.currentTarget.value); }} /></label>
        <label>{t('an.to')} <input type="month" name="to" value={to} onChange={(e) => { setTo(e.currentTarget.value); }} /></label>
      </p>
      {recovery.status !== 'ok' ? <p>{recovery.status === 'error' ? errorText(recovery.error) : t('common.loading')}</p> : (
        <table>
          <thead><tr><th>{t('meters.area')}</th><th>{t('fee.month')}</th><th class="num">{t('fee.paid')}</th><th class="num">{t('fee.billed')}</th><th class="num">{t('fee.rate')}</th></tr></thead>
          <tbody>{recovery.value.items.map((r) => (
            <tr key={`${r.areaId ?? ''}-${r.month}-${r.currency}`}>
              <td>{r.areaId ?? t('fee.noArea')}</td><td>{r.month}</td>
              <td class="num">{fmtMoney(r.paidMinor, r.currency, locale())}</td><td class="num">{fmtMoney(r.billedMinor, r.currency, locale())}</td>
              <td class="num">{fmtPercent(r.rate === null ? null : r.rate * 100)}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

function DisconnectedReport() {
  const [report] = useLoad(() => api<Disconnected>('/fees/reports/disconnected?limit=100'), [], POLL_MS);
  const rows = (items: Disconnection[], state: 'open' | 'closed') => items.map((d) => (
    <tr key={`${state}-${d.accountId}-${d.disconnectedAt}`} data-disconnection={state} data-account={d.accountId}>
      <td><a href={`#/fees/${encodeURIComponent(d.accountId)}`}>{d.name}</a></td><td>{d.areaId ?? '—'}</td>
      <td class="time">{fmtTime(d.disconnectedAt)}</td><td class="time">{d.reconnectedAt === null ? label('feeStage', d.stage ?? 'disconnected') : fmtTime(d.reconnectedAt)}</td>
      <td class="num">{fmtDuration(d.durationMs)}</td>
    </tr>
  ));
  return (
    <section class="card" data-report="disconnected">
      <h3>{t('fee.disconnections')} <CsvLink path="/fees/reports/disconnected" /></h3>
      {report.status !== 'ok' ? <p>{report.status === 'error' ? errorText(report.error) : t('common.loading')}</p> : (
        <table>
          <thead><tr><th>{t('fee.account')}</th><th>{t('meters.area')}</th><th>{t('fee.disconnectedSince')}</th><th>{t('fee.reconnected')}</th><th class="num">{t('fee.duration')}</th></tr></thead>
          <tbody>{rows(report.value.open, 'open')}{rows(report.value.closed, 'closed')}</tbody>
        </table>
      )}
    </section>
  );
}

function ReconnectionReport() {
  const [span] = useState(() => { const to = Date.now(); return { from: new Date(to - 30 * DAY_MS).toISOString(), to: new Date(to).toISOString() }; });
  const query = `/fees/reports/reconnection-times?from=${encodeURIComponent(span.from)}&to=${encodeURIComponent(span.to)}`;
  const [report] = useLoad(() => api<ReconnectionTimes>(query), [query]);
  return (
    <section class="card" data-report="reconnection-times">
      <h3>{t('fee.reconnectionTimes')} <CsvLink path={query} /></h3>
      {report.status !== 'ok' ? <p>{report.status === 'error' ? errorText(report.error) : t('common.loading')}</p> : (
        <p>
          {t('fee.last30')}: {t('fee.count', { n: report.value.count })} · {t('fee.median')} <strong data-median={report.value.medianMs ?? ''}>{report.value.medianMs === null ? '—' : fmtDuration(report.value.medianMs)}</strong>
          {' · '}p95 <strong data-p95={report.value.p95Ms ?? ''}>{report.value.p95Ms === null ? '—' : fmtDuration(report.value.p95Ms)}</strong>
        </p>
      )}
    </section>
  );
}

/** A duration in the largest two units that matter: `2 d 3 h`, `5 min 10 s`. */
export function fmtDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts: [number, Key][] = [[Math.floor(s / 86_400), 'fee.dur.d'], [Math.floor(s / 3600) % 24, 'fee.dur.h'], [Math.floor(s / 60) % 60, 'fee.dur.min'], [s % 60, 'fee.dur.s']];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return t('fee.dur.s', { n: 0 });
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, key]) => t(key, { n })).join(' ');
}

function monthOf(year: number, monthIndex: number): string {
  const d = new Date(year, monthIndex, 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}
