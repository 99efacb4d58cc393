import * as ReplaceOptions from 'bpmn-js/lib/features/replace/ReplaceOptions.js';
import { describe, expect, it } from 'vitest';
import { ADDED, filterContextPad, filterPalette, filterReplace, filterReplaceHeader, supported } from '../../../../src/web/workflows/restrictions.js';

/** Entries as bpmn-js's providers make them: the filter reads only their names. */
const entries = (...names: string[]) => Object.fromEntries(names.map((n) => [n, { title: n }]));

describe('the modeler keeps to the elements the engine runs', () => {
  it('leaves generic tasks, sub-processes, pools, data and groups out of the palette and adds user and service tasks, timers and messages', () => {
    const bpmnJs = entries('hand-tool', 'lasso-tool', 'space-tool', 'global-connect-tool', 'tool-separator', 'create.start-event', 'create.intermediate-event',
      'create.end-event', 'create.exclusive-gateway', 'create.task', 'create.data-object', 'create.data-store', 'create.subprocess-expanded', 'create.participant-expanded', 'create.group');
    const kept = filterPalette(bpmnJs, (a) => ({ title: a.name }));
    expect(Object.keys(kept)).toEqual(['hand-tool', 'lasso-tool', 'space-tool', 'global-connect-tool', 'tool-separator', 'create.start-event', 'create.end-event',
      'create.exclusive-gateway', 'create.user-task', 'create.service-task', 'create.timer-event', 'create.message-event', 'create.parallel-gateway']);
  });

  it('appends only supported elements from the context pad, and nothing after an end event', () => {
    const bpmnJs = entries('append.end-event', 'append.gateway', 'append.append-task', 'append.intermediate-event', 'append.text-annotation', 'replace', 'delete', 'connect');
    expect(Object.keys(filterContextPad(bpmnJs, true, (a) => ({ title: a.name })))).toEqual(['delete', 'connect', 'replace', 'append.end-event', 'append.gateway',
      'append.user-task', 'append.service-task', 'append.timer-event', 'append.message-event', 'append.parallel-gateway']);
    expect(Object.keys(filterContextPad(entries('delete', 'append.text-annotation'), false, () => ({})))).toEqual(['delete']);
  });

  it('turns a task into a user or service task only, and an intermediate event into a timer or message catch, a start or an end only', () => {
    const task = entries(...ReplaceOptions.TASK.map((o) => o.actionName));
    expect(Object.keys(filterReplace(task))).toEqual(['replace-with-user-task', 'replace-with-service-task']);
    const events = Object.keys(filterReplace(entries(...ReplaceOptions.INTERMEDIATE_EVENT.map((o) => o.actionName))));
    expect(events.sort()).toEqual(['replace-with-message-intermediate-catch', 'replace-with-none-end', 'replace-with-none-start', 'replace-with-timer-intermediate-catch']);
    expect(Object.keys(filterReplace(entries(...ReplaceOptions.SEQUENCE_FLOW.map((o) => o.actionName))))).toHaveLength(3);
  });

  it('offers no replacement anywhere that the deploy check would refuse', () => {
    const all = Object.values(ReplaceOptions).filter(Array.isArray).flat() as ReplaceOptions.ReplaceOption[];
    const kept = new Set(Object.keys(filterReplace(entries(...all.map((o) => o.actionName)))));
    const refused = all.filter((o) => kept.has(o.actionName) && o.target !== undefined && !supported(o.target));
    expect([kept.size > 10, refused]).toEqual([true, []]);
    expect(ADDED.every(supported)).toBe(true);
  });

  it('drops loop and multi-instance toggles and keeps the non-interrupting one', () => {
    expect(Object.keys(filterReplaceHeader(entries('toggle-loop', 'toggle-parallel-mi', 'toggle-sequential-mi', 'toggle-non-interrupting')))).toEqual(['toggle-non-interrupting']);
  });
});
