/**
 * The `gh:` BPMN extension: the few attributes that tie a drawn process to the station. Both
 * the engine (bpmn-engine reads it through bpmn-moddle) and the dashboard's modeler (bpmn-js)
 * load this one descriptor, so what the modeler writes is what the engine reads. Browser-safe:
 * plain data, no imports.
 *
 * - service task: `gh:action` names a station action (src/workflows/actions); `gh:params`
 *   gives its parameters as `name=value` pairs separated by `;`, where `${name}` is replaced
 *   by the process variable of that name;
 * - user task: `gh:workOrderType` (the work order it opens), `gh:role` and/or `gh:assignee`
 *   (who it is for), `gh:due` (an ISO 8601 duration from the task's start, such as PT4H).
 */
export const GRIDHEAD_BPMN_NAMESPACE = 'https://gridhead.dev/schema/bpmn';

export const gridheadModdle = {
  name: 'gridhead',
  prefix: 'gh',
  uri: GRIDHEAD_BPMN_NAMESPACE,
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    {
      name: 'ServiceTaskAction',
      extends: ['bpmn:ServiceTask'],
      properties: [
        { name: 'action', isAttr: true, type: 'String' },
        { name: 'params', isAttr: true, type: 'String' },
      ],
    },
    {
      name: 'UserTaskWorkOrder',
      extends: ['bpmn:UserTask'],
      properties: [
        { name: 'workOrderType', isAttr: true, type: 'String' },
        { name: 'role', isAttr: true, type: 'String' },
        { name: 'assignee', isAttr: true, type: 'String' },
        { name: 'due', isAttr: true, type: 'String' },
      ],
    },
  ],
} as const;

/** The BPMN element types the engine runs here; the modeler's palette offers these only and the deploy check refuses others. */
export const SUPPORTED_ELEMENTS = [
  'bpmn:StartEvent', 'bpmn:EndEvent', 'bpmn:IntermediateCatchEvent', 'bpmn:BoundaryEvent',
  'bpmn:ServiceTask', 'bpmn:UserTask', 'bpmn:ExclusiveGateway', 'bpmn:ParallelGateway', 'bpmn:EventBasedGateway',
  'bpmn:SequenceFlow',
] as const;

/** The event definitions supported on those events: timers (duration or date) and messages. */
export const SUPPORTED_EVENT_DEFINITIONS = ['bpmn:TimerEventDefinition', 'bpmn:MessageEventDefinition'] as const;
