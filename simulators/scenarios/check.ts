/**
 * Per-kind checks of the simulated scenarios (`simulators.scenarios`): the schema gives every
 * parameter as optional, so a kind's required parameters, the ones it does not take, and the
 * timing rules are checked here, each issue naming its key path.
 */
import type { ConfigIssue } from '../../protocols/config.js';
import type { ScenarioConfig, ScenarioKind } from '../config.js';

type Param = 'factor' | 'phase' | 'percentOfNominal' | 'driftSeconds' | 'atBlock';

/** The parameters each kind requires and the ones it accepts without requiring. */
const PARAMS: Readonly<Record<ScenarioKind, { readonly required: readonly Param[]; readonly optional: readonly Param[] }>> = {
  'overload': { required: ['factor'], optional: [] },
  'voltage-sag': { required: ['percentOfNominal'], optional: ['phase'] },
  'voltage-loss': { required: ['phase'], optional: [] },
  'outage': { required: [], optional: [] },
  'reverse-power': { required: [], optional: ['factor'] },
  'register-stuck': { required: [], optional: [] },
  'clock-drift': { required: ['driftSeconds'], optional: [] },
  'tamper': { required: [], optional: [] },
  'firmware-drop': { required: ['atBlock'], optional: [] },
};

const ALL_PARAMS: readonly Param[] = ['factor', 'phase', 'percentOfNominal', 'driftSeconds', 'atBlock'];

/** Every issue of every scenario, in order; empty when all are well formed. */
export function checkScenarios(scenarios: readonly ScenarioConfig[], base = 'simulators.scenarios'): ConfigIssue[] {
  return scenarios.flatMap((s, i) => checkScenario(s, `${base}[${i}]`));
}

function checkScenario(s: ScenarioConfig, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { required, optional } = PARAMS[s.kind];
  for (const p of ALL_PARAMS) {
    const given = s[p] !== undefined;
    if (!given && required.includes(p)) issues.push({ path: `${at}.${p}`, message: `required for kind ${s.kind}` });
    if (given && !required.includes(p) && !optional.includes(p)) issues.push({ path: `${at}.${p}`, message: `not used by kind ${s.kind}` });
  }
  if (s.kind === 'outage') {
    if (s.meters !== undefined) issues.push({ path: `${at}.meters`, message: 'an outage takes terminals, not meters' });
    if (s.terminals === undefined) issues.push({ path: `${at}.terminals`, message: 'required for kind outage' });
  } else if (s.meters === undefined && s.terminals === undefined) {
    issues.push({ path: `${at}.meters`, message: `give meters or terminals for kind ${s.kind}` });
  }
  if (s.kind === 'clock-drift' && s.driftSeconds === 0) issues.push({ path: `${at}.driftSeconds`, message: 'must not be 0' });
  if (s.repeatEveryMs !== undefined) {
    if (s.durationMs === 0) issues.push({ path: `${at}.repeatEveryMs`, message: 'a scenario lasting until stop (durationMs 0) cannot repeat' });
    else if (s.repeatEveryMs <= s.durationMs) issues.push({ path: `${at}.repeatEveryMs`, message: `must exceed durationMs (${s.durationMs})` });
  }
  return issues;
}
