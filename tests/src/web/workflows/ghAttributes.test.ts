import { describe, expect, it } from 'vitest';
import { GRIDHEAD_BPMN_NAMESPACE } from '../../../../src/workflows/moddle.js';
import { formatParams, isDateTime, isDuration, isProcessKey, newProcessXml, parseParams, setParam } from '../../../../src/web/workflows/ghAttributes.js';

describe('the gh: attributes the modeler panel writes', () => {
  it('reads and writes gh:params as name=value pairs, keeping ${variables} and order', () => {
    const params = parseParams('meterId=${meterId}; quantity=energy-import;flag');
    expect(params).toEqual([{ name: 'meterId', value: '${meterId}' }, { name: 'quantity', value: 'energy-import' }, { name: 'flag', value: '' }]);
    expect(formatParams(setParam(params, 'quantity', 'power'))).toBe('meterId=${meterId};quantity=power;flag=');
    expect(formatParams(setParam(setParam([], 'meterId', 'm-1'), 'meterId', ''))).toBeUndefined();
    expect(parseParams(undefined)).toEqual([]);
  });

  it('accepts ISO 8601 durations and offset date-times, or a variable, and nothing else', () => {
    expect(['PT4H', 'P3D', 'P1DT12H', 'PT0.5S', 'P2W', '${environment.variables.commLossWait}'].map(isDuration)).toEqual([true, true, true, true, true, true]);
    expect(['4h', 'P', 'PT', 'P1H', '', 'PT4H ', '2025-01-01'].map(isDuration)).toEqual([false, false, false, false, false, false, false]);
    expect(['2025-06-01T08:00:00+08:00', '2025-06-01T00:00Z'].map(isDateTime)).toEqual([true, true]);
    expect(['2025-06-01T08:00:00', '2025-13-01T08:00:00Z', 'tomorrow'].map(isDateTime)).toEqual([false, false, false]);
  });

  it('starts a new process from a template: one drawn start event in an executable process of that key, names escaped', () => {
    const xml = newProcessXml('fault-visit', 'Fault <visit> & "repair"');
    expect(xml).toContain(`xmlns:gh="${GRIDHEAD_BPMN_NAMESPACE}"`);
    expect(xml).toContain('<bpmn:process id="fault-visit" name="Fault &#60;visit&#62; &#38; &#34;repair&#34;" isExecutable="true">');
    expect(xml).toContain('<bpmndi:BPMNPlane id="plane" bpmnElement="fault-visit">');
    expect(xml.match(/<bpmn:startEvent id="start" \/>/g)).toHaveLength(1);
    expect(['fault-visit', 'a.b_c', '9lives', 'has space', ''].map(isProcessKey)).toEqual([true, true, false, false, false]);
  });
});
