/**
 * The BPMN modeler (bpmn-js) with the station's `gh:` extension, the palette limited to what
 * the engine runs, the side panel, and the toolbar: import and export a .bpmn file, check
 * against the deploy-time rules, deploy (admin). Loaded on demand by the workflows page, with
 * bpmn-js and its style sheets, so no other page downloads them.
 */
import Modeler from 'bpmn-js/lib/Modeler';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
// The font as files, not the embedded variant: the station's CSP allows fonts from its own origin only.
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import './bpmn.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { gridheadModdle } from '../../workflows/moddle.js';
import { api, ApiError, errorText } from '../api.js';
import { lang, t } from '../i18n.js';
import { type Canvas, type DiagramElement, type ElementRegistry, type EventBus, type Selection, type ServiceLocator, fitDiagram } from './bpmnServices.js';
import { newProcessXml } from './ghAttributes.js';
import { PropertiesPanel } from './PropertiesPanel.js';
import type { Catalogue, CheckResult, DefinitionInvalid, DefinitionProblem, DefinitionSummary } from './replies.js';
import { gridheadRestrictions } from './restrictions.js';
import { translateModule } from './translate.js';

const PROBLEM_MARKER = 'gh-problem';

type Outcome =
  | { kind: 'none' }
  | { kind: 'checked'; problems: readonly DefinitionProblem[] }
  | { kind: 'deployed'; summary: DefinitionSummary }
  | { kind: 'refused'; problems: readonly DefinitionProblem[] }
  | { kind: 'error'; text: string };

export function ModelerView({ xml, canDeploy, catalogue }: { xml: string | undefined; canDeploy: boolean; catalogue: Catalogue | undefined }) {
  const container = useRef<HTMLDivElement>(null);
  const [modeler, setModeler] = useState<Modeler | undefined>();
  const [selected, setSelected] = useState<DiagramElement | undefined>();
  const [, setRevision] = useState(0);
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'none' });
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (container.current === null) return undefined;
    const m = new Modeler({ container: container.current, moddleExtensions: { gh: gridheadModdle }, additionalModules: [gridheadRestrictions, translateModule(lang())] });
    const services: ServiceLocator = m;
    const bus = services.get<EventBus>('eventBus');
    bus.on('selection.changed', (e) => { setSelected(e.newSelection?.length === 1 ? e.newSelection[0] : undefined); });
    const redraw = () => { setRevision((n) => n + 1); };
    bus.on('elements.changed', redraw);
    bus.on('import.done', redraw);
    setModeler(m);
    void open(m, xml ?? newProcessXml('new-process', t('wf.newProcessName'))).catch((err: unknown) => { setOutcome({ kind: 'error', text: errorText(err) }); });
    return () => { m.destroy(); };
  }, [xml]);

  const services: ServiceLocator | undefined = modeler;
  const saved = async () => {
    if (modeler === undefined) throw new Error('modeler not ready');
    const { xml: text } = await modeler.saveXML({ format: true });
    if (text === undefined) throw new Error('nothing to save');
    return text;
  };
  const run = (what: () => Promise<void>) => {
    setBusy(true);
    what().catch((err: unknown) => { setOutcome({ kind: 'error', text: errorText(err) }); }).finally(() => { setBusy(false); });
  };
  const mark = (problems: readonly DefinitionProblem[]) => {
    if (services === undefined) return;
    const canvas = services.get<Canvas>('canvas');
    for (const el of services.get<ElementRegistry>('elementRegistry').getAll()) canvas.removeMarker(el, PROBLEM_MARKER);
    for (const p of problems) if (p.elementId !== null && services.get<ElementRegistry>('elementRegistry').get(p.elementId) !== undefined) canvas.addMarker(p.elementId, PROBLEM_MARKER);
  };
  const check = () => { run(async () => {
    const result = await api<CheckResult>('/workflows/check', { method: 'POST', body: { xml: await saved() } });
    mark(result.problems);
    setOutcome({ kind: 'checked', problems: result.problems });
  }); };
  const deploy = () => { run(async () => {
    try {
      const summary = await api<DefinitionSummary>('/workflows/definitions', { method: 'POST', body: { xml: await saved() } });
      mark([]);
      setOutcome({ kind: 'deployed', summary });
    } catch (err) {
      const problems = err instanceof ApiError && err.status === 400 ? (err.body as Partial<DefinitionInvalid> | null)?.problems : undefined;
      if (problems === undefined) throw err;
      mark(problems);
      setOutcome({ kind: 'refused', problems });
    }
  }); };
  const exportFile = () => { run(async () => {
    const text = await saved();
    const key = services?.get<Canvas>('canvas').getRootElement().businessObject?.id ?? 'process';
    download(`${key}.bpmn`, text);
  }); };
  const importFile = (file: File | undefined) => {
    if (file === undefined || modeler === undefined) return;
    run(async () => { await open(modeler, await file.text()); setOutcome({ kind: 'none' }); });
  };
  const focus = (elementId: string | null) => {
    if (elementId === null || services === undefined) return;
    const el = services.get<ElementRegistry>('elementRegistry').get(elementId);
    if (el === undefined) return;
    services.get<Selection>('selection').select(el);
    services.get<Canvas>('canvas').scrollToElement(el);
  };

  // Nothing selected: the process itself (its key and name); before a diagram is open the root is bpmn-js's implicit one, without a business object.
  const root = services?.get<Canvas>('canvas').getRootElement();
  const shown = selected ?? (root?.businessObject === undefined ? undefined : root);
  return (
    <div class="wf-editor">
      <div class="buttons wf-toolbar">
        <label class="button" data-testid="wf-import">{t('wf.import')}
          <input type="file" accept=".bpmn,.xml,application/xml" hidden onChange={(e) => { importFile(e.currentTarget.files?.[0]); e.currentTarget.value = ''; }} />
        </label>
        <button type="button" data-testid="wf-export" disabled={busy || modeler === undefined} onClick={exportFile}>{t('wf.export')}</button>
        <button type="button" data-testid="wf-check" disabled={busy || modeler === undefined} onClick={check}>{t('wf.check')}</button>
        {canDeploy && <button type="button" data-testid="wf-deploy" disabled={busy || modeler === undefined} onClick={deploy}>{t('wf.deploy')}</button>}
        {!canDeploy && <small class="muted">{t('wf.deployAdminOnly')}</small>}
        <OutcomeLine outcome={outcome} onProblem={focus} />
      </div>
      <div class="wf-modeler">
        <div class="wf-canvas" ref={container} data-testid="wf-canvas" />
        {services !== undefined && shown !== undefined
          ? <PropertiesPanel key={shown.businessObject.$type === 'bpmn:Process' ? 'process' : shown.id} services={services} element={shown} catalogue={catalogue} />
          : <aside class="wf-panel" />}
      </div>
    </div>
  );
}

