/**
 * Analysis: the operators' daily power analysis, comparison and query on the analysis API
 * (src/api/analysisRoutes.ts): an area's load curve, its daily profile, day against day,
 * month against month, area against area, line loss per transformer area and the collection
 * ranking, each with its chart or table and a CSV export of what it shows.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { Chart, type ChartSeries } from '../components/Chart.js';
import { toCsv, type CsvCell } from '../csv.js';
import { fmtNumber, fmtPercent, fmtQuantity, fmtTime, localDay, startOfToday } from '../format.js';
import { useLoad, type Loaded } from '../hooks.js';
import { label, t, type Key } from '../i18n.js';
import type { Area, AreaComparison, AreaLoad, AreaProfile, CollectionRanking, LineLoss, LoadSummary, Page, PeriodComparison, Point } from '../types.js';

const VIEWS = ['load', 'profile', 'day', 'month', 'areas', 'lineLoss', 'ranking'] as const;
type View = (typeof VIEWS)[number];
const VIEW_KEYS: Readonly<Record<View, Key>> = {
  load: 'an.view.load', profile: 'an.view.profile', day: 'an.view.day', month: 'an.view.month',
  areas: 'an.view.areas', lineLoss: 'an.view.lineLoss', ranking: 'an.view.ranking',
};
const STEPS_MIN = [5, 15, 60] as const;
const COLORS = ['#4fc3f7', '#ffb300', '#66bb6a', '#ef5350', '#ab47bc', '#9e9e9e', '#26a69a', '#ff7043', '#8d6e63', '#5c6bc0'];
const DAY_MS = 86_400_000;

type Summary = LoadSummary;
type At = NonNullable<Summary['peak']>;
type LineLossRow = LineLoss['areas'][number];

export function Analysis() {
  const [view, setView] = useState<View>('load');
  const [areas] = useLoad(() => api<Page<Area>>('/areas?limit=1000'), []);
  const list = areas.status === 'ok' ? areas.value.items : [];
  return (
    <section class="card analysis" data-view={view}>
      <h2>{t('nav.analysis')}</h2>
      <div class="buttons views">
        {VIEWS.map((v) => <button type="button" key={v} class={v === view ? 'active' : ''} data-analysis-view={v} onClick={() => { setView(v); }}>{t(VIEW_KEYS[v])}</button>)}
      </div>
      {areas.status === 'error' && <p class="error">{errorText(areas.error)}</p>}
      {list.length > 0 && <ViewPanel key={view} view={view} areas={list} />}
    </section>
  );
}

function ViewPanel({ view, areas }: { view: View; areas: readonly Area[] }) {
  switch (view) {
    case 'load': return <LoadCurve areas={areas} />;
    case 'profile': return <Profile areas={areas} />;
    case 'day': return <Periods areas={areas} period="day" />;
    case 'month': return <Periods areas={areas} period="month" />;
    case 'areas': return <AreasCompared areas={areas} />;
    case 'lineLoss': return <LineLoss areas={areas} />;
    case 'ranking': return <Ranking />;
  }
}

// ── views ────────────────────────────────────────────────────────────────

function LoadCurve({ areas }: { areas: readonly Area[] }) {
  const [area, setArea] = useState(defaultArea(areas));
  const [from, setFrom] = useState(localDay(startOfToday() - DAY_MS));
  const [to, setTo] = useState(localDay(startOfToday()));
  const [stepMin, setStepMin] = useState<number>(15);
  const range = dayRange(from, to);
  const [load] = useLoad(() => api<AreaLoad>(`/analysis/areas/${encodeURIComponent(area)}/load?from=${range[0]}&to=${range[1]}&stepMs=${stepMin * 60_000}`), [area, from, to, stepMin]);
  const name = areaName(areas, area);
  const series = useMemo<ChartSeries[]>(() => (load.status === 'ok' ? [{ label: name, color: COLORS[0] ?? '#4fc3f7', points: toPairs(load.value.points) }] : []), [load, name]);
  const csv = () => {
    if (load.status === 'ok') downloadCsv(`load-${area}-${from}-${to}.csv`, toCsv([t('common.time'), t('an.load')], load.value.points.map((p) => [p.ts, p.value])));
  };
  return (
    <>
      <div class="filters">
        <AreaPicker areas={areas} value={area} onChange={setArea} />
        <DateField label="an.from" value={from} onChange={setFrom} />
        <DateField label="an.to" value={to} onChange={setTo} />
        <label>{t('an.step')}
          <select value={stepMin} onChange={(e) => { setStepMin(Number(e.currentTarget.value)); }} data-field="step">
            {STEPS_MIN.map((m) => <option key={m} value={m}>{t('an.minutes', { n: m })}</option>)}
          </select>
        </label>
        <CsvButton onClick={csv} ready={load.status === 'ok'} />
      </div>
      <Status state={load} />
      <Chart name="analysis-load" series={series} unit="kW" xRange={[Date.parse(range[0]), Date.parse(range[1])]} />
    </>
  );
}

function Profile({ areas }: { areas: readonly Area[] }) {
  const [area, setArea] = useState(defaultArea(areas));
  const [date, setDate] = useState(localDay(startOfToday()));
  const [profile] = useLoad(() => api<AreaProfile>(`/analysis/areas/${encodeURIComponent(area)}/profile?date=${date}`), [area, date]);
  const name = areaName(areas, area);
  const series = useMemo<ChartSeries[]>(() => (profile.status === 'ok' ? [{ label: name, color: COLORS[0] ?? '#4fc3f7', points: toPairs(profile.value.points) }] : []), [profile, name]);
  const csv = () => {
    if (profile.status !== 'ok') return;
    const s = profile.value.summary;
    downloadCsv(`profile-${area}-${date}.csv`, toCsv([t('an.figure'), t('common.value'), t('common.time')], [
      ...summaryRows(s).map((r) => [r.label, r.value, r.at]),
      [], [t('common.time'), t('an.load')], ...profile.value.points.map((p) => [p.ts, p.value]),
    ]));
  };
  return (
    <>
      <div class="filters">
        <AreaPicker areas={areas} value={area} onChange={setArea} />
        <DateField label="an.date" value={date} onChange={setDate} />
        <CsvButton onClick={csv} ready={profile.status === 'ok'} />
      </div>
      <Status state={profile} />
      {profile.status === 'ok' && (
        <div class="grid">
          <Chart name="analysis-profile" series={series} unit="kW" xRange={[Date.parse(profile.value.from), Date.parse(profile.value.to)]} />
          <SummaryTable columns={[name]} summaries={[profile.value.summary]} />
        </div>
      )}
    </>
  );
}


function Periods({ areas, period }: { areas: readonly Area[]; period: 'day' | 'month' }) {
  const today = new Date();
  const [area, setArea] = useState(defaultArea(areas));
  const [a, setA] = useState(period === 'day' ? localDay(startOfToday() - DAY_MS) : isoMonth(new Date(today.getFullYear(), today.getMonth() - 1, 1)));
  const [b, setB] = useState(period === 'day' ? localDay(startOfToday()) : isoMonth(today));
  const [cmp] = useLoad(() => api<PeriodComparison>(`/analysis/areas/${encodeURIComponent(area)}/compare?period=${period}&a=${a}&b=${b}`), [area, period, a, b]);
  const series = useMemo<ChartSeries[]>(() => {
    if (cmp.status !== 'ok') return [];
    // A is drawn on B's time axis, so the two periods lie over each other.
    const shift = Date.parse(cmp.value.b.from) - Date.parse(cmp.value.a.from);
    return [
      { label: `B ${cmp.value.b.period}`, color: COLORS[0] ?? '#4fc3f7', points: toPairs(cmp.value.b.points) },
      { label: `A ${cmp.value.a.period}`, color: COLORS[5] ?? '#9e9e9e', dash: true, points: toPairs(cmp.value.a.points).map(([x, y]) => [x + shift, y] as const) },
    ];
  }, [cmp]);
  const csv = () => {
    if (cmp.status !== 'ok') return;
    const ra = summaryRows(cmp.value.a.summary);
    const rb = summaryRows(cmp.value.b.summary);
    downloadCsv(`compare-${period}-${area}-${a}-${b}.csv`, toCsv([t('an.figure'), `A ${a}`, `B ${b}`], ra.map((r, i) => [r.label, r.value, rb[i]?.value ?? null])));
  };
  const input = period === 'day' ? 'date' : 'month';
  return (
    <>
      <div class="filters">
        <AreaPicker areas={areas} value={area} onChange={setArea} />
        <DateField label="an.a" value={a} onChange={setA} type={input} />
        <DateField label="an.b" value={b} onChange={setB} type={input} />
        <CsvButton onClick={csv} ready={cmp.status === 'ok'} />
      </div>
      <Status state={cmp} />
      {cmp.status === 'ok' && (
        <div class="grid">
          <Chart name={`analysis-${period}`} series={series} unit="kW" xRange={[Date.parse(cmp.value.b.from), Date.parse(cmp.value.b.to)]} />
          <div>
            <SummaryTable columns={[`A ${cmp.value.a.period}`, `B ${cmp.value.b.period}`]} summaries={[cmp.value.a.summary, cmp.value.b.summary]} />
            <p data-difference>{t('an.difference')}: {fmtQuantity(cmp.value.difference.energyKwh, 'kWh', 1)} ({fmtPercent(cmp.value.difference.energyPct)})</p>
          </div>
        </div>
      )}
    </>
  );
}


function AreasCompared({ areas }: { areas: readonly Area[] }) {
  const [chosen, setChosen] = useState<string[]>(() => areas.filter((a) => a.kind === 'transformer').slice(0, 3).map((a) => a.id));
  const [date, setDate] = useState(localDay(startOfToday()));
  const range = dayRange(date, date);
  const ids = chosen.join(',');
  const [cmp] = useLoad(async () => (ids === '' ? null : api<AreaComparison>(`/analysis/compare?areas=${encodeURIComponent(ids)}&from=${range[0]}&to=${range[1]}&stepMs=900000`)), [ids, date]);
  const series = useMemo<ChartSeries[]>(() => (cmp.status === 'ok' && cmp.value !== null
    ? cmp.value.areas.map((x, i) => ({ label: areaName(areas, x.areaId), color: COLORS[i % COLORS.length] ?? '#4fc3f7', points: toPairs(x.points) }))
    : []), [cmp, areas]);
  const toggle = (id: string, on: boolean) => { setChosen((prev) => (on ? [...prev, id] : prev.filter((x) => x !== id))); };
  const csv = () => {
    if (cmp.status !== 'ok' || cmp.value === null) return;
    const rows = cmp.value.areas.map((x) => ({ name: areaName(areas, x.areaId), figures: summaryRows(x.summary) }));
    const labels = rows[0]?.figures.map((f) => f.label) ?? [];
    downloadCsv(`compare-areas-${date}.csv`, toCsv([t('an.figure'), ...rows.map((r) => r.name)], labels.map((l, i) => [l, ...rows.map((r) => r.figures[i]?.value ?? null)])));
  };
  return (
    <>
      <div class="filters">
        {areas.map((a) => <label key={a.id}><input type="checkbox" data-compare-area={a.id} checked={chosen.includes(a.id)} onChange={(e) => { toggle(a.id, e.currentTarget.checked); }} />{a.name}</label>)}
        <DateField label="an.date" value={date} onChange={setDate} />
        <CsvButton onClick={csv} ready={cmp.status === 'ok' && cmp.value !== null} />
      </div>
      <Status state={cmp} />
      {cmp.status === 'ok' && cmp.value !== null && (
        <div class="grid">
          <Chart name="analysis-areas" series={series} unit="kW" xRange={[Date.parse(range[0]), Date.parse(range[1])]} />
          <SummaryTable columns={cmp.value.areas.map((x) => areaName(areas, x.areaId))} summaries={cmp.value.areas.map((x) => x.summary)} />
        </div>
      )}
    </>
  );
}

function LineLoss({ areas }: { areas: readonly Area[] }) {
  const [area, setArea] = useState('');
  const [from, setFrom] = useState(localDay(startOfToday() - DAY_MS));
  const [to, setTo] = useState(localDay(startOfToday()));
  const range = dayRange(from, to);
  const [loss] = useLoad(() => api<LineLoss>(`/analysis/line-loss?from=${range[0]}&to=${range[1]}${area === '' ? '' : `&area=${encodeURIComponent(area)}`}`), [area, from, to]);
  const header = [t('an.area'), t('an.supply'), t('an.customers'), t('an.loss'), t('an.lossPct'), t('an.status')];
  const csv = () => {
    if (loss.status === 'ok') downloadCsv(`line-loss-${from}-${to}.csv`, toCsv(header, loss.value.areas.map((r) => [r.name, r.supplyKwh, r.customersKwh, r.lossKwh, r.lossPct, lossStatus(r)])));
  };
  return (
    <>
      <div class="filters">
        <AreaPicker areas={areas} value={area} onChange={setArea} all />
        <DateField label="an.from" value={from} onChange={setFrom} />
        <DateField label="an.to" value={to} onChange={setTo} />
        <CsvButton onClick={csv} ready={loss.status === 'ok'} />
      </div>
      <Status state={loss} />
      {loss.status === 'ok' && (
        <table data-table="line-loss">
          <thead><tr>{header.map((h) => <th key={h}>{h}</th>)}</tr></thead>
          <tbody>
            {loss.value.areas.length === 0 && <tr><td colSpan={6} class="muted">{t('an.noData')}</td></tr>}
            {loss.value.areas.map((r) => (
              <tr key={r.areaId} data-area={r.areaId}>
                <td>{r.name}</td><td>{fmtNumber(r.supplyKwh)}</td><td>{fmtNumber(r.customersKwh)}</td><td>{fmtNumber(r.lossKwh)}</td>
                <td>{fmtPercent(r.lossPct)}</td><td>{lossStatus(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Ranking() {
  const [date, setDate] = useState(localDay(startOfToday()));
  const [ranking] = useLoad(() => api<CollectionRanking>(`/analysis/collection-ranking?date=${date}`), [date]);
  const header = [t('an.area'), t('an.kind'), t('an.expected'), t('an.collected'), t('an.rate')];
  const csv = () => {
    if (ranking.status === 'ok') downloadCsv(`collection-ranking-${date}.csv`, toCsv(header, ranking.value.areas.map((r) => [r.name, label('areaKind', r.kind), r.expected, r.collected, r.successRate === null ? null : r.successRate * 100])));
  };
  return (
    <>
      <div class="filters">
        <DateField label="an.date" value={date} onChange={setDate} />
        <CsvButton onClick={csv} ready={ranking.status === 'ok'} />
      </div>
      <Status state={ranking} />
      {ranking.status === 'ok' && (
        <table data-table="ranking">
          <thead><tr>{header.map((h) => <th key={h}>{h}</th>)}</tr></thead>
          <tbody>
            {ranking.value.areas.map((r) => (
              <tr key={r.id} data-area={r.id}>
                <td>{r.name}</td><td>{label('areaKind', r.kind)}</td><td>{fmtNumber(r.expected, 0)}</td><td>{fmtNumber(r.collected, 0)}</td>
                <td>{fmtPercent(r.successRate === null ? null : r.successRate * 100)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

// ── shared parts ─────────────────────────────────────────────────────────

function SummaryTable({ columns, summaries }: { columns: readonly string[]; summaries: readonly Summary[] }) {
  const rows = summaries.map(summaryRows);
  return (
    <table data-table="summary">
      <thead><tr><th>{t('an.figure')}</th>{columns.map((c) => <th key={c}>{c}</th>)}</tr></thead>
      <tbody>
        {(rows[0] ?? []).map((r, i) => (
          <tr key={r.label}><td>{r.label}</td>{rows.map((col, j) => <td key={j}>{col[i]?.text ?? '—'}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

interface SummaryRow { readonly label: string; readonly text: string; readonly value: CsvCell; readonly at: CsvCell }

/** A summary's figures, for the table (text in the operator's locale) and the CSV (plain values). */
function summaryRows(s: Summary): SummaryRow[] {
  const timed = (key: Key, x: At | null): SummaryRow => ({
    label: t(key), text: x === null ? '—' : `${fmtQuantity(x.value, 'kW', 1)} (${fmtTime(x.ts)})`, value: x?.value ?? null, at: x?.ts ?? null,
  });
  return [
    { label: t('an.energy'), text: fmtNumber(s.energyKwh), value: s.energyKwh, at: null },
    timed('an.peak', s.peak),
    timed('an.valley', s.valley),
    { label: t('an.average'), text: fmtQuantity(s.average, 'kW', 1), value: s.average, at: null },
    { label: t('an.loadFactor'), text: fmtPercent(s.loadFactor === null ? null : s.loadFactor * 100), value: s.loadFactor, at: null },
    timed('an.maxDemand', s.maxDemand),
    { label: t('an.missing'), text: `${fmtNumber(s.missingIntervals, 0)} / ${fmtNumber(s.intervals, 0)}`, value: s.missingIntervals, at: null },
  ];
}

