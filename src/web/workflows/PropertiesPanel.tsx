/**
 * The modeler's side panel: the selected element's name and its `gh:` attributes
 * (src/workflows/moddle.ts), timers, messages and gateway conditions, written through bpmn-js's
 * modeling commands so they land in the XML and undo like any other edit. It sits beside the
 * canvas, never over it, so the bpmn.io logo the licence requires stays visible.
 */
import { useState } from 'preact/hooks';
import { label, t } from '../i18n.js';
import { type BpmnFactory, type DiagramElement, type DirectEditing, type ModdleElement, type Modeling, type ServiceLocator, eventDefinitionOf, expressionBody, text } from './bpmnServices.js';
import { formatParams, isDateTime, isDuration, isProcessKey, parseParams, setParam } from './ghAttributes.js';
import type { Catalogue } from './replies.js';

/** The message names the runtime sends by itself (src/workflows/README.md: Messages); any other name comes through the API. */
const KNOWN_MESSAGES = ['alarm-cleared', 'payment'];

export function PropertiesPanel({ services, element, catalogue }: { services: ServiceLocator; element: DiagramElement; catalogue: Catalogue | undefined }) {
  const modeling = services.get<Modeling>('modeling');
  const bo = element.businessObject;
  const update = (properties: Record<string, unknown>) => { modeling.updateProperties(element, properties); };
  const def = eventDefinitionOf(bo);
  return (
    // bpmn-js opens the label editor on a new shape: finish it before the panel writes, or it would later write its own text over the panel's.
    <aside class="wf-panel" data-testid="wf-panel" data-element={element.id} data-type={bo.$type} onFocusIn={() => { finishLabelEditing(services); }}>
      <h3>{label('wf.type', bo.$type.replace('bpmn:', ''))}</h3>
      <p class="muted">{element.id}</p>
      {bo.$type === 'bpmn:Process'
        ? <ProcessFields element={element} update={update} />
        : <TextField name="name" label={t('wf.name')} value={text(bo, 'name')} onValue={(v) => { update({ name: v === '' ? undefined : v }); }} />}
      {bo.$type === 'bpmn:ServiceTask' && <ServiceTaskFields bo={bo} update={update} catalogue={catalogue} />}
      {bo.$type === 'bpmn:UserTask' && <UserTaskFields bo={bo} update={update} catalogue={catalogue} />}
      {def?.$type === 'bpmn:TimerEventDefinition' && <TimerFields services={services} element={element} def={def} />}
      {def?.$type === 'bpmn:MessageEventDefinition' && <MessageFields services={services} element={element} def={def} />}
      {bo.$type === 'bpmn:SequenceFlow' && element.source !== undefined && element.source.businessObject.$type.endsWith('Gateway')
        && <FlowFields services={services} element={element} gateway={element.source} />}
    </aside>
  );
}

function finishLabelEditing(services: ServiceLocator): void {
  const editing = services.get<DirectEditing>('directEditing');
  if (editing.isActive()) editing.complete();
}

function ProcessFields({ element, update }: { element: DiagramElement; update: (p: Record<string, unknown>) => void }) {
  const bo = element.businessObject;
  return (
    <>
      <TextField name="key" label={t('wf.key')} value={bo.id ?? ''} valid={isProcessKey} invalid={t('wf.badKey')} onValue={(v) => { update({ id: v }); }} />
      <TextField name="name" label={t('wf.name')} value={text(bo, 'name')} onValue={(v) => { update({ name: v === '' ? undefined : v }); }} />
    </>
  );
}

