/**
 * Workflow instances: filtered by process and status (the filters live in the address, so a
 * link can carry them), page by page, and "start" for operators: a process, its variables
 * as name/value rows, an optional business key.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import { canAct } from '../roles.js';
import type { Role } from '../types.js';
import type { DefinitionList, Keyset, WorkflowInstance } from '../workflows/replies.js';

const PAGE = 50;
const STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;

export function WorkflowInstances({ role, query }: { role: Role; query: URLSearchParams }) {
  const process = query.get('process') ?? '';
  const status = query.get('status') ?? '';
  const [definitions] = useLoad(() => api<DefinitionList>('/workflows/definitions'), []);
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const filters = new URLSearchParams({ limit: String(PAGE), ...(process === '' ? {} : { process }), ...(status === '' ? {} : { status }), ...(after === undefined ? {} : { after }) });
  const [page] = useLoad(() => api<Keyset<WorkflowInstance>>(`/workflows/instances?${filters.toString()}`), [filters.toString()], 5_000);
  const keys = definitions.status === 'ok' ? definitions.value.items.map((d) => d.key) : [];
  const filter = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === '') next.delete(name); else next.set(name, value);
    location.hash = `#/workflows/instances${next.size === 0 ? '' : `?${next.toString()}`}`;
  };
  return (
    <div class="grid">
      {canAct(role) && <StartInstance processes={keys} initial={process} />}
      <section class="card wide">
        <h2><a href="#/workflows">{t('wf.title')}</a> / {t('wf.instances')}</h2>
        <div class="filters">
          <label>{t('wf.process')}
            <select name="process" value={process} onChange={(e) => { filter('process', e.currentTarget.value); }}>
              <option value="">{t('alarms.all')}</option>
              {[...new Set([...keys, ...(process === '' ? [] : [process])])].map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
          </label>
          <label>{t('wf.status')}
            <select name="status" value={status} onChange={(e) => { filter('status', e.currentTarget.value); }}>
              <option value="">{t('alarms.all')}</option>
              {STATUSES.map((s) => <option key={s} value={s}>{label('wfStatus', s)}</option>)}
            </select>
          </label>
        </div>
        {page.status !== 'ok' ? <p>{page.status === 'error' ? errorText(page.error) : t('common.loading')}</p> : (
          <>
            {page.value.items.length === 0 ? <p class="muted">{t('wf.noInstances')}</p> : (
              <table data-table="instances">
                <thead><tr>
                  <th>{t('common.id')}</th><th>{t('wf.process')}</th><th>{t('wf.status')}</th><th>{t('wf.trigger')}</th><th>{t('wf.businessKey')}</th>
                  <th>{t('wf.waiting')}</th><th>{t('wf.started')}</th><th>{t('wf.ended')}</th>
                </tr></thead>
                <tbody>{page.value.items.map((i) => (
                  <tr key={i.id} data-instance={i.id} data-status={i.status}>
                    <td><a href={`#/workflows/instances/${encodeURIComponent(i.id)}`}>{i.id}</a></td>
                    <td>{i.processKey} v{i.version}</td>
                    <td>{label('wfStatus', i.status)}</td>
                    <td>{label('wfTrigger', i.trigger.kind)}{i.trigger.ref === null ? '' : ` ${i.trigger.ref}`}</td>
                    <td>{i.businessKey ?? t('common.none')}</td>
                    <td>{i.waiting.map((w) => w.elementId).join(', ') || t('common.none')}</td>
                    <td class="time">{fmtTime(i.startedAt)}</td>
                    <td class="time">{fmtTime(i.endedAt)}</td>
                  </tr>
                ))}</tbody>
              </table>
            )}
            <div class="buttons">
              <button type="button" data-action="first" disabled={cursors.length === 0} onClick={() => { setCursors([]); }}>{t('wf.first')}</button>
              <button type="button" data-action="next" disabled={page.value.next === null} onClick={() => { const next = page.value.next; if (next !== null) setCursors((c) => [...c, next]); }}>{t('wf.next')}</button>
            </div>
          </>
        )}
      </section>
    </div>
  );
}

interface Variable { name: string; value: string }

/** Starts an instance from the dashboard: the API records the trigger as `dashboard` by the header. */
function StartInstance({ processes, initial }: { processes: readonly string[]; initial: string }) {
  const [processKey, setProcessKey] = useState(initial);
  const [businessKey, setBusinessKey] = useState('');
  const [variables, setVariables] = useState<Variable[]>([{ name: '', value: '' }]);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const setVariable = (i: number, v: Partial<Variable>) => { setVariables((vs) => vs.map((x, j) => (j === i ? { ...x, ...v } : x))); };
  const start = (e: Event) => {
    e.preventDefault();
    if (processKey === '') { setError(t('wf.chooseProcess')); return; }
    setBusy(true);
    setError(undefined);
    const body = {
      processKey,
      variables: Object.fromEntries(variables.filter((v) => v.name.trim() !== '').map((v) => [v.name.trim(), variableValue(v.value)])),
      ...(businessKey.trim() === '' ? {} : { businessKey: businessKey.trim() }),
    };
    api<WorkflowInstance>('/workflows/instances', { method: 'POST', body, headers: { 'x-gridhead-source': 'dashboard' } }).then(
      (instance) => { location.hash = `#/workflows/instances/${encodeURIComponent(instance.id)}`; },
      (err: unknown) => { setError(errorText(err)); setBusy(false); },
    );
  };
  return (
    <section class="card wide" data-testid="wf-start">
      <h3>{t('wf.start')}</h3>
      <form class="inline" onSubmit={start}>
        <label>{t('wf.process')}
          <select name="processKey" data-testid="wf-start-process" value={processKey} onChange={(e) => { setProcessKey(e.currentTarget.value); }}>
            <option value="">{t('wf.choose')}</option>
            {processes.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label>{t('wf.businessKey')} <input name="businessKey" value={businessKey} onInput={(e) => { setBusinessKey(e.currentTarget.value); }} /></label>
        {variables.map((v, i) => (
          <span key={i} class="inline" data-variable={i}>
            <input name={`variable-name-${i}`} placeholder={t('wf.variableName')} value={v.name} onInput={(e) => { setVariable(i, { name: e.currentTarget.value }); }} />
            <input name={`variable-value-${i}`} placeholder={t('wf.variableValue')} value={v.value} onInput={(e) => { setVariable(i, { value: e.currentTarget.value }); }} />
          </span>
        ))}
        <button type="button" data-action="add-variable" onClick={() => { setVariables((vs) => [...vs, { name: '', value: '' }]); }}>{t('wf.addVariable')}</button>
        <button type="submit" data-testid="wf-start-submit" disabled={busy}>{t('wf.start')}</button>
      </form>
      {error !== undefined && <p class="error">{error}</p>}
    </section>
  );
}

/** Numbers and true/false typed into a variable go in as such, so a gateway can compare them; everything else is text. */
function variableValue(text: string): string | number | boolean {
  const s = text.trim();
  if (s === 'true' || s === 'false') return s === 'true';
  return s !== '' && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : text;
}