/** Why a line loss is missing, from the reply's figures (the API's own `reason` is English only). */
function lossStatus(r: LineLossRow): string {
  if (r.complete) return t('an.complete');
  const why: string[] = [];
  if (r.supplyMeterId === null) why.push(t('an.noSupply'));
  else if (r.supplyKwh === null) why.push(t('an.noSupplyReading', { m: r.supplyMeterId }));
  if (r.customersWithData < r.customers) why.push(t('an.missingCustomers', { n: r.customers - r.customersWithData, m: r.customers }));
  return why.join('; ');
}

function AreaPicker({ areas, value, onChange, all = false }: { areas: readonly Area[]; value: string; onChange: (id: string) => void; all?: boolean }) {
  return (
    <label>{t('an.area')}
      <select value={value} onChange={(e) => { onChange(e.currentTarget.value); }} data-field="area">
        {all && <option value="">{t('an.allAreas')}</option>}
        {areas.map((a) => <option key={a.id} value={a.id}>{a.name} ({label('areaKind', a.kind)})</option>)}
      </select>
    </label>
  );
}

function DateField({ label: key, value, onChange, type = 'date' }: { label: Key; value: string; onChange: (v: string) => void; type?: 'date' | 'month' }) {
  return <label>{t(key)}<input type={type} value={value} required data-field={key} onChange={(e) => { if (e.currentTarget.value !== '') onChange(e.currentTarget.value); }} /></label>;
}

