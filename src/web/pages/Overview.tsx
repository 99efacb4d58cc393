/**
 * Overview: total and per-area live load (GET /live/overview, then `event: overview` on
 * /live/stream), the selected area's curve today vs yesterday vs its limit, the area tree,
 * and today's collection success rate.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, apiOr, errorText } from '../api.js';
import { AreaTree } from '../components/AreaTree.js';
import { Chart, type ChartSeries } from '../components/Chart.js';
import { fmtClock, fmtNumber, fmtPercent, startOfToday } from '../format.js';
import { useEventStream, useLoad } from '../hooks.js';
import { t } from '../i18n.js';
import type { AreaLoad, Overview as LiveOverview } from '../types.js';

/** What the page shows: the live overview. */
type OverviewData = LiveOverview;

const CURVE_STEP_MS = 5 * 60_000;
const POLL_MS = 5_000;

export function Overview() {
  const [pushed, setPushed] = useState<OverviewData | null>(null);
  const stream = useEventStream('/api/v1/live/stream', { overview: (d) => { setPushed(d as LiveOverview); } });
  // Polling only while the stream is not delivering (not built on this station, or reconnecting).
  const [loaded] = useLoad(loadOverview, [], stream === 'live' ? undefined : POLL_MS);
  const data = pushed ?? (loaded.status === 'ok' ? loaded.value : null);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const area = selected ?? data?.areas.find((a) => a.parentId === null)?.id;

  if (data === null) return <p>{loaded.status === 'error' ? errorText(loaded.error) : t('common.loading')}</p>;
  return (
    <div class="grid overview">
      <section class="card kpi">
        <h3>{t('overview.total')}</h3>
        <p class="big" data-kpi="total">{fmtNumber(data.totalKw)} kW</p>
        <small>{t('overview.updated')} {fmtClock(data.ts)}</small>
      </section>
      <section class="card kpi">
        <h3>{t('overview.collection')}</h3>
        <p class="big" data-kpi="collection">{fmtPercent(data.collectionSuccessTodayPct)}</p>
      </section>
      <section class="card wide">
        <h3>{t('overview.curve')}{area !== undefined && <> — {data.areas.find((a) => a.id === area)?.name}</>}</h3>
        {area !== undefined && <AreaCurve areaId={area} limitKw={data.areas.find((a) => a.id === area)?.limitKw ?? null} />}
      </section>
      <section class="card wide">
        <h3>{t('overview.areas')}</h3>
        <AreaTree areas={data.areas} selected={area} onSelect={setSelected} />
      </section>
    </div>
  );
}

function AreaCurve({ areaId, limitKw }: { areaId: string; limitKw: number | null }) {
  const [load] = useLoad(() => {
    const from = startOfToday();
    const q = `from=${new Date(from).toISOString()}&to=${new Date().toISOString()}&stepMs=${CURVE_STEP_MS}&compare=yesterday`;
    return apiOr<AreaLoad | null>(`/analysis/areas/${encodeURIComponent(areaId)}/load?${q}`, () => null);
  }, [areaId], 60_000);
  const series = useMemo<ChartSeries[]>(() => {
    if (load.status !== 'ok' || load.value === null) return [];
    const today = load.value.points.map((p) => [Date.parse(p.ts), p.value] as const);
    const out: ChartSeries[] = [{ label: t('overview.today'), color: '#4fc3f7', points: today }];
    if (load.value.previous !== undefined) out.push({ label: t('overview.yesterday'), color: '#9e9e9e', points: load.value.previous.map((p) => [Date.parse(p.ts), p.value] as const), dash: true });
    if (limitKw !== null) {
      const from = startOfToday();
      out.push({ label: t('overview.limit'), color: '#ef5350', points: [[from, limitKw], [from + 86_400_000, limitKw]], joinGaps: true });
    }
    return out;
  }, [load, limitKw]);
  if (load.status === 'error') return <p class="error">{errorText(load.error)}</p>;
  if (load.status === 'ok' && load.value === null) return <p class="muted">{t('overview.noLive')}</p>;
  const day = startOfToday();
  return <Chart name="area-load" series={series} unit="kW" xRange={[day, day + 86_400_000]} />;
}

/** The live overview: every figure, limits included, as the station computes it (one definition of area load). */
function loadOverview(): Promise<OverviewData> {
  return api<OverviewData>('/live/overview');
}
