/** Meters, filtered as the operator types (id, name or customer reference). */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { useLoad } from '../hooks.js';
import { t } from '../i18n.js';
import type { Meter, Page } from '../types.js';

/** Rows drawn at most: a long list is narrowed by typing, not by scrolling. */
const MAX_ROWS = 200;

export function MeterList() {
  const [query, setQuery] = useState('');
  const [meters] = useLoad(() => api<Page<Meter>>('/meters?limit=1000'), []);
  if (meters.status !== 'ok') return <p>{meters.status === 'error' ? errorText(meters.error) : t('common.loading')}</p>;
  const q = query.trim().toLowerCase();
  const rows = meters.value.items.filter((m) => q === '' || [m.id, m.name, m.customerRef ?? ''].some((s) => s.toLowerCase().includes(q))).slice(0, MAX_ROWS);
  return (
    <section class="card">
      <h2>{t('meters.title')}</h2>
      <input class="search" type="search" placeholder={t('meters.search')} value={query} onInput={(e) => { setQuery(e.currentTarget.value); }} />
      <table>
        <thead><tr><th>{t('common.id')}</th><th>{t('meters.customer')}</th><th>{t('meters.area')}</th></tr></thead>
        <tbody>
          {rows.map((m) => (
            <tr key={m.id}>
              <td><a href={`#/meters/${encodeURIComponent(m.id)}`} data-meter-link={m.id}>{m.id}</a> <small>{m.name}</small></td>
              <td>{m.customerRef ?? '—'}</td>
              <td>{m.areaId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
