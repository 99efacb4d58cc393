/**
 * The deploy-time check: a good definition passes (with bpmnlint's warnings only), and each
 * bad one is refused with the element at fault and the rule that found it.
 */
import { describe, expect, it } from 'vitest';
import { checkDefinition } from '../../../../src/workflows/definitions/check.js';
import { CATALOGUE, processXml, type ProcessParts } from './bpmnFixtures.js';

async function errors(parts: ProcessParts | string) {
  const r = await checkDefinition(typeof parts === 'string' ? parts : processXml(parts), CATALOGUE);
  return r.problems.filter((p) => p.severity === 'error').map((p) => ({ elementId: p.elementId, rule: p.rule }));
}

describe('checkDefinition', () => {
  it('passes a good definition, naming its process, with only warnings (no diagram)', async () => {
    const r = await checkDefinition(processXml(), CATALOGUE);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r).toMatchObject({ ok: true, process: { key: 'field-check', name: 'Field check' } });
    expect(r.problems.some((p) => p.rule === 'no-bpmndi' && p.severity === 'warning')).toBe(true);
  });

  it('refuses a service task naming an unknown action, with its id', async () => {
    expect(await errors({ action: 'launch-rocket' })).toEqual([{ elementId: 'read', rule: 'gridhead/unknown-action' }]);
  });

  it('refuses service task parameters that are not name=value pairs', async () => {
    expect(await errors({ params: 'meterId=${meterId};oops' })).toEqual([{ elementId: 'read', rule: 'gridhead/bad-params' }]);
    expect(await errors({ params: '=x' })).toEqual([{ elementId: 'read', rule: 'gridhead/bad-params' }]);
    expect(await errors({ params: 'meterId=${meterId}; note=; ' })).toEqual([]);
  });

  it('refuses a user task for an unknown role, and one of an unknown work order type', async () => {
    expect(await errors({ role: 'janitor' })).toEqual([{ elementId: 'check', rule: 'gridhead/unknown-role' }]);
    expect(await errors({ workOrderType: 'haircut' })).toEqual([{ elementId: 'check', rule: 'gridhead/unknown-work-order-type' }]);
  });

  it('refuses an exclusive gateway with several outgoing flows and no default, with its id', async () => {
    const found = await errors({ gateway: '' });
    expect(found).toContainEqual({ elementId: 'decide', rule: 'gridhead/gateway-without-default' });
    // bpmnlint finds the unconditioned flow of the same gateway.
    expect(found).toContainEqual({ elementId: 'toRead', rule: 'conditional-flows' });
  });

  it('refuses malformed XML as one problem of the whole document, with the line and column', async () => {
    const broken = processXml().replace('</bpmn:userTask>', '');
    const r = await checkDefinition(broken, CATALOGUE);
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ elementId: null, rule: 'xml', severity: 'error' });
    expect(r.problems[0]?.message).toMatch(/at line \d+, column \d+: closing tag mismatch/);
    expect(await errors('this is not XML')).toEqual([{ elementId: null, rule: 'xml' }]);
    expect(await errors('<svg xmlns="http://www.w3.org/2000/svg"/>')).toEqual([{ elementId: null, rule: 'xml' }]);
  });

  it('refuses an element the engine does not run here (a script task, a signal event), with its id', async () => {
    const script = '<bpmn:scriptTask id="script" scriptFormat="js"><bpmn:script>1</bpmn:script></bpmn:scriptTask>';
    expect(await errors({ extra: script })).toContainEqual({ elementId: 'script', rule: 'gridhead/unsupported-element' });
    const signal = '<bpmn:intermediateCatchEvent id="signalled"><bpmn:signalEventDefinition id="sig" /></bpmn:intermediateCatchEvent>';
    expect(await errors({ extra: signal })).toContainEqual({ elementId: 'signalled', rule: 'gridhead/unsupported-element' });
  });

  it('refuses a due time or a timer that is not ISO 8601, and takes expressions', async () => {
    expect(await errors({ due: '4 hours' })).toEqual([{ elementId: 'check', rule: 'gridhead/bad-duration' }]);
    expect(await errors({ timer: 'P1X' })).toEqual([{ elementId: 'wait', rule: 'gridhead/bad-duration' }]);
    expect(await errors({ due: '${environment.variables.checkWithin}', timer: '${environment.variables.commLossWait}' })).toEqual([]);
    expect(await errors({ due: 'P1DT12H', timer: 'PT0.5S' })).toEqual([]);
  });

  it('refuses a process id that cannot be a key, and a file without exactly one executable process', async () => {
    const long = 'x'.repeat(65);
    expect(await errors({ id: long })).toEqual([{ elementId: long, rule: 'gridhead/process-key' }]);
    // Not even an XML id: the parser refuses it first.
    expect(await errors({ id: 'has space' })).toContainEqual({ elementId: null, rule: 'xml' });
    const none = processXml().replace('isExecutable="true"', 'isExecutable="false"');
    expect(await errors(none)).toContainEqual({ elementId: null, rule: 'gridhead/one-process' });
  });

  it('refuses a flow to an element that does not exist, naming the flow', async () => {
    expect(await errors(processXml().replace('targetRef="end" />', 'targetRef="nowhere" />'))).toContainEqual({ elementId: 'readToEnd', rule: 'xml' });
  });

  it('keeps bpmnlint findings that only hurt reading as warnings: a missing label does not refuse', async () => {
    const r = await checkDefinition(processXml().replace(' name="Read the meter"', ''), CATALOGUE);
    expect(r.ok).toBe(true);
    expect(r.problems).toContainEqual(expect.objectContaining({ elementId: 'read', rule: 'label-required', severity: 'warning' }));
  });

  it('refuses a disconnected element as an error', async () => {
    const lonely = '<bpmn:serviceTask id="lonely" name="Lonely" gh:action="notify" />';
    expect(await errors({ extra: lonely })).toContainEqual({ elementId: 'lonely', rule: 'no-disconnected' });
  });
});
