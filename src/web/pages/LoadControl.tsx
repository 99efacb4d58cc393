/**
 * Load-control programs: state (armed, alarming, round n, restoring), load against limit,
 * the meters a program acted on, and a dry-run preview (POST …/preview sends nothing).
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtClause, fmtNumber, fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t, type Key } from '../i18n.js';
import type { Program, ProgramDetail, ProgramList, ProgramPreview } from '../types.js';

const POLL_MS = 5_000;

export function LoadControl({ selected }: { selected: string | undefined }) {
  const [programs] = useLoad(() => api<ProgramList>('/load-control/programs'), [], POLL_MS);
  if (programs.status !== 'ok') return <p>{programs.status === 'error' ? errorText(programs.error) : t('common.loading')}</p>;
  const items = programs.value.items;
  return (
    <div class="grid">
      <section class="card wide">
        <h2>{t('lc.title')}</h2>
        {items.length === 0 ? <p class="muted">{t('lc.none')}</p> : (
          <table>
            <thead><tr><th>{t('lc.program')}</th><th>{t('lc.state')}</th><th>{t('lc.load')}</th><th>{t('lc.limit')}</th><th>{t('lc.basis')}</th></tr></thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id} data-program={p.id} data-state={p.state} class={p.id === selected ? 'selected' : ''}>
                  <td><a href={`#/load-control/${encodeURIComponent(p.id)}`}>{p.name}</a> <small>{label('lcKind', p.kind)}{p.dryRun && ` · ${t('lc.dryRun')}`}</small></td>
                  <td><span class={`lc lc-${p.state}`}>{programState(p)}</span></td>
                  <td>{fmtNumber(p.load)} {p.unit}</td>
                  <td>{fmtNumber(p.limit)} {p.unit}</td>
                  <td>{fmtClause(p.basisData, p.basis)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selected !== undefined && <ProgramPanel key={selected} id={selected} />}
    </div>
  );
}

function ProgramPanel({ id }: { id: string }) {
  const [detail] = useLoad(() => api<ProgramDetail>(`/load-control/programs/${encodeURIComponent(id)}`), [id], POLL_MS);
  const [preview, setPreview] = useState<ProgramPreview | string | null>(null);
  const runPreview = () => {
    api<ProgramPreview>(`/load-control/programs/${encodeURIComponent(id)}/preview`, { method: 'POST' }).then(setPreview, (err: unknown) => { setPreview(errorText(err)); });
  };
  if (detail.status !== 'ok') return <section class="card wide">{detail.status === 'error' ? errorText(detail.error) : t('common.loading')}</section>;
  const d = detail.value;
  return (
    <>
      <section class="card">
        <h3>{d.name} — {t('lc.tripped')}</h3>
        <table>
          <thead><tr><th>{t('common.id')}</th><th>{t('lc.round')}</th><th>{t('cmd.status')}</th><th>{t('common.time')}</th></tr></thead>
          <tbody>{d.tripped.map((x) => <tr key={`${x.meterId}-${x.round}`}><td><a href={`#/meters/${encodeURIComponent(x.meterId)}`}>{x.meterId}</a> {label('cmdType', x.command)}</td><td>{x.round}</td><td>{label('cmdStatus', x.status)}</td><td class="time">{fmtTime(x.at)}</td></tr>)}</tbody>
        </table>
      </section>
      {d.purchase !== undefined && (
        <section class="card" data-purchase={d.id}>
          <h3>{t('lc.purchase')}</h3>
          <p>{t('lc.purchased')} {fmtNumber(d.purchase.purchasedKwh)} kWh · {t('lc.consumed')} {fmtNumber(d.purchase.consumedKwh)} kWh · {t('lc.remaining')} {fmtNumber(d.purchase.remainingKwh)} kWh</p>
          <table>
            <thead><tr><th>{t('lc.purchaseId')}</th><th>kWh</th><th>{t('common.time')}</th></tr></thead>
            <tbody>{d.purchase.purchases.map((x) => <tr key={x.purchaseId}><td>{x.purchaseId}</td><td>{fmtNumber(x.kwh, 3)}</td><td class="time">{fmtTime(x.at)}</td></tr>)}</tbody>
          </table>
        </section>
      )}
      <section class="card">
        <h3>{t('lc.preview')} <button type="button" data-action="preview" onClick={runPreview}>{t('lc.runPreview')}</button></h3>
        {typeof preview === 'string' && <p class="error">{preview}</p>}
        {preview !== null && typeof preview !== 'string' && (
          <div data-preview={preview.programId}>
            <p>{t('lc.phase')}: {phaseLabel(preview.phase)} · {fmtNumber(preview.value)} / {fmtNumber(preview.limit)} {preview.unit} · {fmtClause(preview.basisData, preview.basis)}</p>
            <table>
              <thead><tr><th>{t('lc.round')}</th><th>{t('lc.would')}</th></tr></thead>
              <tbody>{preview.rounds.map((r) => <tr key={r.round}><td>{r.round} · {label('cmdType', r.action)}{r.done && ' ✓'}</td><td>{r.meters.map((m) => `${m.meterId} (${label('lcOutcome', m.outcome)})`).join(', ')}</td></tr>)}</tbody>
            </table>
            {preview.restore.length > 0 && <p>{t('lc.restore')}: {preview.restore.map((r) => `${r.meterId} ${label('cmdType', r.command)}`).join(', ')}</p>}
          </div>
        )}
      </section>
    </>
  );
}

const STATE_KEYS: Readonly<Record<string, Key>> = { disabled: 'lcState.disabled', armed: 'lcState.armed', alarming: 'lcState.alarming', restoring: 'lcState.restoring' };

function programState(p: Program): string {
  if (p.state === 'round') return t('lcState.round', { n: p.round });
  return phaseLabel(p.state);
}

function phaseLabel(phase: string): string {
  const key = STATE_KEYS[phase];
  return key === undefined ? phase : t(key);
}