function ServiceTaskFields({ bo, update, catalogue }: { bo: ModdleElement; update: (p: Record<string, unknown>) => void; catalogue: Catalogue | undefined }) {
  const actionName = text(bo, 'gh:action');
  const params = parseParams(text(bo, 'gh:params'));
  const action = catalogue?.actions.find((a) => a.name === actionName);
  const declared = action?.params ?? [];
  // Parameters the XML has that the action does not declare stay visible, so nothing is lost unseen.
  const extra = params.filter((p) => !declared.some((d) => d.name === p.name));
  const setValue = (name: string, value: string) => { update({ 'gh:params': formatParams(setParam(params, name, value)) }); };
  return (
    <>
      <label>{t('wf.action')}
        <select name="action" data-testid="wf-action" value={actionName} onChange={(e) => { update({ 'gh:action': e.currentTarget.value === '' ? undefined : e.currentTarget.value }); }}>
          <option value="">{t('wf.choose')}</option>
          {catalogue?.actions.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
          {actionName !== '' && action === undefined && <option value={actionName}>{actionName} ({t('wf.unknown')})</option>}
        </select>
      </label>
      {action !== undefined && <p class="muted" data-testid="wf-action-description">{action.description}</p>}
      {declared.map((d) => (
        <TextField key={`${actionName}:${d.name}`} name={`param-${d.name}`} label={`${d.name}${d.required ? ' *' : ''}`} hint={d.description}
          value={params.find((p) => p.name === d.name)?.value ?? ''} onValue={(v) => { setValue(d.name, v); }} />
      ))}
      {extra.map((p) => (
        <TextField key={`extra:${p.name}`} name={`param-${p.name}`} label={`${p.name} (${t('wf.undeclared')})`} value={p.value} onValue={(v) => { setValue(p.name, v); }} />
      ))}
    </>
  );
}

function UserTaskFields({ bo, update, catalogue }: { bo: ModdleElement; update: (p: Record<string, unknown>) => void; catalogue: Catalogue | undefined }) {
  const type = text(bo, 'gh:workOrderType');
  const role = text(bo, 'gh:role');
  const clear = (v: string) => (v === '' ? undefined : v);
  return (
    <>
      <label>{t('wf.workOrderType')}
        <select name="workOrderType" data-testid="wf-work-order-type" value={type} onChange={(e) => { update({ 'gh:workOrderType': clear(e.currentTarget.value) }); }}>
          <option value="">{t('wf.choose')}</option>
          {catalogue?.workOrderTypes.map((w) => <option key={w.type} value={w.type}>{w.type}</option>)}
          {type !== '' && catalogue?.workOrderTypes.every((w) => w.type !== type) === true && <option value={type}>{type} ({t('wf.unknown')})</option>}
        </select>
      </label>
      <label>{t('wf.role')}
        <select name="role" data-testid="wf-role" value={role} onChange={(e) => { update({ 'gh:role': clear(e.currentTarget.value) }); }}>
          <option value="">{t('wf.noRole')}</option>
          {catalogue?.roles.map((r) => <option key={r} value={r}>{r}</option>)}
          {role !== '' && catalogue?.roles.includes(role) === false && <option value={role}>{role} ({t('wf.unknown')})</option>}
        </select>
      </label>
      <TextField name="assignee" label={t('wf.assignee')} value={text(bo, 'gh:assignee')} onValue={(v) => { update({ 'gh:assignee': clear(v) }); }} />
      <TextField name="due" label={t('wf.due')} hint={t('wf.durationHint')} value={text(bo, 'gh:due')} valid={(v) => v === '' || isDuration(v)} invalid={t('wf.badDuration')}
        onValue={(v) => { update({ 'gh:due': clear(v) }); }} />
    </>
  );
}

function TimerFields({ services, element, def }: { services: ServiceLocator; element: DiagramElement; def: ModdleElement }) {
  const current: 'timeDuration' | 'timeDate' = def.get('timeDate') === undefined ? 'timeDuration' : 'timeDate';
  const [kind, setKind] = useState(current);
  const write = (k: 'timeDuration' | 'timeDate', body: string) => {
    const expression = body === '' ? undefined : services.get<BpmnFactory>('bpmnFactory').create('bpmn:FormalExpression', { body });
    services.get<Modeling>('modeling').updateModdleProperties(element, def, { timeDuration: undefined, timeDate: undefined, timeCycle: undefined, [k]: expression });
  };
  return (
    <>
      <fieldset class="wf-choice">
        <legend>{t('wf.timer')}</legend>
        {(['timeDuration', 'timeDate'] as const).map((k) => (
          <label key={k}><input type="radio" name="timerKind" value={k} checked={kind === k} onChange={() => { setKind(k); }} /> {t(k === 'timeDuration' ? 'wf.timerDuration' : 'wf.timerDate')}</label>
        ))}
      </fieldset>
      <TextField key={kind} name="timer" label={t(kind === 'timeDuration' ? 'wf.timerDuration' : 'wf.timerDate')} hint={t(kind === 'timeDuration' ? 'wf.durationHint' : 'wf.dateHint')}
        value={kind === current ? expressionBody(def, kind) : ''} valid={(v) => v === '' || (kind === 'timeDuration' ? isDuration(v) : isDateTime(v))}
        invalid={t(kind === 'timeDuration' ? 'wf.badDuration' : 'wf.badDate')} onValue={(v) => { write(kind, v); }} />
    </>
  );
}

function MessageFields({ services, element, def }: { services: ServiceLocator; element: DiagramElement; def: ModdleElement }) {
  const ref = def.get('messageRef') as ModdleElement | undefined;
  const write = (name: string) => {
    services.get<Modeling>('modeling').updateModdleProperties(element, def, { messageRef: name === '' ? undefined : messageNamed(services, element, name) });
  };
  return (
    <>
      <TextField name="message" label={t('wf.message')} hint={t('wf.messageHint')} list="wf-messages" value={text(ref, 'name')} onValue={write} />
      <datalist id="wf-messages">{KNOWN_MESSAGES.map((m) => <option key={m} value={m} />)}</datalist>
    </>
  );
}

/** The definitions' `bpmn:Message` of that name, made and added to the root elements when there is none. */
function messageNamed(services: ServiceLocator, element: DiagramElement, name: string): ModdleElement {
  let definitions: ModdleElement | undefined = element.businessObject;
  while (definitions !== undefined && definitions.$type !== 'bpmn:Definitions') definitions = definitions.$parent;
  const roots = (definitions?.get('rootElements') ?? []) as ModdleElement[];
  const found = roots.find((r) => r.$type === 'bpmn:Message' && text(r, 'name') === name);
  if (found !== undefined) return found;
  const id = `message-${name.replace(/[^\w.-]/g, '_')}`;
  const message = services.get<BpmnFactory>('bpmnFactory').create('bpmn:Message', { id: roots.some((r) => r.id === id) ? undefined : id, name });
  // A root element is not a shape: bpmn-js has no command for it, and saving writes it out with the definitions.
  (message as { $parent?: ModdleElement }).$parent = definitions;
  roots.push(message);
  return message;
}

function FlowFields({ services, element, gateway }: { services: ServiceLocator; element: DiagramElement; gateway: DiagramElement }) {
  const modeling = services.get<Modeling>('modeling');
  const isDefault = gateway.businessObject.get('default') === element.businessObject;
  const condition = element.businessObject.get('conditionExpression') as ModdleElement | undefined;
  const setCondition = (body: string) => {
    const language = text(condition, 'language');
    const expression = body === '' ? undefined : services.get<BpmnFactory>('bpmnFactory').create('bpmn:FormalExpression', { body, ...(language === '' ? {} : { language }) });
    modeling.updateProperties(element, { conditionExpression: expression });
  };
  return (
    <>
      <label class="wf-check">
        <input type="checkbox" name="defaultFlow" data-testid="wf-default-flow" checked={isDefault} onChange={(e) => {
          // A default flow has no condition (BPMN 2.0 §10.5.1): it is taken when no other is.
          if (e.currentTarget.checked) modeling.updateProperties(element, { conditionExpression: undefined });
          modeling.updateProperties(gateway, { default: e.currentTarget.checked ? element.businessObject : undefined });
        }} /> {t('wf.defaultFlow')}
      </label>
      {!isDefault && <TextField name="condition" label={t('wf.condition')} hint={t('wf.conditionHint')} value={text(condition, 'body')} onValue={setCondition} />}
    </>
  );
}

interface TextFieldProps {
  name: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  list?: string;
  valid?: (value: string) => boolean;
  invalid?: string;
}

/** A text input that writes each valid value as it is typed, and says why it holds back an invalid one. */
function TextField({ name, label, value, onValue, hint, list, valid, invalid }: TextFieldProps) {
  const [draft, setDraft] = useState(value);
  const ok = valid === undefined || valid(draft);
  return (
    <label>{label}
      <input name={name} data-testid={`wf-field-${name}`} value={draft} list={list} aria-invalid={!ok} onInput={(e) => {
        const v = e.currentTarget.value;
        setDraft(v);
        if (valid === undefined || valid(v)) onValue(v);
      }} />
      {!ok && <small class="error">{invalid}</small>}
      {hint !== undefined && ok && <small>{hint}</small>}
    </label>
  );
}
