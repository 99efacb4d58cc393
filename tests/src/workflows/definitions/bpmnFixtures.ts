/**
 * BPMN definitions for the definition tests: a small valid process (start → user task →
 * exclusive gateway → service task or timer → end), written as bpmn-js writes it (incoming and
 * outgoing flows, gh: attributes), whose parts a test replaces to make it bad in one place.
 */

export interface ProcessParts {
  readonly id?: string;
  readonly name?: string;
  readonly action?: string;
  readonly params?: string;
  readonly role?: string;
  readonly workOrderType?: string;
  readonly due?: string;
  readonly timer?: string;
  /** Attributes of the gateway; `default="toRead"` unless replaced. */
  readonly gateway?: string;
  /** Extra flow elements inside the process. */
  readonly extra?: string;
}

export const CATALOGUE = {
  actions: new Set(['read-meter', 'notify', 'work-order-close']),
  roles: ['viewer', 'operator', 'admin', 'billing', 'field'],
  workOrderTypes: new Set(['field-check', 'repair', 'general']),
};

const DEFAULT_PARAMS = 'meterId=${meterId};quantity=energy.active.import';

export function processXml(p: ProcessParts = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:gh="https://gridhead.dev/schema/bpmn" id="defs" targetNamespace="https://gridhead.dev/bpmn">
  <bpmn:process id="${p.id ?? 'field-check'}" name="${p.name ?? 'Field check'}" isExecutable="true">
    <bpmn:startEvent id="start" name="Alarm raised"><bpmn:outgoing>toCheck</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="toCheck" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" name="Check the meter" gh:workOrderType="${p.workOrderType ?? 'field-check'}" gh:role="${p.role ?? 'field'}" gh:due="${p.due ?? 'PT4H'}">
      <bpmn:incoming>toCheck</bpmn:incoming><bpmn:outgoing>toDecide</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="toDecide" sourceRef="check" targetRef="decide" />
    <bpmn:exclusiveGateway id="decide" name="Confirmed?" ${p.gateway ?? 'default="toRead"'}>
      <bpmn:incoming>toDecide</bpmn:incoming><bpmn:outgoing>toRead</bpmn:outgoing><bpmn:outgoing>toWait</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="toRead" name="no" sourceRef="decide" targetRef="read" />
    <bpmn:sequenceFlow id="toWait" name="yes" sourceRef="decide" targetRef="wait">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${environment.variables.outcome === 'confirmed'}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:serviceTask id="read" name="Read the meter" gh:action="${p.action ?? 'read-meter'}" gh:params="${p.params ?? DEFAULT_PARAMS}">
      <bpmn:incoming>toRead</bpmn:incoming><bpmn:outgoing>readToEnd</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="readToEnd" sourceRef="read" targetRef="end" />
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>toWait</bpmn:incoming><bpmn:outgoing>waitToEnd</bpmn:outgoing>
      <bpmn:timerEventDefinition id="waitTimer"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${p.timer ?? 'PT1M'}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="waitToEnd" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" name="Done"><bpmn:incoming>readToEnd</bpmn:incoming><bpmn:incoming>waitToEnd</bpmn:incoming></bpmn:endEvent>${p.extra ?? ''}
  </bpmn:process>
</bpmn:definitions>
`;
}
