/** Validation of `simulators.scenarios`: every problem named by its key path. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function issuesOf(scenariosYaml: string): { path: string; message: string }[] {
  try {
    parseConfig(`simulators:\n  scenarios:\n${scenariosYaml}`, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => ({ path: i.path, message: i.message }));
    throw e;
  }
  return [];
}

describe('simulators.scenarios validation', () => {
  it('accepts a well-formed scenario of each kind, filling the timing defaults', () => {
    const config = parseConfig(`simulators:
  scenarios:
    - { kind: overload, meters: [m1], factor: 2.5, startAfterMs: 1000, durationMs: 5000, repeatEveryMs: 60000 }
    - { kind: voltage-sag, meters: [m1], percentOfNominal: 80 }
    - { kind: voltage-loss, terminals: [t1], phase: l2 }
    - { kind: outage, terminals: [t1], durationMs: 1000 }
    - { kind: reverse-power, meters: [m1] }
    - { kind: register-stuck, meters: [m1] }
    - { kind: clock-drift, meters: [m1], driftSeconds: -90 }
    - { kind: firmware-drop, meters: [m1], atBlock: 12 }
`, 'ok.yaml');
    expect(config.simulators.scenarios).toHaveLength(8);
    expect(config.simulators.scenarios[1]).toMatchObject({ startAfterMs: 0, durationMs: 0 });
  });

  it('names a missing parameter, a parameter the kind does not take, and an unknown key', () => {
    expect(issuesOf(`    - { kind: overload, meters: [m1] }
    - { kind: register-stuck, meters: [m1], percentOfNominal: 80 }
    - { kind: outage, terminals: [t1], factr: 2 }
`)).toEqual([
      { path: 'simulators.scenarios[2].factr', message: 'unknown key' },
    ]);
    expect(issuesOf(`    - { kind: overload, meters: [m1] }
    - { kind: register-stuck, meters: [m1], percentOfNominal: 80 }
    - { kind: firmware-drop, meters: [m1] }
    - { kind: tamper, meters: [m1], atBlock: 3 }
`)).toEqual([
      { path: 'simulators.scenarios[0].factor', message: 'required for kind overload' },
      { path: 'simulators.scenarios[1].percentOfNominal', message: 'not used by kind register-stuck' },
      { path: 'simulators.scenarios[2].atBlock', message: 'required for kind firmware-drop' },
      { path: 'simulators.scenarios[3].atBlock', message: 'not used by kind tamper' },
    ]);
  });

  it('rejects an unknown kind and out-of-range values at their paths', () => {
    const issues = issuesOf(`    - { kind: brownout, meters: [m1] }
    - { kind: voltage-sag, meters: [m1], percentOfNominal: 120 }
    - { kind: overload, meters: [m1], factor: 2, startAfterMs: -1 }
`);
    expect(issues.map((i) => i.path)).toEqual(['simulators.scenarios[0].kind', 'simulators.scenarios[1].percentOfNominal', 'simulators.scenarios[2].startAfterMs']);
  });

  it('requires targets, terminals for an outage, and a repeat longer than the window', () => {
    expect(issuesOf(`    - { kind: register-stuck }
    - { kind: outage, meters: [m1] }
    - { kind: overload, meters: [m1], factor: 2, durationMs: 60000, repeatEveryMs: 60000 }
    - { kind: overload, meters: [m1], factor: 2, repeatEveryMs: 60000 }
    - { kind: clock-drift, meters: [m1], driftSeconds: 0 }
`)).toEqual([
      { path: 'simulators.scenarios[0].meters', message: 'give meters or terminals for kind register-stuck' },
      { path: 'simulators.scenarios[1].meters', message: 'an outage takes terminals, not meters' },
      { path: 'simulators.scenarios[1].terminals', message: 'required for kind outage' },
      { path: 'simulators.scenarios[2].repeatEveryMs', message: 'must exceed durationMs (60000)' },
      { path: 'simulators.scenarios[3].repeatEveryMs', message: 'a scenario lasting until stop (durationMs 0) cannot repeat' },
      { path: 'simulators.scenarios[4].driftSeconds', message: 'must not be 0' },
    ]);
  });
});
