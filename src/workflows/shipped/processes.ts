/**
 * The XML of the shipped processes, kept in the code so that every layout the station runs in
 * (the sources, dist/, an installed package, the Docker image, a test's transpiled copy) has
 * them without a file to find. Each is a BPMN 2.0 file with its diagram: export one from the
 * dashboard or `GET /api/v1/workflows/definitions/<key>/bpmn` to edit it in any modeler.
 */
import type { ShippedProcess } from './index.js';

export const SHIPPED_XML: Readonly<Record<ShippedProcess, string>> = {
  'suspected-theft': `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gh="https://gridhead.dev/schema/bpmn" id="suspected-theft-definitions" targetNamespace="https://gridhead.dev/processes">
  <bpmn:process id="suspected-theft" name="Suspected theft" isExecutable="true">
    <bpmn:documentation>An alarm of suspected theft opens a field check; "confirmed" notifies billing, opens a meter replacement and records it for billing; a false alarm comments on and acknowledges the alarm. An overdue check is escalated.</bpmn:documentation>
    <bpmn:startEvent id="start" name="Theft suspected">
      <bpmn:outgoing>toCheck</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="fieldCheck" name="Field check" gh:workOrderType="field-check" gh:role="field" gh:due="PT4H">
      <bpmn:incoming>toCheck</bpmn:incoming>
      <bpmn:outgoing>toResult</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="checkOverdue" name="Check overdue" attachedToRef="fieldCheck" cancelActivity="false">
      <bpmn:outgoing>toEscalate</bpmn:outgoing>
      <bpmn:timerEventDefinition id="checkOverdue-timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="escalateCheck" name="Escalate the check" gh:action="work-order-escalate" gh:params="workOrderId=\${workOrderId};reason=field check overdue">
      <bpmn:incoming>toEscalate</bpmn:incoming>
      <bpmn:outgoing>toNotifyOverdue</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="notifyOverdue" name="Tell dispatch" gh:action="notify" gh:params="message=The field check of meter \${meterId} (alarm \${alarmId}) is overdue;severity=major;target=dispatch">
      <bpmn:incoming>toNotifyOverdue</bpmn:incoming>
      <bpmn:outgoing>toEscalated</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="escalated" name="Escalated">
      <bpmn:incoming>toEscalated</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:exclusiveGateway id="result" name="Result?" default="falseAlarm">
      <bpmn:incoming>toResult</bpmn:incoming>
      <bpmn:outgoing>confirmed</bpmn:outgoing>
      <bpmn:outgoing>falseAlarm</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:serviceTask id="notifyBilling" name="Notify billing" gh:action="notify" gh:params="message=Theft confirmed on meter \${meterId} (alarm \${alarmId}): the meter is being replaced;severity=major;target=billing">
      <bpmn:incoming>confirmed</bpmn:incoming>
      <bpmn:outgoing>toReplace</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="replaceMeter" name="Replace the meter" gh:workOrderType="meter-replacement" gh:role="field" gh:due="P1D">
      <bpmn:incoming>toReplace</bpmn:incoming>
      <bpmn:outgoing>toRecord</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="recordReplacement" name="Record the replacement for billing" gh:action="record-replacement" gh:params="meterId=\${meterId};newMeterId=\${newMeterId};finalRead=\${finalRead};initialRead=\${initialRead};replacedAt=\${replacedAt}">
      <bpmn:incoming>toRecord</bpmn:incoming>
      <bpmn:outgoing>toReplaced</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="replaced" name="Meter replaced">
      <bpmn:incoming>toReplaced</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:serviceTask id="commentFalseAlarm" name="Comment and acknowledge the alarm" gh:action="alarm-comment" gh:params="alarmId=\${alarmId};text=Field check: false alarm, no theft found;acknowledge=true">
      <bpmn:incoming>falseAlarm</bpmn:incoming>
      <bpmn:outgoing>toClosed</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="closedFalseAlarm" name="Closed: false alarm">
      <bpmn:incoming>toClosed</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="toCheck" sourceRef="start" targetRef="fieldCheck" />
    <bpmn:sequenceFlow id="toResult" sourceRef="fieldCheck" targetRef="result" />
    <bpmn:sequenceFlow id="confirmed" sourceRef="result" targetRef="notifyBilling" name="confirmed">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${environment.services.eq(environment.variables.outcome,"confirmed")}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="falseAlarm" sourceRef="result" targetRef="commentFalseAlarm" name="false alarm" />
    <bpmn:sequenceFlow id="toReplace" sourceRef="notifyBilling" targetRef="replaceMeter" />
    <bpmn:sequenceFlow id="toRecord" sourceRef="replaceMeter" targetRef="recordReplacement" />
    <bpmn:sequenceFlow id="toReplaced" sourceRef="recordReplacement" targetRef="replaced" />
    <bpmn:sequenceFlow id="toClosed" sourceRef="commentFalseAlarm" targetRef="closedFalseAlarm" />
    <bpmn:sequenceFlow id="toEscalate" sourceRef="checkOverdue" targetRef="escalateCheck" />
    <bpmn:sequenceFlow id="toNotifyOverdue" sourceRef="escalateCheck" targetRef="notifyOverdue" />
    <bpmn:sequenceFlow id="toEscalated" sourceRef="notifyOverdue" targetRef="escalated" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="suspected-theft-diagram">
    <bpmndi:BPMNPlane id="suspected-theft-plane" bpmnElement="suspected-theft">
      <bpmndi:BPMNShape id="start-di" bpmnElement="start">
        <dc:Bounds x="162" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="130" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="fieldCheck-di" bpmnElement="fieldCheck">
        <dc:Bounds x="290" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="checkOverdue-di" bpmnElement="checkOverdue">
        <dc:Bounds x="342" y="182" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="310" y="224" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="escalateCheck-di" bpmnElement="escalateCheck">
        <dc:Bounds x="450" y="260" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notifyOverdue-di" bpmnElement="notifyOverdue">
        <dc:Bounds x="610" y="260" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="escalated-di" bpmnElement="escalated">
        <dc:Bounds x="802" y="282" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="770" y="324" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="result-di" bpmnElement="result" isMarkerVisible="true">
        <dc:Bounds x="475" y="135" width="50" height="50" />
        <bpmndi:BPMNLabel><dc:Bounds x="450" y="191" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notifyBilling-di" bpmnElement="notifyBilling">
        <dc:Bounds x="610" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="replaceMeter-di" bpmnElement="replaceMeter">
        <dc:Bounds x="770" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="recordReplacement-di" bpmnElement="recordReplacement">
        <dc:Bounds x="930" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="replaced-di" bpmnElement="replaced">
        <dc:Bounds x="1122" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="1090" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="commentFalseAlarm-di" bpmnElement="commentFalseAlarm">
        <dc:Bounds x="610" y="-20" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="closedFalseAlarm-di" bpmnElement="closedFalseAlarm">
        <dc:Bounds x="802" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="770" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="toCheck-di" bpmnElement="toCheck">
        <di:waypoint x="198" y="160" />
        <di:waypoint x="290" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toResult-di" bpmnElement="toResult">
        <di:waypoint x="390" y="160" />
        <di:waypoint x="475" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="confirmed-di" bpmnElement="confirmed">
        <di:waypoint x="525" y="160" />
        <di:waypoint x="610" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="falseAlarm-di" bpmnElement="falseAlarm">
        <di:waypoint x="500" y="135" />
        <di:waypoint x="500" y="20" />
        <di:waypoint x="610" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toReplace-di" bpmnElement="toReplace">
        <di:waypoint x="710" y="160" />
        <di:waypoint x="770" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRecord-di" bpmnElement="toRecord">
        <di:waypoint x="870" y="160" />
        <di:waypoint x="930" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toReplaced-di" bpmnElement="toReplaced">
        <di:waypoint x="1030" y="160" />
        <di:waypoint x="1122" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toClosed-di" bpmnElement="toClosed">
        <di:waypoint x="710" y="20" />
        <di:waypoint x="802" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toEscalate-di" bpmnElement="toEscalate">
        <di:waypoint x="360" y="218" />
        <di:waypoint x="360" y="300" />
        <di:waypoint x="450" y="300" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toNotifyOverdue-di" bpmnElement="toNotifyOverdue">
        <di:waypoint x="550" y="300" />
        <di:waypoint x="610" y="300" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toEscalated-di" bpmnElement="toEscalated">
        <di:waypoint x="710" y="300" />
        <di:waypoint x="802" y="300" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`,
  'communication-loss': `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gh="https://gridhead.dev/schema/bpmn" id="communication-loss-definitions" targetNamespace="https://gridhead.dev/processes">
  <bpmn:message id="alarm-cleared" name="alarm-cleared" />
  <bpmn:process id="communication-loss" name="Communication loss" isExecutable="true">
    <bpmn:documentation>A terminal that stays silent past commLossWait gets a repair order; readings returning (the alarm cleared) end the process, before the order or during it (the order is then cancelled and the alarm commented).</bpmn:documentation>
    <bpmn:startEvent id="start" name="Communication lost">
      <bpmn:outgoing>toWait</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:eventBasedGateway id="wait" name="Silent, or back?">
      <bpmn:incoming>toWait</bpmn:incoming>
      <bpmn:outgoing>toSilent</bpmn:outgoing>
      <bpmn:outgoing>toBack</bpmn:outgoing>
    </bpmn:eventBasedGateway>
    <bpmn:intermediateCatchEvent id="stillSilent" name="Still silent">
      <bpmn:incoming>toSilent</bpmn:incoming>
      <bpmn:outgoing>toRepair</bpmn:outgoing>
      <bpmn:timerEventDefinition id="stillSilent-timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">\${environment.variables.commLossWait}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="backEarly" name="Readings returned">
      <bpmn:incoming>toBack</bpmn:incoming>
      <bpmn:outgoing>toRecovered</bpmn:outgoing>
      <bpmn:messageEventDefinition id="backEarly-message" messageRef="alarm-cleared" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="recovered" name="Recovered">
      <bpmn:incoming>toRecovered</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:userTask id="repair" name="Repair the terminal" gh:workOrderType="repair" gh:role="field" gh:due="P1D">
      <bpmn:incoming>toRepair</bpmn:incoming>
      <bpmn:outgoing>toCommentRepaired</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="backDuringRepair" name="Readings returned" attachedToRef="repair" cancelActivity="true">
      <bpmn:outgoing>toCommentAuto</bpmn:outgoing>
      <bpmn:messageEventDefinition id="backDuringRepair-message" messageRef="alarm-cleared" />
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="commentAuto" name="Comment on the alarm" gh:action="alarm-comment" gh:params="alarmId=\${alarmId};text=Repair order closed automatically: readings returned">
      <bpmn:incoming>toCommentAuto</bpmn:incoming>
      <bpmn:outgoing>toClosedAutomatically</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="closedAutomatically" name="Closed automatically: readings returned">
      <bpmn:incoming>toClosedAutomatically</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:serviceTask id="commentRepaired" name="Comment on the alarm" gh:action="alarm-comment" gh:params="alarmId=\${alarmId};text=Terminal repaired">
      <bpmn:incoming>toCommentRepaired</bpmn:incoming>
      <bpmn:outgoing>toRepaired</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="repaired" name="Repaired">
      <bpmn:incoming>toRepaired</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="toWait" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="toSilent" sourceRef="wait" targetRef="stillSilent" />
    <bpmn:sequenceFlow id="toBack" sourceRef="wait" targetRef="backEarly" />
    <bpmn:sequenceFlow id="toRecovered" sourceRef="backEarly" targetRef="recovered" />
    <bpmn:sequenceFlow id="toRepair" sourceRef="stillSilent" targetRef="repair" />
    <bpmn:sequenceFlow id="toCommentRepaired" sourceRef="repair" targetRef="commentRepaired" />
    <bpmn:sequenceFlow id="toRepaired" sourceRef="commentRepaired" targetRef="repaired" />
    <bpmn:sequenceFlow id="toCommentAuto" sourceRef="backDuringRepair" targetRef="commentAuto" />
    <bpmn:sequenceFlow id="toClosedAutomatically" sourceRef="commentAuto" targetRef="closedAutomatically" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="communication-loss-diagram">
    <bpmndi:BPMNPlane id="communication-loss-plane" bpmnElement="communication-loss">
      <bpmndi:BPMNShape id="start-di" bpmnElement="start">
        <dc:Bounds x="162" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="130" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="wait-di" bpmnElement="wait">
        <dc:Bounds x="315" y="135" width="50" height="50" />
        <bpmndi:BPMNLabel><dc:Bounds x="290" y="191" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="stillSilent-di" bpmnElement="stillSilent">
        <dc:Bounds x="482" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="450" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="backEarly-di" bpmnElement="backEarly">
        <dc:Bounds x="482" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="450" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="recovered-di" bpmnElement="recovered">
        <dc:Bounds x="642" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="610" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="repair-di" bpmnElement="repair">
        <dc:Bounds x="610" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="backDuringRepair-di" bpmnElement="backDuringRepair">
        <dc:Bounds x="662" y="182" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="630" y="224" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="commentAuto-di" bpmnElement="commentAuto">
        <dc:Bounds x="770" y="260" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="closedAutomatically-di" bpmnElement="closedAutomatically">
        <dc:Bounds x="962" y="282" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="930" y="324" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="commentRepaired-di" bpmnElement="commentRepaired">
        <dc:Bounds x="770" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="repaired-di" bpmnElement="repaired">
        <dc:Bounds x="962" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="930" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="toWait-di" bpmnElement="toWait">
        <di:waypoint x="198" y="160" />
        <di:waypoint x="315" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toSilent-di" bpmnElement="toSilent">
        <di:waypoint x="365" y="160" />
        <di:waypoint x="482" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toBack-di" bpmnElement="toBack">
        <di:waypoint x="340" y="135" />
        <di:waypoint x="340" y="20" />
        <di:waypoint x="482" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRecovered-di" bpmnElement="toRecovered">
        <di:waypoint x="518" y="20" />
        <di:waypoint x="642" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRepair-di" bpmnElement="toRepair">
        <di:waypoint x="518" y="160" />
        <di:waypoint x="610" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toCommentRepaired-di" bpmnElement="toCommentRepaired">
        <di:waypoint x="710" y="160" />
        <di:waypoint x="770" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRepaired-di" bpmnElement="toRepaired">
        <di:waypoint x="870" y="160" />
        <di:waypoint x="962" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toCommentAuto-di" bpmnElement="toCommentAuto">
        <di:waypoint x="680" y="218" />
        <di:waypoint x="680" y="300" />
        <di:waypoint x="770" y="300" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toClosedAutomatically-di" bpmnElement="toClosedAutomatically">
        <di:waypoint x="870" y="300" />
        <di:waypoint x="962" y="300" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`,
  'fee-recovery': `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gh="https://gridhead.dev/schema/bpmn" id="fee-recovery-definitions" targetNamespace="https://gridhead.dev/processes">
  <bpmn:message id="payment" name="payment" />
  <bpmn:process id="fee-recovery" name="Fee recovery" isExecutable="true">
    <bpmn:documentation>An arrears notice, then a wait of arrearsWait or for a payment; unpaid, the meter is disconnected inside fee control's disconnection windows (waiting for the next one when outside) and reconnected on payment.</bpmn:documentation>
    <bpmn:startEvent id="start" name="In arrears">
      <bpmn:outgoing>toNotice</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:serviceTask id="arrearsNotice" name="Arrears notice" gh:action="notify" gh:params="message=Account \${accountId} is in arrears: pay to avoid disconnection;severity=warning;target=\${accountId}">
      <bpmn:incoming>toNotice</bpmn:incoming>
      <bpmn:outgoing>toWait</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:eventBasedGateway id="wait" name="Paid in time?">
      <bpmn:incoming>toWait</bpmn:incoming>
      <bpmn:outgoing>toWaitOver</bpmn:outgoing>
      <bpmn:outgoing>toPaidInTime</bpmn:outgoing>
    </bpmn:eventBasedGateway>
    <bpmn:intermediateCatchEvent id="arrearsWaitOver" name="Arrears wait over">
      <bpmn:incoming>toWaitOver</bpmn:incoming>
      <bpmn:outgoing>toWindow</bpmn:outgoing>
      <bpmn:timerEventDefinition id="arrearsWaitOver-timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">\${environment.variables.arrearsWait}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="paidInTime" name="Payment">
      <bpmn:incoming>toPaidInTime</bpmn:incoming>
      <bpmn:outgoing>toPaid</bpmn:outgoing>
      <bpmn:messageEventDefinition id="paidInTime-message" messageRef="payment" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="paid" name="Paid">
      <bpmn:incoming>toPaid</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:serviceTask id="window" name="Disconnection allowed now?" gh:action="fee-disconnect-window" gh:params="accountId=\${accountId}">
      <bpmn:incoming>toWindow</bpmn:incoming>
      <bpmn:incoming>askAgain</bpmn:incoming>
      <bpmn:outgoing>toAllowed</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:exclusiveGateway id="allowed" name="Allowed?" default="notDisconnectable">
      <bpmn:incoming>toAllowed</bpmn:incoming>
      <bpmn:outgoing>allowedNow</bpmn:outgoing>
      <bpmn:outgoing>later</bpmn:outgoing>
      <bpmn:outgoing>notDisconnectable</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="nextWindow" name="Next allowed time">
      <bpmn:incoming>later</bpmn:incoming>
      <bpmn:outgoing>askAgain</bpmn:outgoing>
      <bpmn:timerEventDefinition id="nextWindow-timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">\${environment.variables.nextAllowedAt}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="notifyNotDisconnected" name="Tell billing" gh:action="notify" gh:params="message=Account \${accountId} is not disconnected: \${reason};severity=warning;target=billing">
      <bpmn:incoming>notDisconnectable</bpmn:incoming>
      <bpmn:outgoing>toNotDisconnected</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="notDisconnected" name="Not disconnected">
      <bpmn:incoming>toNotDisconnected</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:serviceTask id="disconnect" name="Disconnect" gh:action="disconnect" gh:params="meterId=\${meterId};reason=fee recovery: account \${accountId} in arrears">
      <bpmn:incoming>allowedNow</bpmn:incoming>
      <bpmn:outgoing>toDisconnected</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:exclusiveGateway id="disconnected" name="Disconnected?" default="disconnectFailed">
      <bpmn:incoming>toDisconnected</bpmn:incoming>
      <bpmn:outgoing>verified</bpmn:outgoing>
      <bpmn:outgoing>disconnectFailed</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="paymentAfterDisconnect" name="Payment">
      <bpmn:incoming>verified</bpmn:incoming>
      <bpmn:outgoing>toReconnect</bpmn:outgoing>
      <bpmn:messageEventDefinition id="paymentAfterDisconnect-message" messageRef="payment" />
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="reconnect" name="Reconnect" gh:action="reconnect" gh:params="meterId=\${meterId};reason=fee recovery: account \${accountId} paid">
      <bpmn:incoming>toReconnect</bpmn:incoming>
      <bpmn:outgoing>toReconnected</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="reconnected" name="Reconnected">
      <bpmn:incoming>toReconnected</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:serviceTask id="notifyFailed" name="Tell dispatch" gh:action="notify" gh:params="message=Disconnection of meter \${meterId} for account \${accountId} ended \${commandStatus};severity=major;target=dispatch">
      <bpmn:incoming>disconnectFailed</bpmn:incoming>
      <bpmn:outgoing>toDisconnectionFailed</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="disconnectionFailed" name="Disconnection failed">
      <bpmn:incoming>toDisconnectionFailed</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="toNotice" sourceRef="start" targetRef="arrearsNotice" />
    <bpmn:sequenceFlow id="toWait" sourceRef="arrearsNotice" targetRef="wait" />
    <bpmn:sequenceFlow id="toWaitOver" sourceRef="wait" targetRef="arrearsWaitOver" />
    <bpmn:sequenceFlow id="toPaidInTime" sourceRef="wait" targetRef="paidInTime" />
    <bpmn:sequenceFlow id="toPaid" sourceRef="paidInTime" targetRef="paid" />
    <bpmn:sequenceFlow id="toWindow" sourceRef="arrearsWaitOver" targetRef="window" />
    <bpmn:sequenceFlow id="toAllowed" sourceRef="window" targetRef="allowed" />
    <bpmn:sequenceFlow id="allowedNow" sourceRef="allowed" targetRef="disconnect" name="allowed">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${environment.variables.disconnectAllowed}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="later" sourceRef="allowed" targetRef="nextWindow" name="later">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${environment.variables.nextAllowedAt}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="notDisconnectable" sourceRef="allowed" targetRef="notifyNotDisconnected" name="never (protected, no window)" />
    <bpmn:sequenceFlow id="askAgain" sourceRef="nextWindow" targetRef="window" />
    <bpmn:sequenceFlow id="toNotDisconnected" sourceRef="notifyNotDisconnected" targetRef="notDisconnected" />
    <bpmn:sequenceFlow id="toDisconnected" sourceRef="disconnect" targetRef="disconnected" />
    <bpmn:sequenceFlow id="verified" sourceRef="disconnected" targetRef="paymentAfterDisconnect" name="verified">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${environment.services.eq(environment.variables.commandStatus,"verified")}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="disconnectFailed" sourceRef="disconnected" targetRef="notifyFailed" name="failed or refused" />
    <bpmn:sequenceFlow id="toDisconnectionFailed" sourceRef="notifyFailed" targetRef="disconnectionFailed" />
    <bpmn:sequenceFlow id="toReconnect" sourceRef="paymentAfterDisconnect" targetRef="reconnect" />
    <bpmn:sequenceFlow id="toReconnected" sourceRef="reconnect" targetRef="reconnected" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="fee-recovery-diagram">
    <bpmndi:BPMNPlane id="fee-recovery-plane" bpmnElement="fee-recovery">
      <bpmndi:BPMNShape id="start-di" bpmnElement="start">
        <dc:Bounds x="162" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="130" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="arrearsNotice-di" bpmnElement="arrearsNotice">
        <dc:Bounds x="290" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="wait-di" bpmnElement="wait">
        <dc:Bounds x="475" y="135" width="50" height="50" />
        <bpmndi:BPMNLabel><dc:Bounds x="450" y="191" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="arrearsWaitOver-di" bpmnElement="arrearsWaitOver">
        <dc:Bounds x="642" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="610" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="paidInTime-di" bpmnElement="paidInTime">
        <dc:Bounds x="642" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="610" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="paid-di" bpmnElement="paid">
        <dc:Bounds x="802" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="770" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="window-di" bpmnElement="window">
        <dc:Bounds x="770" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="allowed-di" bpmnElement="allowed" isMarkerVisible="true">
        <dc:Bounds x="955" y="135" width="50" height="50" />
        <bpmndi:BPMNLabel><dc:Bounds x="930" y="191" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="nextWindow-di" bpmnElement="nextWindow">
        <dc:Bounds x="962" y="282" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="930" y="324" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notifyNotDisconnected-di" bpmnElement="notifyNotDisconnected">
        <dc:Bounds x="1090" y="400" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notDisconnected-di" bpmnElement="notDisconnected">
        <dc:Bounds x="1282" y="422" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="1250" y="464" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="disconnect-di" bpmnElement="disconnect">
        <dc:Bounds x="1090" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="disconnected-di" bpmnElement="disconnected" isMarkerVisible="true">
        <dc:Bounds x="1275" y="135" width="50" height="50" />
        <bpmndi:BPMNLabel><dc:Bounds x="1250" y="191" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="paymentAfterDisconnect-di" bpmnElement="paymentAfterDisconnect">
        <dc:Bounds x="1442" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="1410" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="reconnect-di" bpmnElement="reconnect">
        <dc:Bounds x="1570" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="reconnected-di" bpmnElement="reconnected">
        <dc:Bounds x="1762" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="1730" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notifyFailed-di" bpmnElement="notifyFailed">
        <dc:Bounds x="1410" y="-20" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="disconnectionFailed-di" bpmnElement="disconnectionFailed">
        <dc:Bounds x="1602" y="2" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="1570" y="44" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="toNotice-di" bpmnElement="toNotice">
        <di:waypoint x="198" y="160" />
        <di:waypoint x="290" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toWait-di" bpmnElement="toWait">
        <di:waypoint x="390" y="160" />
        <di:waypoint x="475" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toWaitOver-di" bpmnElement="toWaitOver">
        <di:waypoint x="525" y="160" />
        <di:waypoint x="642" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toPaidInTime-di" bpmnElement="toPaidInTime">
        <di:waypoint x="500" y="135" />
        <di:waypoint x="500" y="20" />
        <di:waypoint x="642" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toPaid-di" bpmnElement="toPaid">
        <di:waypoint x="678" y="20" />
        <di:waypoint x="802" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toWindow-di" bpmnElement="toWindow">
        <di:waypoint x="678" y="160" />
        <di:waypoint x="770" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toAllowed-di" bpmnElement="toAllowed">
        <di:waypoint x="870" y="160" />
        <di:waypoint x="955" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="allowedNow-di" bpmnElement="allowedNow">
        <di:waypoint x="1005" y="160" />
        <di:waypoint x="1090" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="later-di" bpmnElement="later">
        <di:waypoint x="980" y="185" />
        <di:waypoint x="980" y="300" />
        <di:waypoint x="962" y="300" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="notDisconnectable-di" bpmnElement="notDisconnectable">
        <di:waypoint x="980" y="185" />
        <di:waypoint x="980" y="440" />
        <di:waypoint x="1090" y="440" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="askAgain-di" bpmnElement="askAgain">
        <di:waypoint x="980" y="318" />
        <di:waypoint x="980" y="390" />
        <di:waypoint x="820" y="390" />
        <di:waypoint x="820" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toNotDisconnected-di" bpmnElement="toNotDisconnected">
        <di:waypoint x="1190" y="440" />
        <di:waypoint x="1282" y="440" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toDisconnected-di" bpmnElement="toDisconnected">
        <di:waypoint x="1190" y="160" />
        <di:waypoint x="1275" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="verified-di" bpmnElement="verified">
        <di:waypoint x="1325" y="160" />
        <di:waypoint x="1442" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="disconnectFailed-di" bpmnElement="disconnectFailed">
        <di:waypoint x="1300" y="135" />
        <di:waypoint x="1300" y="20" />
        <di:waypoint x="1410" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toDisconnectionFailed-di" bpmnElement="toDisconnectionFailed">
        <di:waypoint x="1510" y="20" />
        <di:waypoint x="1602" y="20" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toReconnect-di" bpmnElement="toReconnect">
        <di:waypoint x="1478" y="160" />
        <di:waypoint x="1570" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toReconnected-di" bpmnElement="toReconnected">
        <di:waypoint x="1670" y="160" />
        <di:waypoint x="1762" y="160" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`,
  'meter-replacement': `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gh="https://gridhead.dev/schema/bpmn" id="meter-replacement-definitions" targetNamespace="https://gridhead.dev/processes">
  <bpmn:process id="meter-replacement" name="Meter replacement" isExecutable="true">
    <bpmn:documentation>A meter-replacement order; its result (old and new meter, final and initial register reads) is recorded for billing.</bpmn:documentation>
    <bpmn:startEvent id="start" name="Replacement requested">
      <bpmn:outgoing>toReplace</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="replaceMeter" name="Replace the meter" gh:workOrderType="meter-replacement" gh:role="field" gh:due="P3D">
      <bpmn:incoming>toReplace</bpmn:incoming>
      <bpmn:outgoing>toRecord</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="recordReplacement" name="Record the replacement for billing" gh:action="record-replacement" gh:params="meterId=\${meterId};oldMeterId=\${oldMeterId};newMeterId=\${newMeterId};finalRead=\${finalRead};initialRead=\${initialRead};replacedAt=\${replacedAt}">
      <bpmn:incoming>toRecord</bpmn:incoming>
      <bpmn:outgoing>toRecorded</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="recorded" name="Recorded for billing">
      <bpmn:incoming>toRecorded</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="toReplace" sourceRef="start" targetRef="replaceMeter" />
    <bpmn:sequenceFlow id="toRecord" sourceRef="replaceMeter" targetRef="recordReplacement" />
    <bpmn:sequenceFlow id="toRecorded" sourceRef="recordReplacement" targetRef="recorded" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="meter-replacement-diagram">
    <bpmndi:BPMNPlane id="meter-replacement-plane" bpmnElement="meter-replacement">
      <bpmndi:BPMNShape id="start-di" bpmnElement="start">
        <dc:Bounds x="162" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="130" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="replaceMeter-di" bpmnElement="replaceMeter">
        <dc:Bounds x="290" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="recordReplacement-di" bpmnElement="recordReplacement">
        <dc:Bounds x="450" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="recorded-di" bpmnElement="recorded">
        <dc:Bounds x="642" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="610" y="184" width="100" height="27" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="toReplace-di" bpmnElement="toReplace">
        <di:waypoint x="198" y="160" />
        <di:waypoint x="290" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRecord-di" bpmnElement="toRecord">
        <di:waypoint x="390" y="160" />
        <di:waypoint x="450" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="toRecorded-di" bpmnElement="toRecorded">
        <di:waypoint x="550" y="160" />
        <di:waypoint x="642" y="160" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`,
};
