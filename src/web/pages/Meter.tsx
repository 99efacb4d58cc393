/**
 * One meter: live values per phase, load curve over a day, a week or four weeks (drag to
 * zoom), energy registers, relay and limiter state, events, collection history, an
 * on-demand read, the device register's record (nameplate, firmware history, replacements),
 * and (for operators) disconnect / reconnect / set-limit with confirmation.
 */
import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { api, apiOr, errorText } from '../api.js';
import { Chart } from '../components/Chart.js';
import { CommandDialog, type CommandKind } from '../components/CommandDialog.js';
import { DevicePanel } from '../components/DevicePanel.js';
import { MeterLive, useLatestValues } from '../components/MeterLive.js';
import { fmtDay, fmtPercent, fmtQuantity, fmtTime, localDay } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t, term, type Key } from '../i18n.js';
import { canAct } from '../roles.js';
import type { CollectionStats, DeviceEvent, Meter, MeterRead, MeterState, Page, Role, Series } from '../types.js';

const RANGES = [
  { key: 'meter.day', spanMs: 86_400_000, stepS: 300 },
  { key: 'meter.week', spanMs: 7 * 86_400_000, stepS: 1_800 },
  { key: 'meter.month', spanMs: 28 * 86_400_000, stepS: 7_200 },
] as const satisfies readonly { key: Key; spanMs: number; stepS: number }[];
const HISTORY_DAYS = 7;

export function MeterPage({ meterId, role }: { meterId: string; role: Role }) {
  const path = `/meters/${encodeURIComponent(meterId)}`;
  const [meter] = useLoad(() => api<Meter>(path), [meterId]);
  const [state, reloadState] = useLoad(() => apiOr<MeterState>(`${path}/state`, async () => {
    const m = await api<Meter>(path);
    return { meterId, online: null, lastSeen: null, relay: null, limitKw: null, openAlarms: 0, customerRef: m.customerRef, protected: m.protected };
  }), [meterId], 10_000);
  const live = useLatestValues(meterId);
  const [dialog, setDialog] = useState<CommandKind | null>(null);
  const [read, setRead] = useState<string | null>(null);

  if (meter.status !== 'ok') return <p>{meter.status === 'error' ? errorText(meter.error) : t('common.loading')}</p>;
  const m = meter.value;
  const s = state.status === 'ok' ? state.value : null;
  const relay = s?.relay ?? null;
  const limit = s?.limitKw ?? null;
  const online = s?.online ?? null;
  const readNow = () => {
    setRead(t('meter.reading'));
    api<MeterRead>(`${path}/read`, { method: 'POST', body: {} })
      .then((r) => { setRead(t('meter.readDone', { n: r.values.length, ms: Math.round(r.durationMs) })); }, (err: unknown) => { setRead(errorText(err)); });
  };
  const registers = [...live.values.values()].filter((v) => v.quantity.startsWith('energy.'));
  return (
    <div class="grid meter">
      <section class="card wide head">
        <h2 data-meter={m.id}>{m.id} <small>{m.name}</small></h2>
        <p>{t('meters.customer')}: <strong data-customer>{m.customerRef ?? '—'}</strong> · {t('meters.area')}: {m.areaId ?? '—'}{m.protected && <span class="badge">{t('meter.protected')}</span>}</p>
        <div class="buttons">
          {canAct(role) && <button type="button" onClick={readNow} data-action="read">{t('meter.read')}</button>}
          {canAct(role) && (['disconnect', 'reconnect', 'set-limit'] as const).map((k) => (
            <button type="button" key={k} class={k === 'disconnect' ? 'danger' : ''} data-command={k} onClick={() => { setDialog(k); }}>
              {t(k === 'set-limit' ? 'cmd.setLimit' : k === 'disconnect' ? 'cmd.disconnect' : 'cmd.reconnect')}
            </button>
          ))}
          {read !== null && <span class="muted" data-read-result>{read}</span>}
        </div>
      </section>
      <section class="card">
        <h3>{t('meter.live')}</h3>
        <MeterLive values={live.values} error={live.error} />
      </section>
      <section class="card">
        <h3>{t('meter.control')}</h3>
        <dl class="pairs">
          <dt>{t('meter.relay')}</dt>
          <dd data-relay={relay === null ? 'unknown' : relay.connected ? 'connected' : 'disconnected'}>
            {relay === null ? t('meter.unknown') : `${t(relay.connected ? 'meter.connected' : 'meter.disconnected')} (${label('relaySource', relay.source)}, ${fmtTime(relay.at)})`}
          </dd>
          <dt>{t('meter.limit')}</dt>
          <dd data-limit>{limit === null ? t('meter.unknown') : limit.value === null ? t('meter.noLimit') : `${fmtQuantity(limit.value, 'kW')} (${fmtTime(limit.at)})`}</dd>
          <dt>{t('meter.online')}</dt><dd data-online={String(online)}>{online === null ? t('meter.unknown') : t(online ? 'meter.isOnline' : 'meter.isOffline')}</dd>
          <dt>{t('meter.lastSeen')}</dt><dd>{fmtTime(s?.lastSeen)}</dd>
        </dl>
        <h3>{t('meter.registers')}</h3>
        <dl class="pairs" data-registers={registers.length}>{registers.map((v) => <Fragment key={v.quantity}><dt>{term(v.quantity)}</dt><dd data-q={v.quantity}>{fmtQuantity(v.value, v.unit, 3)}</dd></Fragment>)}</dl>
      </section>
      <section class="card wide"><LoadCurve path={path} /></section>
      <section class="card"><Events meterId={meterId} /></section>
      <section class="card"><Collection terminalId={m.terminalId} /></section>
      <section class="card wide"><DevicePanel meterId={m.id} /></section>
      {dialog !== null && <CommandDialog kind={dialog} meterId={m.id} customerRef={s?.customerRef ?? m.customerRef} onClose={() => { setDialog(null); reloadState(); }} />}
    </div>
  );
}