function OutcomeLine({ outcome, onProblem }: { outcome: Outcome; onProblem: (elementId: string | null) => void }) {
  switch (outcome.kind) {
    case 'none': return null;
    case 'error': return <p class="error" data-testid="wf-outcome" data-outcome="error">{outcome.text}</p>;
    case 'deployed': return <p data-testid="wf-outcome" data-outcome="deployed" data-version={outcome.summary.version}>{t('wf.deployed', { key: outcome.summary.key, version: outcome.summary.version })}</p>;
    case 'checked':
    case 'refused': {
      // Errors refuse a deployment; warnings (a missing label, say) are shown and do not.
      const errors = outcome.problems.filter((p) => p.severity === 'error').length;
      const warnings = outcome.problems.length - errors;
      const summary = outcome.problems.length === 0 ? t('wf.checkOk')
        : errors === 0 ? t('wf.warningsOnly', { n: warnings })
          : t(outcome.kind === 'refused' ? 'wf.refused' : 'wf.problems', { n: errors });
      return (
        <div data-testid="wf-outcome" data-outcome={outcome.kind} data-problems={outcome.problems.length} data-errors={errors}>
          <p class={errors === 0 ? '' : 'error'}>{summary}</p>
          {outcome.problems.length > 0 && (
            <ul class="wf-problems">
              {outcome.problems.map((p, i) => (
                <li key={i} data-element={p.elementId ?? ''} data-rule={p.rule} class={p.severity}>
                  <button type="button" class="link" onClick={() => { onProblem(p.elementId); }}>{p.elementId ?? t('wf.document')}</button> {p.rule}: {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      );
    }
  }
}

async function open(modeler: Modeler, xml: string): Promise<void> {
  await modeler.importXML(xml);
  fitDiagram(modeler);
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/xml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}
