/**
 * One work order: its fields, state and due time, the result form of its type (GET
 * /work-orders/types) to complete it, start, assign and cancel, comments and history, and
 * links to the workflow instance that opened it and to its meter.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { label, lang, t } from '../i18n.js';
import { canAct, operates } from '../roles.js';
import type { Me } from '../types.js';
import type { FormLabel, WorkOrder, WorkOrderDetail, WorkOrderField, WorkOrderTypes } from '../workflows/replies.js';
import { isOpen, userName } from '../workOrders.js';

const POLL_MS = 10_000;

export function WorkOrderPage({ orderId, me }: { orderId: string; me: Me }) {
  const id = encodeURIComponent(orderId);
  const [order, reload] = useLoad(() => api<WorkOrderDetail>(`/work-orders/${id}`), [id], POLL_MS);
  const [types] = useLoad(() => api<WorkOrderTypes>('/work-orders/types'), []);
  if (order.status !== 'ok') return <p>{order.status === 'error' ? errorText(order.error) : t('common.loading')}</p>;
  const o = order.value;
  const mine = o.assignee !== null && o.assignee === userName(me);
  const acts = canAct(me.role) || mine;
  const overdue = isOpen(o) && o.dueAt !== null && o.dueAt < Date.now();
  const type = types.status === 'ok' ? types.value.types.find((x) => x.type === o.type) : undefined;
  return (
    <div class="grid">
      <section class="card wide" data-testid="wo-order" data-order={o.id} data-state={o.state}>
        <h2><a href="#/work-orders">{t('nav.workOrders')}</a> / {o.number} <small>{o.title}</small></h2>
        <div class="kpis">
          <div><small>{t('wo.state')}</small><strong data-testid="wo-state">{label('woState', o.state)}</strong></div>
          <div><small>{t('wo.type')}</small><span>{type?.label === undefined ? o.type : labelText(type.label)}</span></div>
          <div><small>{t('wo.due')}</small><span class={overdue ? 'negative' : ''} data-overdue={overdue}>{fmtTime(o.dueAt)}{overdue && ` · ${t('wo.overdue')}`}</span></div>
          <div><small>{t('wo.assignee')}</small><span>{o.assignee ?? t('common.none')}</span></div>
          <div><small>{t('wo.role')}</small><span>{o.role === null ? t('common.none') : label('role', o.role)}</span></div>
          <div><small>{t('wo.meter')}</small><span>{o.meterId === null ? t('common.none') : operates(me.role) ? <a href={`#/meters/${encodeURIComponent(o.meterId)}`}>{o.meterId}</a> : o.meterId}</span></div>
          <div><small>{t('wo.customer')}</small><span>{o.customer ?? t('common.none')}</span></div>
          <div><small>{t('wo.area')}</small><span>{o.areaId ?? t('common.none')}</span></div>
          {o.escalations > 0 && <div><small>{t('wo.escalations')}</small><strong class="negative">{o.escalations}</strong></div>}
          {o.source !== null && (
            <div><small>{t('wo.source')}</small>
              {operates(me.role)
                ? <a href={`#/workflows/instances/${encodeURIComponent(o.source.instanceId)}`} data-testid="wo-instance">{o.source.processKey} / {o.source.elementId}</a>
                : <span>{o.source.processKey} / {o.source.elementId}</span>}
            </div>
          )}
          <div><small>{t('wf.started')}</small><span>{fmtTime(o.createdAt)}</span></div>
          {o.closedAt !== null && <div><small>{t('wf.ended')}</small><span>{fmtTime(o.closedAt)}</span></div>}
        </div>
        {o.result !== null && <Result order={o} fields={type?.fields ?? []} />}
        {acts && isOpen(o) && <Actions order={o} operator={canAct(me.role)} onDone={reload} />}
      </section>
      {acts && isOpen(o) && (
        <section class="card wide">
          <h3>{t('wo.complete')}</h3>
          {types.status === 'error' ? <p class="error">{errorText(types.error)}</p> : <CompleteForm key={o.id} order={o} fields={type?.fields ?? []} onDone={reload} />}
        </section>
      )}
      <Comments order={o} canComment={acts} onDone={reload} />
      <section class="card">
        <h3>{t('wf.history')}</h3>
        <table data-table="wo-history">
          <thead><tr><th>{t('common.time')}</th><th>{t('wo.by')}</th><th>{t('wf.event')}</th><th>{t('wf.detail')}</th></tr></thead>
          <tbody>{o.history.map((h, i) => (
            <tr key={i} data-event={h.event}><td class="time">{fmtTime(h.at)}</td><td>{h.by}</td><td>{label('woEvent', h.event)}</td><td>{h.detail ?? ''}</td></tr>
          ))}</tbody>
        </table>
      </section>
    </div>
  );
}

function Result({ order, fields }: { order: WorkOrder; fields: readonly WorkOrderField[] }) {
  const result = order.result ?? {};
  return (
    <dl class="pairs" data-testid="wo-result">
      {Object.entries(result).map(([name, value]) => {
        const field = fields.find((f) => f.name === name);
        return [<dt key={`${name}:k`}>{field === undefined ? name : fieldLabel(field)}</dt>, <dd key={`${name}:v`} data-field={name}>{valueText(field, value)}</dd>];
      })}
      {order.resultText !== null && [<dt key="text:k">{t('wo.resultText')}</dt>, <dd key="text:v">{order.resultText}</dd>]}
    </dl>
  );
}

/** Start (the assignee or an operator), assign and cancel (operators). */
function Actions({ order, operator, onDone }: { order: WorkOrder; operator: boolean; onDone: () => void }) {
  const [assignee, setAssignee] = useState(order.assignee ?? '');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const id = encodeURIComponent(order.id);
  const post = (path: string, body: unknown) => {
    setError(undefined);
    api<unknown>(`/work-orders/${id}/${path}`, { method: 'POST', body }).then(onDone, (err: unknown) => { setError(errorText(err)); });
  };
  return (
    <div class="buttons">
      {order.state === 'assigned' && <button type="button" data-testid="wo-start" onClick={() => { post('start', {}); }}>{t('wo.start')}</button>}
      {operator && (
        <form class="inline" onSubmit={(e) => { e.preventDefault(); post('assign', { assignee: assignee.trim() }); }}>
          <input name="assignee" placeholder={t('wo.assignee')} value={assignee} required onInput={(e) => { setAssignee(e.currentTarget.value); }} />
          <button type="submit" data-testid="wo-assign">{t('wo.assign')}</button>
        </form>
      )}
      {operator && (
        <form class="inline" onSubmit={(e) => { e.preventDefault(); post('cancel', { reason: reason.trim() }); }}>
          <input name="cancelReason" placeholder={t('cmd.reason')} value={reason} required onInput={(e) => { setReason(e.currentTarget.value); }} />
          <button type="submit" class="danger" data-testid="wo-cancel">{t('wo.cancel')}</button>
        </form>
      )}
      {error !== undefined && <p class="error">{error}</p>}
    </div>
  );
}