function LoadCurve({ path }: { path: string }) {
  const [range, setRange] = useState<(typeof RANGES)[number]>(RANGES[0]);
  const [series] = useLoad(async () => {
    const to = Date.now();
    const q = `quantity=power.active&from=${new Date(to - range.spanMs).toISOString()}&to=${new Date(to).toISOString()}&step=${range.stepS}&agg=avg`;
    return { window: [to - range.spanMs, to] as const, reply: await api<Series>(`${path}/readings?${q}`) };
  }, [path, range], 60_000);
  const chart = useMemo(() => (series.status === 'ok' ? [{ label: term('power.active'), color: '#4fc3f7', points: series.value.reply.points.map((p) => [Date.parse(p.ts), p.value] as const) }] : []), [series]);
  return (
    <>
      <h3>{t('meter.curve')} <span class="tabs">{RANGES.map((r) => <button type="button" key={r.key} class={r === range ? 'active' : ''} onClick={() => { setRange(r); }}>{t(r.key)}</button>)}</span></h3>
      {series.status === 'error' ? <p class="error">{errorText(series.error)}</p> : <Chart name="meter-load" series={chart} unit="kW" {...(series.status === 'ok' ? { xRange: series.value.window } : {})} />}
    </>
  );
}

function Events({ meterId }: { meterId: string }) {
  const [events] = useLoad(() => api<Page<DeviceEvent>>(`/events?meter=${encodeURIComponent(meterId)}&limit=20`).catch(() => ({ items: [], next: null })), [meterId], 15_000);
  const items = events.status === 'ok' ? events.value.items : [];
  return (
    <>
      <h3>{t('meter.events')}</h3>
      {items.length === 0 ? <p class="muted">{t('meter.noEvents')}</p> : (
        <table><tbody>{items.map((e) => <tr key={e.id}><td class="time">{fmtTime(e.ts)}</td><td>{term(e.code)}</td><td>{e.detail ?? ''}</td></tr>)}</tbody></table>
      )}
    </>
  );
}

function Collection({ terminalId }: { terminalId: string }) {
  const [days] = useLoad(async () => {
    const dates = Array.from({ length: HISTORY_DAYS }, (_, i) => localDay(Date.now() - i * 86_400_000));
    return Promise.all(dates.map(async (date) => {
      const r = await api<CollectionStats>(`/stats/collection?date=${date}`).catch(() => null);
      return { date, row: r?.terminals.find((x) => x.terminalId === terminalId) ?? null };
    }));
  }, [terminalId]);
  return (
    <>
      <h3>{t('meter.collection')}</h3>
      <table>
        <thead><tr><th>{t('meter.date')}</th><th>{t('meter.rate')}</th><th /></tr></thead>
        <tbody>{days.status === 'ok' && days.value.map((d) => <tr key={d.date}><td>{fmtDay(d.date)}</td><td>{fmtPercent(ratioPct(d.row?.successRate))}</td><td>{d.row === null ? '' : `${d.row.collected}/${d.row.expected}`}</td></tr>)}</tbody>
      </table>
    </>
  );
}

function ratioPct(ratio: number | null | undefined): number | null {
  return ratio === null || ratio === undefined ? null : ratio * 100;
}

