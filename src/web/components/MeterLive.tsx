/**
 * A meter's live values per phase: GET /meters/:id/latest, then `event: meter` on
 * /live/stream?meter=…; while the stream is unavailable the latest values are polled.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtClock, fmtQuantity } from '../format.js';
import { useEventStream, useLoad } from '../hooks.js';
import { t, term } from '../i18n.js';
import type { LatestValues, MeterValuesEvent } from '../types.js';

const POLL_MS = 2_000;

/** A value as both sources give it: the stream's event carries these fields, GET …/latest adds its quality. */
type LatestValue = MeterValuesEvent['values'][number];
const PHASE_ROWS = [
  { label: 'V', quantities: ['voltage.l1', 'voltage.l2', 'voltage.l3', null] },
  { label: 'A', quantities: ['current.l1', 'current.l2', 'current.l3', null] },
  { label: 'kW', quantities: ['power.active.l1', 'power.active.l2', 'power.active.l3', 'power.active'] },
] as const;
const OTHER = ['power.reactive', 'power.factor', 'demand.active.max', 'clock.drift'];

export function useLatestValues(meterId: string): { values: Map<string, LatestValue>; error: unknown } {
  const [pushed, setPushed] = useState<Map<string, LatestValue> | null>(null);
  const stream = useEventStream(`/api/v1/live/stream?meter=${encodeURIComponent(meterId)}`, {
    meter: (d) => {
      const update = d as MeterValuesEvent;
      if (update.meterId !== meterId) return;
      setPushed((prev) => {
        const next = new Map(prev ?? []);
        for (const v of update.values) next.set(v.quantity, v);
        return next;
      });
    },
  });
  const [latest] = useLoad(() => api<LatestValues>(`/meters/${encodeURIComponent(meterId)}/latest`), [meterId], stream === 'live' ? undefined : POLL_MS);
  const base = new Map(latest.status === 'ok' ? latest.value.values.map((v) => [v.quantity, v] as const) : []);
  // Pushed values are newer than the first load; polled values replace both when the stream is down.
  const values = stream === 'live' && pushed !== null ? new Map([...base, ...pushed]) : base;
  return { values, error: latest.status === 'error' ? latest.error : null };
}

export function MeterLive({ values, error }: { values: Map<string, LatestValue>; error: unknown }) {
  const cell = (q: string | null, i: number) => {
    if (q === null) return <td key={i}>—</td>;
    const v = values.get(q);
    return <td key={i} data-q={q} title={v === undefined ? '' : fmtClock(v.ts)}>{v === undefined ? '—' : fmtQuantity(v.value, v.unit)}</td>;
  };
  const newest = [...values.values()].reduce((m, v) => Math.max(m, Date.parse(v.ts)), 0);
  return (
    <>
      {error !== null && <p class="error">{errorText(error)}</p>}
      <table class="phases" data-live-ts={newest}>
        <thead><tr><th>{t('meter.quantity')}</th><th>L1</th><th>L2</th><th>L3</th><th>{t('meter.total')}</th></tr></thead>
        <tbody>{PHASE_ROWS.map((r) => <tr key={r.label}><th>{r.label}</th>{r.quantities.map(cell)}</tr>)}</tbody>
      </table>
      <dl class="pairs">
        {OTHER.filter((q) => values.has(q)).map((q) => {
          const v = values.get(q);
          return v === undefined ? null : <Fragment key={q}><dt>{term(q)}</dt><dd data-q={q}>{fmtQuantity(v.value, v.unit)}</dd></Fragment>;
        })}
        {newest > 0 && <><dt>{t('common.time')}</dt><dd>{fmtClock(newest)}</dd></>}
      </dl>
    </>
  );
}