type Values = Record<string, string | boolean>;

/** The type's result form; a field the API refuses shows its message beside it. */
function CompleteForm({ order, fields, onDone }: { order: WorkOrder; fields: readonly WorkOrderField[]; onDone: () => void }) {
  const [values, setValues] = useState<Values>(() => Object.fromEntries(fields.map((f) => [f.name, f.kind === 'boolean' ? false : f.kind === 'meter' ? order.meterId ?? '' : ''])));
  const [resultText, setResultText] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = (name: string, value: string | boolean) => { setValues((v) => ({ ...v, [name]: value })); };
  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setFieldErrors({});
    const body = { result: resultOf(fields, values), ...(resultText.trim() === '' ? {} : { resultText: resultText.trim() }) };
    api<WorkOrder>(`/work-orders/${encodeURIComponent(order.id)}/complete`, { method: 'POST', body }).then(
      () => { setBusy(false); onDone(); },
      (err: unknown) => {
        setBusy(false);
        const named = err instanceof ApiError && err.status === 400 ? fieldErrorsOf(err.body) : {};
        setFieldErrors(named);
        if (Object.keys(named).length === 0) setError(errorText(err));
      },
    );
  };
  return (
    <form class="wo-form" data-testid="wo-complete-form" onSubmit={submit}>
      {fields.map((f) => (
        <label key={f.name} data-field={f.name} class={f.kind === 'boolean' ? 'wf-check' : ''}>
          {f.kind !== 'boolean' && <span>{fieldLabel(f)}{f.required ? ' *' : ''}</span>}
          <FieldInput field={f} value={values[f.name] ?? ''} onValue={(v) => { set(f.name, v); }} />
          {f.kind === 'boolean' && <span>{fieldLabel(f)}</span>}
          {fieldErrors[f.name] !== undefined && <small class="error" data-field-error={f.name}>{fieldErrors[f.name]}</small>}
        </label>
      ))}
      <label>{t('wo.resultText')}
        <textarea name="resultText" rows={3} value={resultText} onInput={(e) => { setResultText(e.currentTarget.value); }} />
        {fieldErrors.resultText !== undefined && <small class="error" data-field-error="resultText">{fieldErrors.resultText}</small>}
      </label>
      <div class="buttons"><button type="submit" data-testid="wo-complete" disabled={busy}>{t('wo.complete')}</button></div>
      {error !== undefined && <p class="error">{error}</p>}
    </form>
  );
}

