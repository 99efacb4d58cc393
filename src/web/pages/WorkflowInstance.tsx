/**
 * One workflow instance: its process drawn with the steps it waits in and the steps it
 * finished marked, its status, trigger and variables, the history, and for operators
 * "cancel" and "send a message". Polls while the instance runs.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, t } from '../i18n.js';
import { canAct } from '../roles.js';
import type { Role } from '../types.js';
import type { InstanceDetail, WorkflowInstance } from '../workflows/replies.js';

const POLL_MS = 3_000;

export function WorkflowInstancePage({ instanceId, role }: { instanceId: string; role: Role }) {
  const id = encodeURIComponent(instanceId);
  const [instance, reload] = useLoad(() => api<InstanceDetail>(`/workflows/instances/${id}`), [id], POLL_MS);
  const [diagram] = useLoad(() => import('../workflows/InstanceDiagram.js'), []);
  if (instance.status !== 'ok') return <p>{instance.status === 'error' ? errorText(instance.error) : t('common.loading')}</p>;
  const i = instance.value;
  const waiting = i.waiting.map((w) => w.elementId);
  const done = [...new Set(i.history.filter((h) => h.event === 'end').map((h) => h.elementId))];
  return (
    <div class="grid">
      <section class="card wide" data-testid="wf-instance" data-instance={i.id} data-status={i.status}>
        <h2><a href={`#/workflows/instances?process=${encodeURIComponent(i.processKey)}`}>{t('wf.instances')}</a> / {i.processKey} v{i.version} <small>{i.id}</small></h2>
        <div class="kpis">
          <div><small>{t('wf.status')}</small><strong data-testid="wf-instance-status">{label('wfStatus', i.status)}</strong></div>
          <div><small>{t('wf.trigger')}</small><span>{label('wfTrigger', i.trigger.kind)}{i.trigger.ref === null ? '' : ` ${i.trigger.ref}`}</span></div>
          <div><small>{t('wf.businessKey')}</small><span>{i.businessKey ?? t('common.none')}</span></div>
          <div><small>{t('wf.started')}</small><span>{fmtTime(i.startedAt)}</span></div>
          <div><small>{t('wf.ended')}</small><span>{fmtTime(i.endedAt)}</span></div>
          {i.error !== null && <div><small>{t('common.error')}</small><span class="error">{i.error}</span></div>}
        </div>
        <p class="wf-legend"><span class="waiting">■ {t('wf.legendWaiting')}</span><span class="done">■ {t('wf.legendDone')}</span></p>
        {diagram.status === 'ok'
          ? <diagram.value.InstanceDiagram xml={i.xml} waiting={waiting} done={done} />
          : <p>{diagram.status === 'error' ? errorText(diagram.error) : t('common.loading')}</p>}
        {canAct(role) && i.status === 'running' && <InstanceActions instance={i} onDone={reload} />}
      </section>
      <section class="card">
        <h3>{t('wf.waiting')}</h3>
        {i.waiting.length === 0 ? <p class="muted">{t('common.none')}</p> : (
          <table data-table="waiting">
            <thead><tr><th>{t('wf.element')}</th><th>{t('wf.since')}</th><th>{t('wf.detail')}</th></tr></thead>
            <tbody>{i.waiting.map((w) => (
              <tr key={w.elementId} data-element={w.elementId}><td>{w.elementId} <small>{w.elementType}</small></td><td class="time">{fmtTime(w.since)}</td><td>{w.detail ?? ''}</td></tr>
            ))}</tbody>
          </table>
        )}
        <h3>{t('wf.variables')}</h3>
        <table data-table="variables">
          <tbody>{Object.entries(i.variables).map(([name, value]) => (
            <tr key={name} data-variable={name}><td>{name}</td><td><code>{JSON.stringify(value)}</code></td></tr>
          ))}</tbody>
        </table>
      </section>
      <section class="card">
        <h3>{t('wf.history')}</h3>
        <table data-table="history">
          <thead><tr><th>{t('common.time')}</th><th>{t('wf.element')}</th><th>{t('wf.event')}</th><th>{t('wf.detail')}</th></tr></thead>
          <tbody>{i.history.map((h) => (
            <tr key={h.seq} data-seq={h.seq} data-element={h.elementId} data-event={h.event}>
              <td class="time">{fmtTime(h.at)}</td><td>{h.elementId} <small>{h.elementType}</small></td><td>{label('wfEvent', h.event)}</td><td>{h.detail ?? ''}</td>
            </tr>
          ))}</tbody>
        </table>
      </section>
    </div>
  );
}

/** Cancel with a reason, or send a message (with variables as JSON) to the waiting instance. */
function InstanceActions({ instance, onDone }: { instance: WorkflowInstance; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState('');
  const [variables, setVariables] = useState('');
  const [error, setError] = useState<string | undefined>();
  const id = encodeURIComponent(instance.id);
  const send = (path: string, body: unknown) => {
    setError(undefined);
    api<unknown>(path, { method: 'POST', body }).then(onDone, (err: unknown) => { setError(errorText(err)); });
  };
  const sendMessage = (e: Event) => {
    e.preventDefault();
    let vars: unknown;
    try {
      vars = variables.trim() === '' ? undefined : JSON.parse(variables) as unknown;
    } catch {
      setError(t('wf.badJson'));
      return;
    }
    send(`/workflows/instances/${id}/messages`, { name: message.trim(), ...(vars === undefined ? {} : { variables: vars }) });
  };
  return (
    <div class="buttons">
      <form class="inline" onSubmit={sendMessage}>
        <input name="message" list="wf-instance-messages" placeholder={t('wf.message')} value={message} required onInput={(e) => { setMessage(e.currentTarget.value); }} />
        <datalist id="wf-instance-messages"><option value="alarm-cleared" /><option value="payment" /></datalist>
        <input name="messageVariables" placeholder={t('wf.messageVariables')} value={variables} onInput={(e) => { setVariables(e.currentTarget.value); }} />
        <button type="submit" data-action="send-message">{t('wf.sendMessage')}</button>
      </form>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); send(`/workflows/instances/${id}/cancel`, { reason: reason.trim() }); }}>
        <input name="reason" placeholder={t('cmd.reason')} value={reason} required onInput={(e) => { setReason(e.currentTarget.value); }} />
        <button type="submit" class="danger" data-action="cancel-instance">{t('wf.cancelInstance')}</button>
      </form>
      {error !== undefined && <p class="error">{error}</p>}
    </div>
  );
}
