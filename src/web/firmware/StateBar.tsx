/**
 * A campaign's devices by state as one stacked bar, each state a segment as wide as its share,
 * with the counts beside it in words (the legend) on the campaign's own page.
 */
import { label, t } from '../i18n.js';
import { DEVICE_STATES } from '../../firmware/model.js';
import type { CampaignCounts } from '../types.js';

/** Devices that have reached an end: done, failed, or skipped as already on the target. */
export function finished(counts: CampaignCounts): number {
  return counts.done + counts.failed + counts.skipped;
}

export function StateBar({ counts, legend = false }: { counts: CampaignCounts; legend?: boolean }) {
  const total = Math.max(counts.total, 1);
  const present = DEVICE_STATES.filter((s) => counts[s] > 0);
  return (
    <div class="fw-progress" data-testid="fw-bar" data-total={counts.total} data-finished={finished(counts)}>
      <div class="fw-bar" role="img" aria-label={t('fw.doneOf', { done: finished(counts), total: counts.total })}>
        {present.map((s) => (
          <span key={s} class={`fw-seg fw-${s}`} style={{ width: `${(counts[s] / total) * 100}%` }} data-state={s} data-count={counts[s]}
            title={`${label('fwDevice', s)}: ${counts[s]}`} />
        ))}
      </div>
      {legend ? (
        <ul class="fw-legend">
          {DEVICE_STATES.map((s) => (
            <li key={s} data-state={s} data-count={counts[s]}><span class={`fw-swatch fw-${s}`} />{label('fwDevice', s)} <strong>{counts[s]}</strong></li>
          ))}
        </ul>
      ) : <small>{t('fw.doneOf', { done: finished(counts), total: counts.total })}</small>}
    </div>
  );
}
