/** The area tree (region → substation → feeder → transformer area), each node coloured by its state. */
import { fmtExplanation, fmtNumber } from '../format.js';
import { label, t } from '../i18n.js';
import type { AreaLive } from '../types.js';

export interface AreaTreeProps {
  readonly areas: readonly AreaLive[];
  readonly selected: string | undefined;
  readonly onSelect: (id: string) => void;
}

export function AreaTree({ areas, selected, onSelect }: AreaTreeProps) {
  const children = new Map<string | null, AreaLive[]>();
  const ids = new Set(areas.map((a) => a.id));
  for (const a of areas) {
    // An area whose parent is unknown is shown as a root rather than lost.
    const parent = a.parentId !== null && ids.has(a.parentId) ? a.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), a]);
  }
  const branch = (parent: string | null, depth: number) => {
    const list = children.get(parent);
    // Bounded depth: a cycle in bad data must not recurse forever.
    if (list === undefined || depth > 12) return null;
    return (
      <ul class="tree">
        {list.map((a) => (
          <li key={a.id}>
            <button type="button" class={`area state-${a.state}${a.id === selected ? ' selected' : ''}`} data-area={a.id} data-state={a.state} onClick={() => { onSelect(a.id); }}>
              <span class="area-name">{a.name} <small>{label('areaKind', a.kind)}</small></span>
              <span class={`area-load${a.loadKw !== null && a.limitKw !== null && a.loadKw > a.limitKw ? ' over' : ''}`}>{fmtNumber(a.loadKw)}{a.limitKw !== null && <small> / {fmtNumber(a.limitKw, 0)}</small>} kW</span>
              <span class="area-meta">{t('area.meters', { n: a.metersReporting, m: a.meters })}{a.openAlarms > 0 && <> · {t('area.alarms', { n: a.openAlarms })}</>}</span>
              {a.abnormal !== null && <span class="area-abnormal" data-abnormal-rule={a.abnormal.ruleId}>{t('area.abnormal')}: {fmtExplanation(a.abnormal.explanationData, a.abnormal.explanation)} ({a.abnormal.ruleId})</span>}
            </button>
            {branch(a.id, depth + 1)}
          </li>
        ))}
      </ul>
    );
  };
  return branch(null, 0);
}