function CsvButton({ onClick, ready }: { onClick: () => void; ready: boolean }) {
  return <button type="button" data-action="csv" disabled={!ready} onClick={onClick}>{t('common.csv')}</button>;
}

function Status({ state }: { state: Loaded<unknown> }) {
  if (state.status === 'error') return <p class="error">{errorText(state.error)}</p>;
  return state.status === 'loading' ? <p class="muted">{t('common.loading')}</p> : null;
}

/** Hands the text to the browser as a file download. */
function downloadCsv(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => { URL.revokeObjectURL(url); }, 0);
}

function defaultArea(areas: readonly Area[]): string {
  return (areas.find((a) => a.kind === 'transformer') ?? areas[0])?.id ?? '';
}

function areaName(areas: readonly Area[], id: string): string {
  return areas.find((a) => a.id === id)?.name ?? id;
}

function toPairs(points: readonly Point[]): (readonly [number, number])[] {
  return points.map((p) => [Date.parse(p.ts), p.value] as const);
}

/** [start of `from`, start of the day after `to`) in the browser's time zone, as RFC 3339. */
function dayRange(from: string, to: string): [string, string] {
  const start = localMidnight(from);
  const end = localMidnight(to) + DAY_MS;
  return [new Date(start).toISOString(), new Date(Math.max(end, start + DAY_MS)).toISOString()];
}

function localMidnight(day: string): number {
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number);
  return new Date(y, m - 1, d).getTime();
}

function isoMonth(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}
