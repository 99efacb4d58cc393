/**
 * The dispatch operators' dashboard: login, then Overview, Alarms, Meters, Load control, Analysis,
 * Fees (the billing role sees Fees only: its token reads fee accounts and reports, nothing else).
 * Hash routes (`#/meters/m-1`) so the server serves one index.html and nothing else.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setOnUnauthenticated } from './api.js';
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
import { operates } from './roles.js';
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
  const nav: [string, Key][] = [...(operates(me.role) ? operatorNav : []), ['fees', 'nav.fees']];
  const current = route.page === '' ? nav[0]?.[0] : route.page;
  return (
    <div class="app">
      <header class="top">
        <strong class="brand">{t('app.title')}</strong>
        <nav>
          {nav.map(([path, key]) => <a key={path} href={`#/${path}`} class={current === path ? 'active' : ''} data-nav={path}>{t(key)}</a>)}
        </nav>
        <span class="spacer" />
        <span class="who" data-role={me.role}>{me.subject.replace(/^user:/, '')} · {t(`role.${me.role}`)}</span>
        <button type="button" class="link" data-action="language" onClick={() => { setLang(lang() === 'en' ? 'zh' : 'en'); }}>{t('nav.language')}</button>
        <button type="button" class="link" data-action="logout" onClick={logout}>{t('nav.logout')}</button>
      </header>
      <main>{page(route, me.role)}</main>
    </div>
  );
}

interface Route { page: string; id: string | undefined }

function parseRoute(): Route {
  const [page = '', id] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { page, id };
}

function page(route: Route, role: Role) {
  switch (route.page) {
    case 'alarms': return <Alarms role={role} />;
    case 'meters': return route.id === undefined ? <MeterList /> : <MeterPage key={route.id} meterId={route.id} role={role} />;
    case 'load-control': return <LoadControl selected={route.id} />;
    case 'analysis': return <Analysis />;
    case 'fees': return route.id === undefined ? <FeeOverview /> : <FeeAccountPage key={route.id} accountId={route.id} role={role} />;
    default: return operates(role) ? <Overview /> : <FeeOverview />;
  }
}

document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
