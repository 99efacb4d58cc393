/**
 * Workflows: the deployed process definitions (latest version of each), and the modeler to
 * open one, start a new one or import a .bpmn file, check and deploy it. The modeler and
 * bpmn-js load only when a definition is opened.
 */
import { api, errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { t } from '../i18n.js';
import { administers } from '../roles.js';
import type { Role } from '../types.js';
import type { Catalogue, DefinitionList, ProcessDefinition } from '../workflows/replies.js';

export function Workflows({ role }: { role: Role }) {
  const [list] = useLoad(() => api<DefinitionList>('/workflows/definitions'), []);
  return (
    <div class="grid">
      <section class="card wide">
        <h2>{t('wf.title')}
          <span class="tabs">
            <a href="#/workflows/new" data-testid="wf-new">{t('wf.new')}</a>
            <a href="#/workflows/instances">{t('wf.instances')}</a>
          </span>
        </h2>
        {list.status !== 'ok' ? <p>{list.status === 'error' ? errorText(list.error) : t('common.loading')}</p> : list.value.items.length === 0 ? <p class="muted">{t('wf.none')}</p> : (
          <table data-table="definitions">
            <thead><tr>
              <th>{t('wf.key')}</th><th>{t('wf.name')}</th><th class="num">{t('wf.version')}</th><th>{t('wf.deployedBy')}</th><th>{t('wf.deployedAt')}</th><th>{t('wf.shipped')}</th><th />
            </tr></thead>
            <tbody>{list.value.items.map((d) => (
              <tr key={d.key} data-definition={d.key} data-version={d.version}>
                <td><a href={`#/workflows/edit/${encodeURIComponent(d.key)}`}>{d.key}</a></td>
                <td>{d.name}</td>
                <td class="num" title={t('wf.versions', { n: d.versions })}>{d.version}</td>
                <td>{d.deployedBy}</td>
                <td class="time">{fmtTime(d.deployedAt)}</td>
                <td>{d.shipped ? t('wf.yes') : t('wf.no')}</td>
                <td><a href={`#/workflows/instances?process=${encodeURIComponent(d.key)}`}>{t('wf.instances')}</a></td>
              </tr>
            ))}</tbody>
          </table>
        )}
        {!administers(role) && <p class="muted">{t('wf.deployAdminOnly')}</p>}
      </section>
    </div>
  );
}

/** `#/workflows/edit/<key>` (the latest version of a deployed definition) or `#/workflows/new`. */
export function WorkflowEditor({ definitionKey, role }: { definitionKey: string | undefined; role: Role }) {
  const [modeler] = useLoad(() => import('../workflows/ModelerView.js'), []);
  const [definition] = useLoad(async () => (definitionKey === undefined ? undefined : api<ProcessDefinition>(`/workflows/definitions/${encodeURIComponent(definitionKey)}`)), [definitionKey]);
  // The catalogue fills the side panel's choices; the modeler still draws without it.
  const [catalogue] = useLoad(() => api<Catalogue>('/workflows/catalogue'), []);
  const failed = [modeler, definition].find((l) => l.status === 'error');
  if (failed?.status === 'error') return <p class="error">{errorText(failed.error)}</p>;
  if (modeler.status !== 'ok' || definition.status !== 'ok') return <p>{t('common.loading')}</p>;
  const { ModelerView } = modeler.value;
  const d = definition.value;
  return (
    <section class="card wide" data-testid="wf-editor" data-definition={d?.key ?? ''}>
      <h2><a href="#/workflows">{t('wf.title')}</a> / {d === undefined ? t('wf.new') : `${d.name} (${d.key} v${d.version})`}</h2>
      {catalogue.status === 'error' && <p class="error">{t('wf.noCatalogue')}: {errorText(catalogue.error)}</p>}
      <ModelerView xml={d?.xml} canDeploy={administers(role)} catalogue={catalogue.status === 'ok' ? catalogue.value : undefined} />
    </section>
  );
}
