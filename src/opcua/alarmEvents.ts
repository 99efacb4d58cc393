/**
 * Alarms as OPC UA events: a GridheadAlarmEventType (subtype of BaseEventType, OPC UA Part 5
 * §6.4.2) raised on the meter or area node the alarm is about, on raise, acknowledge and clear.
 * Events bubble to the Server object (Part 3 §9.33 HasNotifier), so a client may subscribe on
 * Server, on an area, or on one meter. Severity follows Part 5 §6.4.2 (1 … 1000).
 */
import { DataType, type Namespace, type UAEventType, type UAObject } from 'node-opcua';
import type { Severity } from '../domain/index.js';
import type { AlarmChange } from '../alarms/service.js';
import type { TopologyNodes } from './topologyNodes.js';

/** Part 5 §6.4.2 names 801–1000 High, 601–800 Medium High, 401–600 Medium, 201–400 Medium Low, 1–200 Low. */
export const OPCUA_SEVERITY: Readonly<Record<Severity, number>> = {
  critical: 900, major: 700, minor: 500, warning: 300, info: 100,
};

/** The changes that become events; comments and re-raises with a new figure do not. */
const EMITTED: ReadonlySet<AlarmChange['kind']> = new Set(['raised', 'acknowledged', 'cleared']);

export class AlarmEvents {
  readonly eventType: UAEventType;

  constructor(ns: Namespace, private readonly nodes: TopologyNodes) {
    this.eventType = ns.addEventType({ browseName: 'GridheadAlarmEventType', subtypeOf: 'BaseEventType', isAbstract: false });
    for (const [name, dataType] of [['AlarmId', 'String'], ['AlarmState', 'String'], ['RuleId', 'String'], ['Detector', 'String'], ['AlarmValue', 'Double']] as const) {
      ns.addVariable({ propertyOf: this.eventType, browseName: name, dataType, modellingRule: 'Mandatory' });
    }
  }

  /** Raises the event for one alarm change; returns false when the change is not one that is emitted. */
  emit(change: AlarmChange): boolean {
    if (!EMITTED.has(change.kind)) return false;
    const a = change.alarm;
    const source = this.#sourceOf(change);
    const message = change.kind === 'cleared' ? (a.clearExplanation ?? `cleared: ${a.explanation}`) : a.explanation;
    const at = change.kind === 'cleared' ? a.clearedAt : change.kind === 'acknowledged' ? a.acknowledgedAt : a.raisedAt;
    source.raiseEvent(this.eventType, {
      message: { dataType: DataType.LocalizedText, value: { text: message } },
      severity: { dataType: DataType.UInt16, value: OPCUA_SEVERITY[a.severity] },
      sourceName: { dataType: DataType.String, value: `${a.subject.kind}:${a.subject.id}` },
      time: { dataType: DataType.DateTime, value: new Date(at ?? Date.now()) },
      alarmId: { dataType: DataType.String, value: a.id },
      alarmState: { dataType: DataType.String, value: a.state },
      ruleId: { dataType: DataType.String, value: a.ruleId },
      detector: { dataType: DataType.String, value: a.detector },
      alarmValue: { dataType: DataType.Double, value: a.value },
    });
    return true;
  }

  /** The meter or area node; a meter without nodes (opcua.maxMeterNodes) on its area; a terminal's alarm (or a subject not mirrored) on Gridhead. */
  #sourceOf(change: AlarmChange): UAObject {
    const s = change.alarm.subject;
    const area = change.alarm.areaId === null ? undefined : this.nodes.area(change.alarm.areaId);
    if (s.kind === 'meter') return this.nodes.meter(s.id)?.object ?? area?.object ?? this.nodes.root;
    if (s.kind === 'area') return this.nodes.area(s.id)?.object ?? this.nodes.root;
    return this.nodes.root;
  }
}
