/** BPMN processes of the runtime's tests, drawn as the modeler would write them (with the gh: extension). */

const head = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:gh="https://gridhead.dev/schema/bpmn" id="defs" targetNamespace="https://gridhead.dev/test">`;

/** start → mark (service) → timer (variable `wait`) → repair order (user) → outcome fixed? → done | other. */
export const JOB = `${head}
  <process id="job" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="mark"/>
    <serviceTask id="mark" gh:action="mark" gh:params="meterId=\${meterId};note=checked \${meterId}"/>
    <sequenceFlow id="f2" sourceRef="mark" targetRef="pause"/>
    <intermediateCatchEvent id="pause"><timerEventDefinition><timeDuration>\${environment.variables.wait}</timeDuration></timerEventDefinition></intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="pause" targetRef="repair"/>
    <userTask id="repair" name="Repair the terminal" gh:workOrderType="repair" gh:role="field" gh:due="PT4H"/>
    <sequenceFlow id="f4" sourceRef="repair" targetRef="fixed"/>
    <exclusiveGateway id="fixed" default="f6"/>
    <sequenceFlow id="f5" sourceRef="fixed" targetRef="done">
      <conditionExpression xsi:type="tFormalExpression">\${environment.services.eq(environment.variables.outcome, 'fixed')}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f6" sourceRef="fixed" targetRef="other"/>
    <endEvent id="done"/>
    <endEvent id="other"/>
  </process>
</definitions>`;

/** start → hold (a command waiting on its verification) → end. */
export const HOLD = `${head}
  <process id="hold" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="send"/>
    <serviceTask id="send" gh:action="hold"/>
    <sequenceFlow id="f2" sourceRef="send" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>`;

/** A field check that ends early, its order cancelled, when the alarm clears first. */
export const CHECK = `${head}
  <message id="Message_cleared" name="alarm-cleared"/>
  <process id="check" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="visit"/>
    <userTask id="visit" gh:workOrderType="field-check" gh:role="field"/>
    <boundaryEvent id="cleared" attachedToRef="visit"><messageEventDefinition messageRef="Message_cleared"/></boundaryEvent>
    <sequenceFlow id="f2" sourceRef="visit" targetRef="checked"/>
    <sequenceFlow id="f3" sourceRef="cleared" targetRef="closed"/>
    <endEvent id="checked"/>
    <endEvent id="closed"/>
  </process>
</definitions>`;

/** An arrears notice that ends when the account pays. */
export const PAY = `${head}
  <message id="Message_payment" name="payment"/>
  <process id="pay" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="notice"/>
    <userTask id="notice" gh:workOrderType="arrears" gh:role="billing"/>
    <boundaryEvent id="payment" attachedToRef="notice"><messageEventDefinition messageRef="Message_payment"/></boundaryEvent>
    <sequenceFlow id="f2" sourceRef="notice" targetRef="unpaid"/>
    <sequenceFlow id="f3" sourceRef="payment" targetRef="paid"/>
    <endEvent id="unpaid"/>
    <endEvent id="paid"/>
  </process>
</definitions>`;

/** start → fail (an action that throws) → end. */
export const FAILING = `${head}
  <process id="failing" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="refuse"/>
    <serviceTask id="refuse" gh:action="fail" gh:params="meterId=\${meterId}"/>
    <sequenceFlow id="f2" sourceRef="refuse" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>`;
