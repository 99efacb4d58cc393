/**
 * The work-order inbox: the signed-in user's own orders and the open orders of their role,
 * and for the dispatch roles every order, filtered by area, state, assignee and type (the
 * filters live in the address), page by page, with the same filters exported as CSV.
 */
import { useState } from 'preact/hooks';
import { API, api, errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import { operates } from '../roles.js';
import type { Me } from '../types.js';
import type { Keyset, WorkOrder } from '../workflows/replies.js';
import { WORK_ORDER_STATES, isOpen, userName } from '../workOrders.js';

const POLL_MS = 10_000;
const PAGE = 50;
/** The inbox's own lists are short by nature; more than this and the filtered list is the place to look. */
const INBOX_LIMIT = 100;
const FILTERS = ['area', 'state', 'assignee', 'type'] as const;

export function WorkOrders({ me, query }: { me: Me; query: URLSearchParams }) {
  const user = userName(me);
  return (
    <div class="grid">
      <OrderList testid="wo-mine" title={t('wo.mine')} path={`/work-orders?assignee=${encodeURIComponent(user)}&limit=${INBOX_LIMIT}`} openOnly />
      <OrderList testid="wo-role" title={t('wo.myRole', { role: t(`role.${me.role}`) })} path={`/work-orders?role=${encodeURIComponent(me.role)}&state=open&limit=${INBOX_LIMIT}`} openOnly />
      {operates(me.role) && <AllOrders query={query} />}
    </div>
  );
}

function OrderList({ testid, title, path, openOnly }: { testid: string; title: string; path: string; openOnly: boolean }) {
  const [page] = useLoad(() => api<Keyset<WorkOrder>>(path), [path], POLL_MS);
  return (
    <section class="card" data-testid={testid}>
      <h3>{title}</h3>
      {page.status !== 'ok' ? <p>{page.status === 'error' ? errorText(page.error) : t('common.loading')}</p>
        : <OrderTable orders={openOnly ? page.value.items.filter(isOpen) : page.value.items} />}
    </section>
  );
}

function AllOrders({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const filters = new URLSearchParams();
  for (const f of FILTERS) { const v = query.get(f); if (v !== null && v !== '') filters.set(f, v); }
  const listQuery = new URLSearchParams(filters);
  listQuery.set('limit', String(PAGE));
  if (after !== undefined) listQuery.set('after', after);
  const [page] = useLoad(() => api<Keyset<WorkOrder>>(`/work-orders?${listQuery.toString()}`), [listQuery.toString()], POLL_MS);
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(filters);
    if (value.trim() === '') next.delete(name); else next.set(name, value.trim());
    location.hash = `#/work-orders${next.size === 0 ? '' : `?${next.toString()}`}`;
  };
  return (
    <section class="card wide" data-testid="wo-all">
      <h3>{t('wo.all')} <a class="csv" data-testid="wo-csv" href={`${API}/work-orders/export.csv${filters.size === 0 ? '' : `?${filters.toString()}`}`} download>{t('common.csv')}</a></h3>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); }}>
        <label>{t('wo.state')}
          <select name="state" value={filters.get('state') ?? ''} onChange={(e) => { setFilter('state', e.currentTarget.value); }}>
            <option value="">{t('alarms.all')}</option>
            {WORK_ORDER_STATES.map((s) => <option key={s} value={s}>{label('woState', s)}</option>)}
          </select>
        </label>
        {(['area', 'assignee', 'type'] as const).map((f) => (
          <label key={f}>{t(`wo.${f}`)}
            <input name={f} value={filters.get(f) ?? ''} size={12} onChange={(e) => { setFilter(f, e.currentTarget.value); }} />
          </label>
        ))}
      </form>
      {page.status !== 'ok' ? <p>{page.status === 'error' ? errorText(page.error) : t('common.loading')}</p> : (
        <>
          <OrderTable orders={page.value.items} />
          <div class="buttons">
            <button type="button" data-action="first" disabled={cursors.length === 0} onClick={() => { setCursors([]); }}>{t('wf.first')}</button>
            <button type="button" data-action="next" disabled={page.value.next === null} onClick={() => { const next = page.value.next; if (next !== null) setCursors((c) => [...c, next]); }}>{t('wf.next')}</button>
          </div>
        </>
      )}
    </section>
  );
}

function OrderTable({ orders }: { orders: readonly WorkOrder[] }) {
  if (orders.length === 0) return <p class="muted">{t('wo.none')}</p>;
  const now = Date.now();
  return (
    <table data-table="work-orders">
      <thead><tr>
        <th>{t('wo.number')}</th><th>{t('wo.type')}</th><th>{t('wo.titleField')}</th><th>{t('wo.meter')}</th><th>{t('wo.area')}</th>
        <th>{t('wo.assignee')}</th><th>{t('wo.due')}</th><th>{t('wo.state')}</th>
      </tr></thead>
      <tbody>{orders.map((o) => {
        const overdue = isOpen(o) && o.dueAt !== null && o.dueAt < now;
        return (
          <tr key={o.id} data-order={o.id} data-number={o.number} data-state={o.state} data-overdue={overdue}>
            <td><a href={`#/work-orders/${encodeURIComponent(o.id)}`}>{o.number}</a></td>
            <td>{o.type}</td>
            <td>{o.title}</td>
            <td>{o.meterId ?? t('common.none')}</td>
            <td>{o.areaId ?? t('common.none')}</td>
            <td>{o.assignee ?? (o.role === null ? t('common.none') : `(${label('role', o.role)})`)}</td>
            <td class={`time ${overdue ? 'negative' : ''}`}>{fmtTime(o.dueAt)}{overdue && ` · ${t('wo.overdue')}`}</td>
            <td>{label('woState', o.state)}</td>
          </tr>
        );
      })}</tbody>
    </table>
  );
}
