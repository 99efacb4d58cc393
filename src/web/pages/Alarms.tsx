/**
 * Alarms: the list (GET /alarms) kept live by /alarms/stream, filtered by area and severity;
 * operators acknowledge with a comment. `event: reset` (changes missed) re-reads the list.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api.js';
import { fmtExplanation, fmtTime } from '../format.js';
import { useEventStream, useLoad } from '../hooks.js';
import { label, t, type Key } from '../i18n.js';
import { canAct } from '../roles.js';
import { SEVERITIES } from '../../domain/alarm.js';
import type { Alarm, AlarmEvent, Area, Page, Role } from '../types.js';

/** Alarms kept in the page: the newest; older ones are a filter away. */
const MAX_ALARMS = 500;

export function Alarms({ role }: { role: Role }) {
  const [area, setArea] = useState('');
  const [severity, setSeverity] = useState('');
  const [showCleared, setShowCleared] = useState(false);
  const [changes, setChanges] = useState(new Map<string, Alarm>());
  const [areas] = useLoad(() => api<Page<Area>>('/areas?limit=1000'), []);
  const query = new URLSearchParams({ limit: String(MAX_ALARMS), ...(area === '' ? {} : { area }), ...(severity === '' ? {} : { severity }) }).toString();
  const [list, reload] = useLoad(async () => {
    const page = await api<Page<Alarm>>(`/alarms?${query}`);
    setChanges(new Map());
    return page.items;
  }, [query]);
  const stream = useEventStream('/api/v1/alarms/stream', {
    alarm: (d) => {
      const { alarm } = d as AlarmEvent;
      setChanges((prev) => new Map(prev).set(alarm.id, alarm));
    },
    reset: () => { reload(); },
  });

  const merged = new Map((list.status === 'ok' ? list.value : []).map((a) => [a.id, a]));
  for (const [id, a] of changes) merged.set(id, a);
  const within = subtree(area, areas.status === 'ok' ? areas.value.items : []);
  const inArea = (a: Alarm) => area === '' || (a.areaId !== null && within.has(a.areaId));
  const rows = [...merged.values()]
    .filter((a) => (showCleared || a.state !== 'cleared') && (severity === '' || a.severity === severity) && inArea(a))
    .sort((a, b) => Date.parse(b.raisedAt) - Date.parse(a.raisedAt))
    .slice(0, MAX_ALARMS);

  return (
    <section class="card">
      <h2>{t('alarms.title')} <small class={`stream ${stream}`} data-stream={stream}>{stream === 'live' ? t('alarms.live') : t('alarms.reconnecting')}</small></h2>
      <div class="filters">
        <label>{t('alarms.area')}
          <select value={area} onChange={(e) => { setArea(e.currentTarget.value); }} data-filter="area">
            <option value="">{t('alarms.all')}</option>
            {areas.status === 'ok' && areas.value.items.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </label>
        <label>{t('alarms.severity')}
          <select value={severity} onChange={(e) => { setSeverity(e.currentTarget.value); }} data-filter="severity">
            <option value="">{t('alarms.all')}</option>
            {SEVERITIES.map((s) => <option key={s} value={s}>{label('sev', s)}</option>)}
          </select>
        </label>
        <label class="check"><input type="checkbox" checked={showCleared} onChange={(e) => { setShowCleared(e.currentTarget.checked); }} />{t('alarms.showCleared')}</label>
      </div>
      {list.status === 'error' && <p class="error">{errorText(list.error)}</p>}
      <table class="alarms">
        <thead><tr><th>{t('alarms.severity')}</th><th>{t('alarms.raised')}</th><th>{t('alarms.subject')}</th><th>{t('alarms.explanation')}</th><th>{t('alarms.state')}</th><th /></tr></thead>
        <tbody>
          {rows.length === 0 && <tr><td colSpan={6} class="muted">{t('alarms.none')}</td></tr>}
          {rows.map((a) => <AlarmRow key={a.id} alarm={a} canAck={canAct(role)} onChange={(x) => { setChanges((prev) => new Map(prev).set(x.id, x)); }} />)}
        </tbody>
      </table>
    </section>
  );
}

function AlarmRow({ alarm, canAck, onChange }: { alarm: Alarm; canAck: boolean; onChange: (a: Alarm) => void }) {
  const [acking, setAcking] = useState(false);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const subject = alarm.subject.kind === 'meter' ? <a href={`#/meters/${encodeURIComponent(alarm.subject.id)}`}>{alarm.subject.id}</a> : `${label('subject', alarm.subject.kind)} ${alarm.subject.id}`;
  const ack = (e: Event) => {
    e.preventDefault();
    api<Alarm>(`/alarms/${encodeURIComponent(alarm.id)}/ack`, { method: 'POST', body: comment.trim() === '' ? {} : { comment: comment.trim() } })
      .then((a) => { onChange(a); setAcking(false); }, (err: unknown) => { setError(errorText(err)); });
  };
  return (
    <tr class={`st-${alarm.state}`} data-alarm={alarm.id} data-rule={alarm.ruleId} data-state={alarm.state}>
      <td><span class={`sev sev-${alarm.severity}`} data-severity={alarm.severity}>{label('sev', alarm.severity)}</span></td>
      <td class="time">{fmtTime(alarm.raisedAt)}</td>
      <td class="subject">{subject}</td>
      <td data-explanation>{fmtExplanation(alarm.explanationData, alarm.explanation)}{alarm.comments.map((c) => <div key={c.at + c.by} class="comment" data-comment>{c.by}: {c.text}</div>)}</td>
      <td><span class="word" data-state-label>{stateLabel(alarm.state)}</span>{alarm.acknowledgedBy !== null && <small> ({alarm.acknowledgedBy})</small>}</td>
      <td>
        {canAck && alarm.state === 'raised' && !acking && <button type="button" data-action="ack" onClick={() => { setAcking(true); }}>{t('alarms.ack')}</button>}
        {acking && (
          <form onSubmit={ack} class="ack">
            <input name="comment" placeholder={t('alarms.comment')} maxLength={2000} value={comment} onInput={(e) => { setComment(e.currentTarget.value); }} />
            <button type="submit" data-action="confirm-ack">{t('alarms.confirmAck')}</button>
            {error !== null && <span class="error">{error}</span>}
          </form>
        )}
      </td>
    </tr>
  );
}

const STATE_LABELS: Readonly<Record<string, Key>> = { raised: 'alarmState.raised', acknowledged: 'alarmState.acknowledged', cleared: 'alarmState.cleared' };

function stateLabel(state: string): string {
  const key = STATE_LABELS[state];
  return key === undefined ? state : t(key);
}

/** The area and every area below it, as the API's `area` filter means it. */
function subtree(root: string, areas: readonly Area[]): Set<string> {
  const out = new Set([root]);
  // Bounded passes: each adds at least one level; bad data with a cycle stops anyway.
  for (let pass = 0; pass < 16; pass += 1) {
    const before = out.size;
    for (const a of areas) if (a.parentId !== null && out.has(a.parentId)) out.add(a.id);
    if (out.size === before) break;
  }
  return out;
}