function FieldInput({ field, value, onValue }: { field: WorkOrderField; value: string | boolean; onValue: (v: string | boolean) => void }) {
  const name = `result-${field.name}`;
  switch (field.kind) {
    case 'choice': return (
      <select name={name} value={String(value)} onChange={(e) => { onValue(e.currentTarget.value); }}>
        <option value="">{t('wf.choose')}</option>
        {(field.choices ?? []).map((c) => <option key={c} value={c}>{choiceLabel(field, c)}</option>)}
      </select>
    );
    case 'boolean': return <input type="checkbox" name={name} checked={value === true} onChange={(e) => { onValue(e.currentTarget.checked); }} />;
    case 'number': return <input type="number" step="any" name={name} value={String(value)} onInput={(e) => { onValue(e.currentTarget.value); }} />;
    case 'text':
    case 'meter': return <input name={name} value={String(value)} placeholder={field.format === 'date-time' ? '2025-01-31T14:00:00+08:00' : undefined} onInput={(e) => { onValue(e.currentTarget.value); }} />;
  }
}

function Comments({ order, canComment, onDone }: { order: WorkOrderDetail; canComment: boolean; onDone: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const add = (e: Event) => {
    e.preventDefault();
    setError(undefined);
    api<unknown>(`/work-orders/${encodeURIComponent(order.id)}/comments`, { method: 'POST', body: { text: text.trim() } }).then(
      () => { setText(''); onDone(); },
      (err: unknown) => { setError(errorText(err)); },
    );
  };
  return (
    <section class="card" data-testid="wo-comments">
      <h3>{t('wo.comments')}</h3>
      {order.comments.length === 0 ? <p class="muted">{t('wo.noComments')}</p> : (
        <ul class="wo-comments">{order.comments.map((c, i) => <li key={i}><small>{fmtTime(c.at)} · {c.by}</small><br />{c.text}</li>)}</ul>
      )}
      {canComment && (
        <form class="inline" onSubmit={add}>
          <input name="comment" value={text} required size={30} onInput={(e) => { setText(e.currentTarget.value); }} />
          <button type="submit" data-testid="wo-comment">{t('wo.addComment')}</button>
        </form>
      )}
      {error !== undefined && <p class="error">{error}</p>}
    </section>
  );
}

/** The form's values as the API takes them: numbers as numbers, empty optional fields left out. */
function resultOf(fields: readonly WorkOrderField[], values: Values): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (typeof v === 'boolean') result[f.name] = v;
    else if (v !== undefined && v.trim() !== '') result[f.name] = f.kind === 'number' ? Number(v) : v.trim();
  }
  return result;
}

/**
 * The fields a 400 problem names (`errors: [{ path, message }]`, src/api/problem.ts): the
 * service's `result.<field>` and JSON-schema paths such as `/result/<field>` alike.
 */
function fieldErrorsOf(body: unknown): Record<string, string> {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return {};
  const named: Record<string, string> = {};
  for (const e of errors as { path?: unknown; message?: unknown }[]) {
    if (typeof e.path !== 'string' || typeof e.message !== 'string') continue;
    const path = e.path.replace(/^\//, '').replace(/\//g, '.');
    const field = path.startsWith('result.') ? path.slice('result.'.length) : path;
    if (field !== '' && field !== 'result') named[field] = e.message;
  }
  return named;
}

function labelText(l: FormLabel): string {
  return lang() === 'zh' && l.zh !== undefined ? l.zh : l.en;
}

function fieldLabel(field: WorkOrderField): string {
  return field.label === undefined ? field.name : labelText(field.label);
}

function choiceLabel(field: WorkOrderField, choice: string): string {
  const l = field.choiceLabels?.[choice];
  return l === undefined ? choice : labelText(l);
}

function valueText(field: WorkOrderField | undefined, value: string | number | boolean): string {
  if (typeof value === 'boolean') return t(value ? 'wf.yes' : 'wf.no');
  if (field?.kind === 'choice' && typeof value === 'string') return choiceLabel(field, value);
  return field?.unit === undefined ? String(value) : `${value} ${field.unit}`;
}
