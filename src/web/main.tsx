/**
 * The dispatch operators' dashboard: login, then Overview, Alarms, Meters, Load control, Analysis,
 * Workflows, Firmware, Work orders, Fees (the billing role sees Fees only: its token reads fee accounts and
 * reports, nothing else; a field crew sees its work orders only).
 * Hash routes (`#/meters/m-1`, `#/work-orders?state=open`) so the server serves one index.html and nothing else.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setOnUnauthenticated } from './api.js';
import { Lazy } from './components/Lazy.js';
import { fmtSubject } from './format.js';
import { lang, onLangChange, setLang, t, type Key } from './i18n.js';
import { Alarms } from './pages/Alarms.js';
import { Analysis } from './pages/Analysis.js';
import { LoadControl } from './pages/LoadControl.js';
import { Login } from './pages/Login.js';
import { MeterList } from './pages/MeterList.js';
import { MeterPage } from './pages/Meter.js';
import { Overview } from './pages/Overview.js';
import { FeeAccountPage } from './pages/FeeAccount.js';
import { FeeOverview } from './pages/FeeOverview.js';
import { WorkflowEditor, Workflows } from './pages/Workflows.js';
import { WorkflowInstancePage } from './pages/WorkflowInstance.js';
import { WorkflowInstances } from './pages/WorkflowInstances.js';
import { WorkOrderPage } from './pages/WorkOrder.js';
import { WorkOrders } from './pages/WorkOrders.js';
import { isField, operates, readsWorkOrders } from './roles.js';
import type { Me, Role } from './types.js';
import './styles.css';

function App() {
  const [me, setMe] = useState<Me | null | 'unknown'>('unknown');
  const [route, setRoute] = useState(parseRoute());
  const [, setLangTick] = useState(0);
  useEffect(() => onLangChange(() => { setLangTick((n) => n + 1); }), []);
  useEffect(() => {
    const onHash = () => { setRoute(parseRoute()); };
    window.addEventListener('hashchange', onHash);
    setOnUnauthenticated(() => { setMe(null); });
    api<Me>('/auth/me').then(setMe, () => { setMe(null); });
    return () => { window.removeEventListener('hashchange', onHash); };
  }, []);

  if (me === 'unknown') return <div class="splash">{t('common.loading')}</div>;
  if (me === null) return <Login onLogin={setMe} />;
  const logout = () => { void api('/auth/logout', { method: 'POST' }).finally(() => { setMe(null); }); };
  const operatorNav: [string, Key][] = [['overview', 'nav.overview'], ['alarms', 'nav.alarms'], ['meters', 'nav.meters'], ['load-control', 'nav.loadControl'], ['analysis', 'nav.analysis']];
  const nav: [string, Key][] = [
    ...(operates(me.role) ? [...operatorNav, ['workflows', 'nav.workflows'] as [string, Key], ['firmware', 'nav.firmware'] as [string, Key]] : []),
    ...(readsWorkOrders(me.role) ? [['work-orders', 'nav.workOrders'] as [string, Key]] : []),
    ...(isField(me.role) ? [] : [['fees', 'nav.fees'] as [string, Key]]),
  ];
  const current = route.page === '' ? nav[0]?.[0] : route.page;
  return (
    <div class="app">
      <header class="top">
        <strong class="brand">{t('app.title')}</strong>
        <nav>
          {nav.map(([path, key]) => <a key={path} href={`#/${path}`} class={current === path ? 'active' : ''} data-nav={path}>{t(key)}</a>)}
        </nav>
        <span class="spacer" />
        <span class="who" data-role={me.role}>{fmtSubject(me.subject)} · {t(`role.${me.role}`)}</span>
        <button type="button" class="link" data-action="language" onClick={() => { setLang(lang() === 'en' ? 'zh' : 'en'); }}>{t('nav.language')}</button>
        <button type="button" class="link" data-action="logout" onClick={logout}>{t('nav.logout')}</button>
      </header>
      <main>{page(route, me)}</main>
    </div>
  );
}

/** `#/page/id/more?query`: the page, the path segments after it, and the query (a list page's filters). */
interface Route { page: string; id: string | undefined; rest: string[]; query: URLSearchParams }

function parseRoute(): Route {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [page = '', ...rest] = path.split('/').map(decodeURIComponent);
  return { page, id: rest[0], rest, query: new URLSearchParams(search) };
}

function page(route: Route, me: Me) {
  const role = me.role;
  switch (route.page) {
    case 'workflows': return workflowPage(route, role);
    case 'work-orders': return route.id === undefined
      ? <WorkOrders key={route.query.toString()} me={me} query={route.query} />
      : <WorkOrderPage key={route.id} orderId={route.id} me={me} />;
    case 'firmware': return operates(role) ? firmwarePage(route, role) : null;
    case 'alarms': return <Alarms role={role} />;
    case 'meters': return route.id === undefined ? <MeterList /> : <MeterPage key={route.id} meterId={route.id} role={role} />;
    case 'load-control': return <LoadControl selected={route.id} />;
    case 'analysis': return <Analysis />;
    case 'fees': return route.id === undefined ? <FeeOverview /> : <FeeAccountPage key={route.id} accountId={route.id} role={role} />;
    default: return operates(role) ? <Overview /> : isField(role) ? <WorkOrders me={me} query={route.query} /> : <FeeOverview />;
  }
}

function workflowPage(route: Route, role: Role) {
  const [section, id] = route.rest;
  if (section === 'new') return <WorkflowEditor key="new" definitionKey={undefined} role={role} />;
  if (section === 'edit' && id !== undefined) return <WorkflowEditor key={id} definitionKey={id} role={role} />;
  if (section === 'instances') return id === undefined
    ? <WorkflowInstances key={route.query.toString()} role={role} query={route.query} />
    : <WorkflowInstancePage key={id} instanceId={id} role={role} />;
  return <Workflows role={role} />;
}

/** `#/firmware` (campaigns, images) or `#/firmware/<campaign id>?state=…`: each page in its own chunk, loaded when opened. */
function firmwarePage(route: Route, role: Role) {
  const campaignId = route.id;
  if (campaignId === undefined) return <Lazy key="campaigns" load={() => import('./pages/FirmwareCampaigns.js').then((m) => m.FirmwareCampaigns)} props={{ role }} />;
  return <Lazy key={campaignId} load={() => import('./pages/FirmwareCampaign.js').then((m) => m.FirmwareCampaignPage)} props={{ campaignId, role, query: route.query }} />;
}

document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
